"""Reminders that a commune's XHT recognition expires soon (issue 12 §3): `remind_days_before` days before its
last day in force (titles.json "validity": 90 days for XHT; workflow.validity), a daily job reminds the appraisers
of the recognised commune that the result ends and that a renewal (Đề nghị công nhận lại) is filed from the file's
page.

As notifications/closing.py: one row per recognition and officer (validity_reminders, unique), each with an
outbox row of kind "validity_reminder" written in the same transaction, so the job may run any number of times a
day (or on every day of the window) and each officer is reminded once per recognition; the notice travels through
the same relay, retries and de-duplication (notifications/delivery.py plans it with `plan` below). A recognition
renewed, revoked or superseded meanwhile is not reminded."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, insert, or_, select

from workflow import clock, validity
from workflow.db import db
from workflow.models import Application, Campaign, OutboxMessage, RoleGrant, Unit, User, ValidityReminder

KIND = "validity_reminder"
ROLE = "commune_appraiser"


def due(title_code: str, day: date) -> list[tuple[int, int, date]]:
    """(application, officer, last day in force) owed a reminder today: recognitions of the title whose last day
    in force is within `remind_days_before` days from `day`, and the active appraisers of their commune (the
    file's unit or the commune above it) not yet reminded of them."""
    days = validity.remind_days(title_code)
    if days is None:
        return []
    from sqlalchemy import func

    from workflow.renewals import renewal_of

    years = validity.validity_years(title_code)
    # recognised on r with valid_until(r) in [day, day + days]: r in [day + 1 - years, day + days + 1 - years]
    low = validity.shift_years(day + timedelta(days=1), -years) - timedelta(days=1)
    high = validity.shift_years(day + timedelta(days=days + 1), -years) + timedelta(days=1)
    since = datetime.combine(low, datetime.min.time(), tzinfo=clock.VN)
    until = datetime.combine(high, datetime.min.time(), tzinfo=clock.VN)
    found = db.session.execute(
        select(Application.id, Application.recognised_at, Unit.path, Unit.level)
        .join(Campaign, Campaign.id == Application.campaign_id).join(Unit, Unit.id == Application.unit_id)
        .where(Campaign.title_code == title_code, Application.state == "recognised",
               Application.recognised_at >= since, Application.recognised_at < until)
        .order_by(Application.id)).all()
    out: list[tuple[int, int, date]] = []
    for app_id, at, path, level in found:
        last = validity.valid_until(title_code, validity.vn_day(at))
        if not day <= last <= day + timedelta(days=days):
            continue
        app = db.session.get(Application, app_id)
        if renewal_of(app) is not None:
            continue
        commune_path = path if level == "commune" else path.rsplit("/", 2)[0] + "/"
        reminded = exists().where(ValidityReminder.application_id == app_id,
                                  ValidityReminder.user_id == RoleGrant.user_id)
        for user_id in db.session.scalars(
                select(func.distinct(RoleGrant.user_id)).join(Unit, Unit.id == RoleGrant.unit_id)
                .join(User, User.id == RoleGrant.user_id)
                .where(RoleGrant.role == ROLE, Unit.path == commune_path, User.active.is_(True), ~reminded,
                       or_(Unit.valid_to.is_(None), Unit.valid_to >= day))
                .order_by(RoleGrant.user_id)):
            out.append((app_id, user_id, last))
    return out


def run(now: datetime | None = None) -> dict[str, int]:
    """The daily job: one reminder per recognition entering its window and officer of its commune, once.
    Commits (the commit kicks the relay)."""
    now = now or clock.now()
    today = now.astimezone(clock.VN).date()
    made = 0
    for title_code in validity.titles():
        for app_id, user_id, last in due(title_code, today):
            payload = {"user_id": user_id, "application_id": app_id, "valid_until": last.isoformat()}
            outbox_id = db.session.execute(insert(OutboxMessage.__table__).values(
                kind=KIND, application_id=app_id, event_id=None, created_at=now, attempts=0, payload=payload)
                .returning(OutboxMessage.__table__.c.id)).scalar()
            db.session.execute(insert(ValidityReminder.__table__).values(
                application_id=app_id, user_id=user_id, day=today, outbox_id=outbox_id, created_at=now))
            made += 1
    if made:
        db.session.info["outbox_written"] = True
    db.session.commit()
    return {"reminders": made}


# The words of the notice: Vietnamese, English for users whose locale is "en" (as notifications/messages.py).
SUBJECT = {"vi": "{unit}: kết quả công nhận {title} hết hiệu lực ngày {until}",
           "en": "{unit}: the {title} recognition ends on {until}"}
BODY = {"vi": "Kết quả công nhận {title} của {unit} có hiệu lực đến hết ngày {until}.\nĐể được công nhận lại, lập "
              "hồ sơ «Đề nghị công nhận lại» tại trang hồ sơ.\n",
        "en": "The {title} recognition of {unit} is in force through {until}.\nTo be recognised again, file a "
              "renewal («Request recognition again») from the file's page.\n"}


def notice(unit: str, title: str, app_id: int, until: date, locale: str | None) -> tuple[str, str]:
    lang = "en" if (locale or "").lower().startswith("en") else "vi"
    values = {"unit": unit, "title": title, "app_id": app_id,
              "until": until.strftime("%d/%m/%Y")}
    return (unicodedata.normalize("NFC", SUBJECT[lang].format(**values))[:255],
            unicodedata.normalize("NFC", BODY[lang].format(**values)))


def plan(rows, now) -> list[dict[str, Any]]:
    """The notices owed for validity-reminder outbox rows (delivery.plan calls this): in-app, and e-mail when the
    officer has an address; none when the recognition is no longer recognised or the officer is inactive."""
    from .delivery import _notice
    from .recipients import Person

    out: list[dict[str, Any]] = []
    for row in rows:
        p = row.payload or {}
        user = db.session.get(User, int(p.get("user_id", 0)))
        app = db.session.get(Application, int(p.get("application_id", 0)))
        if user is None or not user.active or app is None or app.state != "recognised":
            continue
        title = validity.titles()[app.campaign.title_code]
        name = title.get("name_en") if (user.locale or "").startswith("en") else title.get("name_vi")
        subject, body = notice(app.unit.name, name, app.id, date.fromisoformat(p["valid_until"]), user.locale)
        out += _notice(row, Person(user.id, user.email, user.locale or "vi"), KIND, app.id, subject, body, now)
    return out

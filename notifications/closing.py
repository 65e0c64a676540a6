"""Reminders to close the year's figures (issue 11, section 4): in the first days of December (the window is data:
workflow/data/annual_report.json "closing.reminders", 1-5 December), a daily job reminds the appraisers of every
commune that has not closed its year (workflow.reports.closing) that the report is due at the Sở GDĐT by 15/12.

As the stage reminders' digests do (notifications/reminders.py): one row per officer, commune, year and day
(closing_reminders, unique), each with an outbox row of kind "closing_reminder" written in the same transaction,
so a second run the same day adds nothing and the notice travels through the same relay, retries and
de-duplication (notifications/delivery.py plans it with `plan` below). A commune that closes between the job and
the delivery is not reminded."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select

from workflow import clock
from workflow.db import db
from workflow.models import ClosingReminder, OutboxMessage, ReportClosure, RoleGrant, Unit, User
from workflow.reports.closing import due_date, in_window

KIND = "closing_reminder"
ROLE = "commune_appraiser"


def owed(year: int, day: date) -> list[tuple[int, int]]:
    """(user, commune) pairs to remind today: active appraisers of communes in force today whose year is not
    closed, not yet reminded today."""
    closed = exists().where(ReportClosure.unit_id == Unit.id, ReportClosure.year == year,
                            ReportClosure.closed_at.is_not(None))
    reminded = exists().where(ClosingReminder.user_id == RoleGrant.user_id, ClosingReminder.unit_id == Unit.id,
                              ClosingReminder.year == year, ClosingReminder.day == day)
    return [(r.user_id, r.unit_id) for r in db.session.execute(
        select(RoleGrant.user_id, Unit.id.label("unit_id"))
        .join(Unit, Unit.id == RoleGrant.unit_id).join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == ROLE, Unit.level == "commune", User.active.is_(True),
               or_(Unit.valid_from.is_(None), Unit.valid_from <= day),
               or_(Unit.valid_to.is_(None), Unit.valid_to >= day), ~closed, ~reminded)
        .order_by(Unit.id, RoleGrant.user_id)).all()]


def run(now: datetime | None = None) -> dict[str, int]:
    """The daily job: outside the window nothing; inside it one reminder per officer and unclosed commune, once a
    day. Commits (the commit kicks the relay)."""
    now = now or clock.now()
    today = now.astimezone(clock.VN).date()
    if not in_window(today):
        db.session.rollback()
        return {"reminders": 0}
    year = today.year
    made = 0
    for user_id, unit_id in owed(year, today):
        payload = {"user_id": user_id, "unit_id": unit_id, "year": year, "day": today.isoformat()}
        outbox_id = db.session.execute(insert(OutboxMessage.__table__).values(
            kind=KIND, application_id=None, event_id=None, created_at=now, attempts=0, payload=payload)
            .returning(OutboxMessage.__table__.c.id)).scalar()
        db.session.execute(insert(ClosingReminder.__table__).values(
            user_id=user_id, unit_id=unit_id, year=year, day=today, outbox_id=outbox_id, created_at=now))
        made += 1
    if made:
        db.session.info["outbox_written"] = True
    db.session.commit()
    return {"reminders": made}


# The words of the notice: Vietnamese, English for users whose locale is "en" (as notifications/messages.py).
SUBJECT = {"vi": "Nhắc chốt số liệu năm {year}: {unit} chưa chốt (hạn {due})",
           "en": "Close the {year} figures: {unit} has not closed yet (due {due})"}
BODY = {"vi": "{unit} chưa chốt số liệu năm {year}. Báo cáo kết quả xây dựng xã hội học tập gửi Sở GDĐT trước "
              "ngày {due}.\nKiểm tra số liệu, nhập các chỉ tiêu do xã báo cáo và chốt năm tại: "
              "/reports/annual?unit={unit_id}&year={year}\n",
        "en": "{unit} has not closed its {year} figures. The report on building the learning society is due at "
              "the Sở GDĐT by {due}.\nCheck the figures, enter the values the commune reports and close the year "
              "at: /reports/annual?unit={unit_id}&year={year}\n"}


def notice(unit: str, unit_id: int, year: int, locale: str | None) -> tuple[str, str]:
    lang = "en" if (locale or "").lower().startswith("en") else "vi"
    due = due_date(year)
    values = {"unit": unit, "unit_id": unit_id, "year": year,
              "due": due.strftime("%d/%m/%Y")}
    return (unicodedata.normalize("NFC", SUBJECT[lang].format(**values))[:255],
            unicodedata.normalize("NFC", BODY[lang].format(**values)))


def plan(rows, now) -> list[dict[str, Any]]:
    """The notices owed for closing-reminder outbox rows (delivery.plan calls this): in-app, and e-mail when the
    officer has an address; none when the commune has closed meanwhile or the officer is no longer active."""
    from .delivery import _notice
    from .recipients import Person

    out: list[dict[str, Any]] = []
    for row in rows:
        p = row.payload or {}
        found = db.session.execute(
            select(User.id, User.email, User.locale, User.active, Unit.name)
            .join(Unit, Unit.id == int(p.get("unit_id", 0)))
            .where(User.id == int(p.get("user_id", 0)))).first()
        if found is None or not found.active:
            continue
        closed = db.session.scalar(select(ReportClosure.id).where(and_(
            ReportClosure.unit_id == int(p["unit_id"]), ReportClosure.year == int(p["year"]),
            ReportClosure.closed_at.is_not(None))))
        if closed is not None:
            continue
        subject, body = notice(found.name, int(p["unit_id"]), int(p["year"]), found.locale)
        out += _notice(row, Person(found.id, found.email, found.locale or "vi"), KIND, None, subject, body, now)
    return out

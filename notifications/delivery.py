"""Delivering the notices owed for outbox rows: idempotent, de-duplicated in the database.

RQ may run a job twice (a retry after a crash, the abandoned-job sweep, an admin requeue) and never de-duplicates
by itself, so every step is safe to repeat:
1. the notices are planned from the outbox row and inserted with ON CONFLICT DO NOTHING on the unique key
   (outbox message, user, channel); in-app notices are delivered by that insert, and committed at once;
2. each e-mail row still undelivered is leased (a conditional UPDATE, committed), sent over SMTP, then marked
   delivered (committed): a second job finds it delivered or leased and leaves it alone;
3. the outbox row is marked delivered once no e-mail of it is pending.
A failed send raises at the end so that RQ's Retry runs the job again later."""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select, update

from workflow import clock
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import (
    Application,
    AuditEvent,
    Campaign,
    Digest,
    Notification,
    OutboxMessage,
    StageAlert,
    Unit,
    User,
)

from . import messages, recipients
from .mail import Mailer, message_id

log = logging.getLogger(__name__)
ob = OutboxMessage.__table__
nt = Notification.__table__


class DeliveryFailed(Exception):
    """Some e-mails could not be sent; the job fails so that RQ retries it (delivered ones are not resent)."""


def insert_ignoring_duplicates(table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for start in range(0, len(rows), 500):
        db.session.execute(insert(table).on_conflict_do_nothing(), rows[start:start + 500])


def deliver(outbox_ids: Sequence[int]) -> dict[str, int]:
    """Deliver every notice owed for these outbox rows; return counts. Safe to run any number of times."""
    ids = sorted({int(i) for i in outbox_ids})
    rows = db.session.execute(
        select(ob.c.id, ob.c.kind, ob.c.application_id, ob.c.event_id, ob.c.payload, ob.c.created_at)
        .where(ob.c.id.in_(ids), ob.c.delivered_at.is_(None)).order_by(ob.c.id)).all()
    if not rows:
        db.session.rollback()
        return {"messages": 0, "inapp": 0, "email": 0}
    now = clock.now()
    notices = plan(rows, now)
    insert_ignoring_duplicates(nt, notices)
    db.session.commit()
    live = [r.id for r in rows]
    sent, failed = send_pending_emails(live)
    done = db.session.execute(
        update(ob).where(ob.c.id.in_(live), ob.c.delivered_at.is_(None),
                         ~exists().where(nt.c.outbox_id == ob.c.id, nt.c.channel == "email",
                                         nt.c.delivered_at.is_(None)))
        .values(delivered_at=clock.now(), last_error=None)).rowcount
    if failed:
        db.session.execute(update(ob).where(ob.c.id.in_(live), ob.c.delivered_at.is_(None))
                           .values(last_error=f"{failed} e-mail(s) failed"))
    db.session.commit()
    if failed:
        raise DeliveryFailed(f"{failed} e-mail(s) failed for outbox rows {live[:10]}")
    return {"messages": done, "inapp": sum(1 for n in notices if n["channel"] == "inapp"), "email": sent}


def plan(rows, now) -> list[dict[str, Any]]:
    """The notification rows owed for these outbox rows (in-app always, e-mail when the person has an address)."""
    out: list[dict[str, Any]] = []
    transitions = [r for r in rows if r.kind == "transition" and r.application_id is not None]
    digests = [r for r in rows if r.kind == "digest"]
    if transitions:
        out += _plan_transitions(transitions, now)
    if digests:
        out += _plan_digests(digests, now)
    out += _plan_set_password([r for r in rows if r.kind == SET_PASSWORD], now)
    from . import closing  # issue 11: the December reminders to close the year's figures

    out += closing.plan([r for r in rows if r.kind == closing.KIND], now)
    from . import expiry  # issue 12: XHT recognitions that end within 90 days

    out += expiry.plan([r for r in rows if r.kind == expiry.KIND], now)
    return out


SET_PASSWORD = "set_password"  # workflow/admin/officers.py: e-mail only, the link minted when it is sent


def _plan_set_password(rows, now) -> list[dict[str, Any]]:
    from workflow.admin.officers import SET_PASSWORD_HOURS

    out: list[dict[str, Any]] = []
    for row in rows:
        user = db.session.get(User, int((row.payload or {}).get("user_id", 0)))
        if user is None or not user.active or not user.email:
            continue
        hours = int(current_app.config.get("SET_PASSWORD_HOURS", SET_PASSWORD_HOURS))
        subject, body = messages.set_password_notice(user.full_name, user.username, hours, user.locale)
        out.append({"outbox_id": row.id, "user_id": user.id, "kind": SET_PASSWORD, "application_id": None,
                    "subject": subject, "body": body, "created_at": now, "channel": "email", "delivered_at": None})
    return out


def _email_body(n) -> str:
    """The body to send: a set-password e-mail gets its link now, from the user's current state; a notice about a
    file gets the file's address (the in-app notice has its own "Open application" link instead)."""
    from workflow.admin.officers import public_url, set_password_url

    if n.kind == SET_PASSWORD:
        return messages.with_link(n.body, set_password_url(db.session.get(User, n.user_id)))
    if n.application_id is not None:
        return n.body + f"{public_url()}/applications/{n.application_id}\n"
    return n.body


def _notice(row, person: recipients.Person, kind: str, application_id: int | None, subject: str, body: str,
            now) -> list[dict[str, Any]]:
    base = {"outbox_id": row.id, "user_id": person.user_id, "kind": kind, "application_id": application_id,
            "subject": subject, "body": body, "created_at": now}
    notices = [base | {"channel": "inapp", "delivered_at": now}]
    if person.email:
        notices.append(base | {"channel": "email", "delivered_at": None})
    return notices


def _plan_transitions(rows, now) -> list[dict[str, Any]]:
    app_ids = {r.application_id for r in rows}
    apps = {a.id: a for a in db.session.execute(
        select(Application.id, Application.full_name, Unit.path, Unit.name.label("unit_name"), Campaign.title_code)
        .join(Unit, Unit.id == Application.unit_id).join(Campaign, Campaign.id == Application.campaign_id)
        .where(Application.id.in_(app_ids))).all()}
    events = {e.id: e for e in db.session.execute(  # the actor by full name (the trail keeps the username)
        select(AuditEvent.id, AuditEvent.reason,
               func.coalesce(User.full_name, AuditEvent.actor_name).label("actor_name"))
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.id.in_({r.event_id for r in rows if r.event_id is not None}))).all()}
    directory = recipients.Directory(a.path for a in apps.values())
    out: list[dict[str, Any]] = []
    for row in rows:
        app = apps.get(row.application_id)
        payload = row.payload or {}
        if app is None:
            continue
        on = clock_date(row.created_at)
        try:
            spec = recipients.chain(app.title_code, app.path, on)
        except WorkflowError:  # no chain valid that day: nobody to tell
            continue
        event = events.get(row.event_id)
        t = messages.Transition(application_id=app.id, name=app.full_name or app.unit_name, title=app.title_code,
                                action=payload.get("action", ""), source=payload.get("from", ""),
                                dest=payload.get("to", ""), actor=event.actor_name if event else "",
                                reason=event.reason if event else None)
        for person, audience in recipients.for_transition(directory, spec, app.path, t.action, t.source, t.dest,
                                                          payload.get("actor_id")):
            subject, body = messages.transition_notice(t, audience, person.locale)
            out += _notice(row, person, "transition", app.id, subject, body, now)
    return out


def _plan_digests(rows, now) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        digest = db.session.get(Digest, int((row.payload or {}).get("digest_id", 0)))
        user = db.session.get(User, digest.user_id) if digest else None
        if digest is None or user is None or not user.active:
            continue
        lines = [messages.DigestLine(a.application_id, a.full_name or a.unit_name, a.title_code, a.kind, a.state,
                                     max(0, (_aware(row.created_at) - _aware(a.stage_since)).days), a.unit_name)
                 for a in db.session.execute(
                     select(StageAlert.application_id, StageAlert.kind, StageAlert.state, StageAlert.stage_since,
                            Application.full_name, Unit.name.label("unit_name"), Campaign.title_code)
                     .join(Application, Application.id == StageAlert.application_id)
                     .join(Unit, Unit.id == Application.unit_id).join(Campaign, Campaign.id == Application.campaign_id)
                     .where(StageAlert.digest_id == digest.id)
                     .order_by(StageAlert.kind.desc(), StageAlert.application_id)).all()]
        if not lines:
            continue
        subject, body = messages.digest_notice(digest.day, lines, user.locale)
        out += _notice(row, recipients.Person(user.id, user.email, user.locale), "digest", None, subject, body, now)
    return out


def _aware(value):
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def clock_date(value):
    return _aware(value).astimezone(clock.VN).date()


def send_pending_emails(outbox_ids: list[int]) -> tuple[int, int]:
    """Send each undelivered e-mail of these outbox rows once; return (sent, failed)."""
    pending = db.session.execute(
        select(nt.c.id, nt.c.subject, nt.c.body, nt.c.kind, nt.c.user_id, nt.c.application_id, User.email)
        .join(User, User.id == nt.c.user_id)
        .where(nt.c.outbox_id.in_(outbox_ids), nt.c.channel == "email", nt.c.delivered_at.is_(None))
        .order_by(nt.c.id)).all()
    db.session.commit()
    if not pending:
        return 0, 0
    lease = timedelta(seconds=float(current_app.config.get("NOTIFY_SEND_LEASE", 120)))
    mailer = Mailer()
    sent = failed = 0
    try:
        for n in pending:
            now = clock.now()
            claimed = db.session.execute(
                update(nt).where(nt.c.id == n.id, nt.c.delivered_at.is_(None),
                                 or_(nt.c.attempted_at.is_(None), and_(nt.c.attempted_at < now - lease)))
                .values(attempted_at=now)).rowcount
            db.session.commit()
            if not claimed:  # another job is sending it right now
                continue
            try:
                mailer.send(n.email, n.subject, _email_body(n), message_id(n.id))
            except Exception as exc:  # noqa: BLE001 - any SMTP or network error: give the lease back, retry later
                log.warning("e-mail %s to %s failed: %s", n.id, n.email, exc)
                db.session.execute(update(nt).where(nt.c.id == n.id).values(attempted_at=None))
                db.session.commit()
                failed += 1
                if isinstance(exc, (ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected)):
                    # the server is unreachable: the rest would fail the same way
                    failed += len(pending) - sent - failed
                    break
                continue
            db.session.execute(update(nt).where(nt.c.id == n.id).values(delivered_at=clock.now()))
            db.session.commit()
            sent += 1
    finally:
        mailer.close()
    return sent, failed

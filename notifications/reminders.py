"""Reminders and escalations, gathered into one digest per person per day.

An application still open after the campaign's stage_limit_days at its current stage earns a reminder to the
people acting at that stage; after escalate_after_days, an escalation to the level above (recipients.Directory.
above). Each is recorded once per stay at a stage and person (stage_alerts, unique), so a daily run never repeats
itself; the alerts not yet sent go into that person's digest of the day (digests, unique per person and day), which
is an outbox row like any other and so travels through the same relay, retries and de-duplication. An application
at a stage whose campaign deadline has passed (workflow.deadlines) is due for its reminder even before the limit.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update

from workflow import clock, deadlines
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Application, Campaign, Digest, OutboxMessage, StageAlert, Unit
from workflow.vocabulary import CLOSED_STATES

from . import recipients
from .delivery import insert_ignoring_duplicates

CHUNK = 5000
DEADLINE_COLUMNS = (Campaign.submit_deadline, Campaign.scoring_deadline, Campaign.appraisal_deadline,
                    Campaign.decision_deadline)
LATE_STAGES = tuple(s for s in deadlines.STAGE_DEADLINE if s != "evidence_collection")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def scan(now: datetime | None = None) -> int:
    """Record the alerts owed now; return how many were new. Commits."""
    now = now or clock.now()
    today = now.astimezone(clock.VN).date()
    new = 0
    for camp in db.session.execute(select(Campaign.id, Campaign.title_code, Campaign.stage_limit_days,
                                          Campaign.escalate_after_days, *DEADLINE_COLUMNS)).all():
        due = now - timedelta(days=camp.stage_limit_days)
        escalate = now - timedelta(days=camp.escalate_after_days)
        # A stage whose campaign deadline has passed is due at once; it escalates when still there as long after
        # the deadline as the two limits are apart. The first stage is not: the applicant side can no longer act.
        late = deadlines.passed_stages(camp, today, LATE_STAGES)
        late_escalate = {s for s in late if (today - deadlines.stage_deadline(camp, s)).days
                         >= camp.escalate_after_days - camp.stage_limit_days}
        last_id = 0
        while True:
            rows = db.session.execute(
                select(Application.id, Application.state, Application.state_changed_at, Unit.path)
                .join(Unit, Unit.id == Application.unit_id)
                .where(Application.campaign_id == camp.id, Application.state.not_in(CLOSED_STATES),
                       or_(Application.state_changed_at <= due, Application.state.in_(late)),
                       Application.id > last_id)
                .order_by(Application.id).limit(CHUNK)).all()
            if not rows:
                break
            last_id = rows[-1].id
            directory = recipients.Directory(r.path for r in rows)
            alerts: list[dict[str, Any]] = []
            for r in rows:
                try:
                    spec = recipients.chain(camp.title_code, r.path, today)
                except WorkflowError:
                    continue
                stage = spec.stages.get(r.state)
                if stage is None:
                    continue
                base = {"application_id": r.id, "state": r.state, "stage_since": r.state_changed_at,
                        "created_at": now}
                alerts += [base | {"user_id": p.user_id, "kind": "reminder"} for p in directory.acting(r.path, stage)]
                if _aware(r.state_changed_at) <= escalate or r.state in late_escalate:
                    alerts += [base | {"user_id": p.user_id, "kind": "escalation"}
                               for p in directory.above(r.path, stage.level)]
            before = _count()
            insert_ignoring_duplicates(StageAlert.__table__, alerts)
            new += _count() - before
            db.session.commit()
    return new


def _count() -> int:
    return db.session.scalar(select(db.func.count()).select_from(StageAlert.__table__))


def make_digests(now: datetime | None = None) -> int:
    """Gather each person's unsent alerts into today's digest (one per person per day); return digests made.
    A person who already has today's digest gets the newer alerts tomorrow. Commits; the commit kicks the relay."""
    now = now or clock.now()
    today = now.astimezone(clock.VN).date()
    users = db.session.scalars(
        select(StageAlert.user_id).where(StageAlert.digest_id.is_(None))
        .where(~select(Digest.id).where(Digest.user_id == StageAlert.user_id, Digest.day == today).exists())
        .distinct().order_by(StageAlert.user_id)).all()
    made = 0
    for user_id in users:
        outbox_id = db.session.execute(insert(OutboxMessage.__table__).values(
            kind="digest", application_id=None, event_id=None, created_at=now, attempts=0,
            payload={"user_id": user_id, "day": today.isoformat()}).returning(OutboxMessage.__table__.c.id)).scalar()
        digest_id = db.session.execute(insert(Digest.__table__).values(
            user_id=user_id, day=today, outbox_id=outbox_id, created_at=now).returning(Digest.__table__.c.id)).scalar()
        db.session.execute(update(OutboxMessage.__table__).where(OutboxMessage.__table__.c.id == outbox_id)
                           .values(payload={"user_id": user_id, "day": today.isoformat(), "digest_id": digest_id}))
        db.session.execute(update(StageAlert.__table__)
                           .where(StageAlert.user_id == user_id, StageAlert.digest_id.is_(None))
                           .values(digest_id=digest_id))
        made += 1
    if made:
        db.session.info["outbox_written"] = True
    db.session.commit()
    return made


def run(now: datetime | None = None) -> dict[str, int]:
    """The daily job: record the alerts owed, then make the digests."""
    alerts = scan(now)
    return {"alerts": alerts, "digests": make_digests(now)}

"""Recurring jobs through RQ's scheduler (enqueue_at), never threads.

Each recurring job schedules its own next run first thing; a worker starting up makes sure the next run of each is
scheduled. A Redis key per (job, slot), set with NX, keeps several workers on several machines from scheduling the
same slot twice. Times: the tick every NOTIFY_TICK_SECONDS; reminders daily at NOTIFY_REMINDER_HOUR (Vietnam
time); the audit head daily at 00:05 Vietnam time."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from redis.exceptions import RedisError

from workflow import clock

from . import queue as q

log = logging.getLogger(__name__)


def next_daily(now: datetime, at: time) -> datetime:
    """The next moment (strictly after now) the Vietnam wall clock shows `at`, in UTC."""
    local = now.astimezone(clock.VN)
    candidate = datetime.combine(local.date(), at, tzinfo=clock.VN)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def next_period(now: datetime, seconds: int) -> datetime:
    stamp = (int(now.timestamp()) // seconds + 1) * seconds
    return datetime.fromtimestamp(stamp, tz=UTC)


def _schedule(name: str, func, at: datetime) -> bool:
    """Schedule `func` at `at` unless some worker already scheduled that slot."""
    slot = int(at.timestamp())
    try:
        conn = q.connection()
        if not conn.set(f"hoctap:schedule:{name}:{slot}", b"1", nx=True, ex=3 * 86400):
            return False
        q.queue(q.MAINTENANCE, conn).enqueue_at(at, func, job_id=f"hoctap-{name}-{slot}", result_ttl=3600,
                                                 failure_ttl=7 * 86400)
    except RedisError as exc:
        log.warning("could not schedule %s at %s: %s", name, at, exc)
        return False
    return True


def next_tick(now: datetime | None = None) -> bool:
    from . import jobs

    seconds = int(current_app.config.get("NOTIFY_TICK_SECONDS", 60))
    return _schedule("tick", jobs.tick, next_period(now or clock.now(), seconds))


def next_reminders(now: datetime | None = None) -> bool:
    from . import jobs

    hour = int(current_app.config.get("NOTIFY_REMINDER_HOUR", 7))
    return _schedule("reminders", jobs.reminders, next_daily(now or clock.now(), time(hour, 0)))


def next_audit_head(now: datetime | None = None) -> bool:
    from . import jobs

    return _schedule("audit-head", jobs.audit_head, next_daily(now or clock.now(), time(0, 5)))


def ensure(now: datetime | None = None) -> None:
    """Make sure the next run of every recurring job is scheduled (called when a worker starts)."""
    next_tick(now)
    next_reminders(now)
    next_audit_head(now)

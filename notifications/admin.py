"""What an admin needs when delivery is stuck: RQ jobs that exhausted their retries (with a requeue action), and
outbox rows handed too many times without being delivered (with a re-hand action). The web layer can call these
functions; the CLI (`flask notify failed|requeue|stuck|rehand`) does."""
from __future__ import annotations

from typing import Any

from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select, update

from workflow.db import db
from workflow.models import OutboxMessage

from . import queue as q
from . import relay

ob = OutboxMessage.__table__


def _registries() -> list[FailedJobRegistry]:
    conn = q.connection()
    return [FailedJobRegistry(queue=q.queue(name, conn)) for name in q.QUEUES]


def failed_jobs(limit: int = 200) -> list[dict[str, Any]]:
    """Jobs that failed for good, newest registry entries last: id, queue, function, arguments, last error."""
    out: list[dict[str, Any]] = []
    conn = q.connection()
    for registry in _registries():
        ids = registry.get_job_ids(0, limit - 1)
        for job in Job.fetch_many(ids, connection=conn, serializer=q.SERIALIZER):
            if job is None:
                continue
            result = job.latest_result()
            exc = ((result.exc_string if result else None) or "").strip().splitlines()
            out.append({"id": job.id, "queue": registry.name, "function": job.func_name, "args": list(job.args),
                        "error": exc[-1] if exc else "", "ended_at": job.ended_at.isoformat() if job.ended_at else None,
                        "retries_left": job.retries_left})
    return out


def requeue(job_id: str) -> bool:
    """Put a failed job back on its queue; False if no failed job has this id."""
    for registry in _registries():
        if job_id in registry:
            registry.requeue(job_id)
            return True
    return False


def requeue_all() -> int:
    n = 0
    for registry in _registries():
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            n += 1
    return n


def stuck_outbox(limit: int = 200) -> list[dict[str, Any]]:
    """Outbox rows the sweep gave up on (handed NOTIFY_MAX_HANDS times, still undelivered)."""
    from flask import current_app

    max_hands = int(current_app.config.get("NOTIFY_MAX_HANDS", 10))
    rows = db.session.execute(
        select(ob.c.id, ob.c.kind, ob.c.application_id, ob.c.attempts, ob.c.handed_at, ob.c.last_error)
        .where(ob.c.delivered_at.is_(None), ob.c.attempts >= max_hands).order_by(ob.c.id).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def rehand(outbox_id: int) -> bool:
    """Make a row pending again (attempts reset) and hand it over now (not through a wake-up, which a lost job
    could be holding back)."""
    n = db.session.execute(update(ob).where(ob.c.id == outbox_id, ob.c.delivered_at.is_(None))
                           .values(handed_at=None, attempts=0)).rowcount
    db.session.commit()
    if n:
        relay.relay()
    return bool(n)

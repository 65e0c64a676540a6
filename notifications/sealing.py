"""Audit sealing after commit, as an RQ job: the write path never waits on the chain.

Every commit that wrote audit events asks for a seal, throttled with a leading and a trailing edge: the first request
in a window of NOTIFY_SEAL_WINDOW seconds queues a seal job at once; later ones in the window schedule (enqueue_in)
one more job at the window's end, so however many commits arrive, a worker runs about two seal jobs a window, and
every event is sealed within about a window of its commit. A job chains everything unsealed in commit order, a
batch at a time (workflow.audit.seal). A daily job records the chain head in audit_heads
for an auditor to copy outside the database (tail truncation shows only against such a head)."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from workflow import audit, clock
from workflow.db import db
from workflow.models import AuditHead

from . import queue as q

log = logging.getLogger(__name__)
SEAL_FLAG = "hoctap:seal-requested"
TRAIL_FLAG = "hoctap:seal-trailing"


def request_seal() -> bool:
    """Ask for a seal soon; return True if a job was queued or scheduled (or, in process, the seal ran)."""
    from . import jobs

    if q.inline():
        q.run_inline(jobs.seal)
        return True
    if q.redis_url() is None or q.recently_down():
        return False
    window = float(current_app.config.get("NOTIFY_SEAL_WINDOW", 1.0))
    try:
        conn = q.connection()
        if conn.set(SEAL_FLAG, b"1", nx=True, px=int(window * 1000)):
            q.enqueue_many(q.AUDIT, jobs.seal, [()])
            return True
        if conn.set(TRAIL_FLAG, b"1", nx=True, px=int(window * 3000)):
            q.queue(q.AUDIT, conn).enqueue_in(timedelta(seconds=window), jobs.seal, retry=q.retry_policy())
            return True
    except (RedisError, q.RedisUnavailable):
        q.mark_down()
    return False


def seal_now() -> int:
    """Seal everything waiting; return how many events were sealed. A trailing job clears its flag first, so a
    commit landing while it runs schedules the next one."""
    if q.redis_url() is not None:
        try:
            q.connection().delete(TRAIL_FLAG)
        except RedisError:
            pass
    return audit.seal_all()


def record_head(day: date | None = None) -> tuple[date, int, str]:
    """Seal what waits, then store the head as the head of `day` (default: yesterday in Vietnam); idempotent."""
    day = day or clock.today() - timedelta(days=1)
    audit.seal_all()
    existing = db.session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.day == day)).first()
    if existing:
        db.session.rollback()
        return day, existing[0], existing[1]
    seq, h = audit.head()
    db.session.add(AuditHead(day=day, seq=seq, hash=h))
    db.session.commit()
    log.info("audit head for %s: seq %d %s", day, seq, h)
    return day, seq, h

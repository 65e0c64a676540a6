"""Audit sealing after commit, as an RQ job: the write path never waits on the chain.

Every commit that wrote audit events asks for a seal; a Redis flag (SET NX) coalesces the requests, so however many
commits arrive, at most one seal job waits in the queue. The job clears the flag first and then chains everything
unsealed in commit order, a batch at a time (workflow.audit.seal). A daily job records the chain head in audit_heads
for an auditor to copy outside the database (tail truncation shows only against such a head)."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from workflow import audit, clock
from workflow.db import db
from workflow.models import AuditHead

from . import queue as q

log = logging.getLogger(__name__)
SEAL_FLAG = "hoctap:seal-requested"


def request_seal() -> bool:
    """Ask for a seal soon; return True if a job was queued (or, in process, the seal ran)."""
    from . import jobs

    if q.inline():
        q.run_inline(jobs.seal)
        return True
    if q.redis_url() is None or q.recently_down():
        return False
    try:
        if not q.connection().set(SEAL_FLAG, b"1", nx=True, ex=120):
            return False
    except RedisError:
        q.mark_down()
        return False
    try:
        q.enqueue_many(q.AUDIT, jobs.seal, [()])
    except q.RedisUnavailable:
        return False
    return True


def seal_now() -> int:
    """Clear the request flag, then seal everything waiting; return how many events were sealed."""
    if q.redis_url() is not None:
        try:
            q.connection().delete(SEAL_FLAG)
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

"""Audit sealing after commit, as an RQ job: the write path never waits on the chain.

Every commit that wrote audit events wakes the sealer (queue.wake: a seal job is queued unless one is already
waiting to start), so however many commits arrive, at most one seal job waits, and every event is sealed by the
first job that starts after its commit. A job chains everything unsealed in commit order, a
batch at a time (workflow.audit.seal). A daily job records the chain head in audit_heads and appends it to the
head file (AUDIT_HEAD_FILE), the copy outside the database that auditors keep: tail truncation shows only against
such a head, and `flask audit verify` checks the file's last head."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select

from workflow import audit, clock
from workflow.db import db
from workflow.models import AuditHead

from . import queue as q

log = logging.getLogger(__name__)
SEAL_FLAG = "hoctap:seal-queued"


def request_seal() -> bool:
    """Ask for a seal soon; return True if a job was queued (or, in process, the seal ran)."""
    from . import jobs

    if q.inline():
        q.run_inline(jobs.seal)
        return True
    return q.wake((SEAL_FLAG, q.AUDIT, jobs.seal)) > 0


def seal_now() -> int:
    """Seal everything waiting; return how many events were sealed."""
    q.started(SEAL_FLAG)
    return audit.seal_all()


def record_head(day: date | None = None) -> tuple[date, int, str]:
    """Seal what waits, then store the head as the head of `day` (default: yesterday in Vietnam) in audit_heads
    and in the head file; idempotent (a day already recorded is written to the file if the file lacks it)."""
    day = day or clock.today() - timedelta(days=1)
    audit.seal_all()
    existing = db.session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.day == day)).first()
    if existing:
        db.session.rollback()
        audit.keep_head(day, existing[0], existing[1])
        return day, existing[0], existing[1]
    seq, h = audit.head()
    db.session.add(AuditHead(day=day, seq=seq, hash=h))
    db.session.commit()
    audit.keep_head(day, seq, h)
    log.info("audit head for %s: seq %d %s", day, seq, h)
    return day, seq, h

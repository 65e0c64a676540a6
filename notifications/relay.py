"""The outbox relay: committed outbox rows handed to RQ, and marked handed only once RQ has accepted the job.

Rows are claimed with a conditional UPDATE (SKIP LOCKED on PostgreSQL, the write lock on SQLite) in a transaction
of the relay's own connection, the jobs are pushed in one Redis round trip, and handed_at is written in that same
transaction: if Redis refuses, the transaction rolls back and the rows stay pending for the next kick or sweep.
A relay runs in a job woken by every commit that wrote outbox rows (hooks.py), at the end of each delivery job,
and from the periodic tick.
The sweep re-hands rows whose job was abandoned (handed long ago, still not delivered), up to NOTIFY_MAX_HANDS
times; past that they wait for an admin (admin.py)."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from workflow import clock
from workflow.db import db
from workflow.models import OutboxMessage

from . import jobs
from . import queue as q

log = logging.getLogger(__name__)
ob = OutboxMessage.__table__
WAKE_FLAG = "hoctap:relay-queued"


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _hand(where, limit: int, here: bool = False) -> int:
    """Claim up to `limit` rows matching `where`, hand them to RQ, mark them handed; one transaction.

    here: the caller is itself a job RQ accepted (hand_over): it takes the rows and delivers them in this process,
    saving a forked job per burst; a chunk whose delivery fails goes to a delivery job, which RQ retries."""
    size = int(current_app.config.get("NOTIFY_BATCH", 50))
    with db.engine.connect() as conn:
        with conn.begin() as tx:
            pick = select(ob.c.id).where(*where).order_by(ob.c.id).limit(limit)
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = sorted(conn.execute(update(ob).where(ob.c.id.in_(pick.scalar_subquery()), *where)
                                      .values(attempts=ob.c.attempts + 1).returning(ob.c.id)).scalars().all())
            if not ids:
                return 0
            chunks = _chunks(ids, size)
            if here or q.inline():
                conn.execute(update(ob).where(ob.c.id.in_(ids)).values(handed_at=clock.now(), last_error=None))
                tx.commit()
                for chunk in chunks:
                    if here:
                        _deliver_here(chunk)
                    else:
                        q.run_inline(jobs.deliver, chunk)
                return len(ids)
            try:
                q.enqueue_many(q.NOTICES, jobs.deliver, [(chunk,) for chunk in chunks])
            except q.RedisUnavailable as exc:
                tx.rollback()
                log.info("outbox relay: Redis unavailable (%s); %d rows wait", exc, len(ids))
                return 0
            conn.execute(update(ob).where(ob.c.id.in_(ids)).values(handed_at=clock.now(), last_error=None))
    return len(ids)


def _deliver_here(chunk: list[int]) -> None:
    from . import delivery

    try:
        delivery.deliver(chunk)
    except Exception:  # noqa: BLE001 - handed to a retried job instead; the sweep is the last resort
        log.exception("delivery of outbox rows %s failed in the hand-over job; queueing a retried job", chunk)
        db.session.rollback()
        try:
            q.enqueue_many(q.NOTICES, jobs.deliver, [(chunk,)])
        except q.RedisUnavailable:
            log.info("Redis unavailable: rows %s wait for the abandoned-row sweep", chunk)


def relay(limit: int = 500, rounds: int = 20, here: bool = False) -> int:
    """Hand pending rows over, `limit` a round, until none is left (or `rounds` is reached); return how many.
    `here`: deliver them in this job (see _hand)."""
    if q.redis_url() is None and not q.inline():
        return 0
    if q.recently_down():
        return 0
    total = 0
    for _ in range(rounds):
        n = _hand((ob.c.handed_at.is_(None),), limit, here)
        total += n
        if n < limit:
            break
    return total


def sweep_abandoned(minutes: float | None = None, limit: int = 1000) -> int:
    """Re-hand rows handed more than `minutes` ago and still undelivered (their job was lost or killed)."""
    if q.redis_url() is None and not q.inline():
        return 0
    minutes = float(current_app.config.get("NOTIFY_ABANDON_MINUTES", 10) if minutes is None else minutes)
    cutoff = clock.now() - timedelta(minutes=minutes)
    max_hands = int(current_app.config.get("NOTIFY_MAX_HANDS", 10))
    return _hand((ob.c.delivered_at.is_(None), ob.c.handed_at.is_not(None), ob.c.handed_at < cutoff,
                  ob.c.attempts < max_hands), limit)


def pending_count() -> int:
    return db.session.scalar(select(db.func.count()).select_from(ob).where(ob.c.handed_at.is_(None)))


def on_worker_start() -> dict[str, int]:
    """A worker that starts relays what is pending at once instead of waiting for the periodic tick. When no job
    is queued or running anywhere (a fresh Redis, or one that lost its data), rows handed earlier but never
    delivered have lost their jobs too: they are re-handed now (delivery is idempotent, so a row whose job does
    still run somewhere is not sent twice)."""
    handed = relay()
    rehanded = sweep_abandoned(minutes=0) if q.nothing_in_flight() else 0
    log.info("worker start: handed %d pending outbox rows, re-handed %d orphaned ones", handed, rehanded)
    return {"handed": handed, "rehanded": rehanded}

"""Audit sealing as an RQ job: writers never wait on the chain, the sealer keeps up with them, verify passes with
nothing waiting and fails after tampering; the daily head catches a truncated tail."""
from __future__ import annotations

import threading
import time
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from notifications import queue as nq
from notifications import schedule, sealing
from tests.factories import bulk_at_appraisal, tamper
from workflow import audit, engine
from workflow.db import db
from workflow.models import AuditEvent, AuditHead, User

from .notif_services import work

pytest_plugins = ["tests.notif_fixtures"]

WRITERS, TOTAL, BATCH = 4, 10_000, 125


def _writer(app, actor_id: int, ids: list[int], failures: list[str]) -> None:
    """One writer with its own app context (own session and connection), committing a batch at a time."""
    with app.app_context():
        actor = db.session.get(User, actor_id)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            for _attempt in range(50):
                try:
                    outcomes = engine.fire_batch(chunk, "approve", actor)
                    db.session.commit()
                    break
                except OperationalError:  # SQLite: another writer holds the write lock; try again
                    db.session.rollback()
                    time.sleep(0.01)
            else:
                failures.append(f"batch at {chunk[0]} never committed")
                return
            failures.extend(f"{o.id}: {o.error}" for o in outcomes if not o.ok)
        db.session.remove()


def test_sealer_keeps_up_with_four_concurrent_writers(notif_app, world):
    ids = bulk_at_appraisal(world, TOTAL)
    appraiser_id = world.appraiser().id
    failures: list[str] = []
    threads = [threading.Thread(target=_writer, args=(notif_app, appraiser_id, ids[i::WRITERS], failures))
               for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert failures == []
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == TOTAL
    before = audit.verify()
    assert before.ok and before.sealed == 0 and before.waiting == TOTAL  # the write path sealed nothing itself
    # Each commit woke the hand-over job (which delivers, then seals); the Redis flag coalesced the wake-ups.
    assert 1 <= nq.queue(nq.NOTICES).count <= WRITERS * 2
    # The seal job alone (as the periodic tick asks for it), so this test times sealing, not delivery.
    assert sealing.request_seal()
    assert work((nq.AUDIT,))
    report = audit.verify()
    assert report.ok and report.sealed == TOTAL and report.waiting == 0
    seals = db.session.execute(text("SELECT event_id FROM audit_seals ORDER BY seq")).scalars().all()
    assert seals == sorted(seals)  # chained in commit (id) order

    victim = seals[TOTAL // 2]
    tamper(f"UPDATE audit_events SET reason = 'sửa lén' WHERE id = {victim}")
    broken = audit.verify()
    assert not broken.ok and broken.first_bad == victim and broken.problem == "altered"


def test_daily_head_is_recorded_and_catches_a_truncated_tail(notif_app, world, runner):
    ids = bulk_at_appraisal(world, 40)
    engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    work((nq.AUDIT,))
    day, seq, head_hash = sealing.record_head(date(2025, 12, 1))
    assert seq == 40 and sealing.record_head(date(2025, 12, 1)) == (day, seq, head_hash)  # once a day
    assert db.session.scalar(select(func.count()).select_from(AuditHead)) == 1
    ok = runner.invoke(args=["audit", "check-head", str(seq), head_hash])
    assert ok.exit_code == 0 and "OK: head 40 present" in ok.output

    last = db.session.execute(text("SELECT event_id FROM audit_seals WHERE seq > 35")).scalars().all()
    ids_sql = ", ".join(map(str, last))
    tamper(f"DELETE FROM outbox_messages WHERE event_id IN ({ids_sql})",
           f"DELETE FROM audit_seals WHERE event_id IN ({ids_sql})",
           f"DELETE FROM audit_events WHERE id IN ({ids_sql})")
    assert audit.verify().ok  # a cut tail verifies on its own...
    report = audit.check_head(seq, head_hash)
    assert not report.ok and report.problem == "truncated"  # ...but not against the head kept elsewhere
    bad = runner.invoke(args=["audit", "check-head", str(seq), head_hash])
    assert bad.exit_code == 1 and "truncated" in bad.output


def test_worker_start_schedules_the_recurring_jobs_once(notif_app):
    from rq.registry import ScheduledJobRegistry

    schedule.ensure()
    schedule.ensure()  # a second worker starting: same slots, nothing added
    registry = ScheduledJobRegistry(queue=nq.queue(nq.MAINTENANCE))
    names = sorted(j.rsplit("-", 1)[0] for j in registry.get_job_ids())
    assert names == ["hoctap-audit-head", "hoctap-reminders", "hoctap-tick"]

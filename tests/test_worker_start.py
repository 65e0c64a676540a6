"""A worker that starts relays at once (finding 12 of the hardening issue): after Redis lost its data, pending and
orphaned outbox rows are delivered by the first worker, not at the next periodic tick. Real redis-server, real
SMTP sink, real `flask worker` processes."""
from __future__ import annotations

from sqlalchemy import func, select

from notifications import queue as nq
from notifications import relay
from tests.factories import cdht_at
from workflow import engine
from workflow.db import db
from workflow.models import OutboxMessage

from .notif_services import start_worker_process

pytest_plugins = ["tests.notif_fixtures"]


def undelivered() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.delivered_at.is_(None)))


def burst_worker(app) -> str:
    """One `flask worker --burst`: it stops as soon as the queues are empty (no tick ever runs in it)."""
    proc = start_worker_process(app, "--burst", "--no-scheduler")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


def test_rows_left_pending_while_redis_was_down_go_when_a_worker_starts(notif_app, redis_server, world):
    redis_server.stop()  # Redis is down while the branch works: the commits cannot hand anything over
    app = cdht_at(world, "commune_appraisal")
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()
    pending = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.handed_at.is_(None)))
    assert pending >= 1
    redis_server.start()  # back, and empty
    nq.reset_clients()
    assert nq.queue(nq.NOTICES).count == 0
    burst_worker(notif_app)
    assert undelivered() == 0


def test_rows_whose_jobs_redis_lost_are_rehanded_when_a_worker_starts(notif_app, redis_server, world):
    app = cdht_at(world, "commune_appraisal")
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()
    relay.relay()  # handed (as the tick would): delivery jobs sit in Redis
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.handed_at.is_(None))) == 0
    assert undelivered() >= 1
    redis_server.stop()  # no persistence: every queued job is lost
    redis_server.start()
    nq.reset_clients()
    assert nq.queue(nq.NOTICES).count == 0 and nq.nothing_in_flight()
    burst_worker(notif_app)
    assert undelivered() == 0


def test_a_worker_leaves_rows_alone_while_their_jobs_are_still_queued(notif_app, world):
    """Nothing is re-handed at start while delivery jobs are queued: they will deliver the rows themselves."""
    app = cdht_at(world, "commune_appraisal")
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()
    relay.relay()
    assert not nq.nothing_in_flight()
    assert relay.on_worker_start() == {"handed": 0, "rehanded": 0}

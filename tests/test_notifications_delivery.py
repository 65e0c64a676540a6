"""Invariant 3: a notice owed by a committed transition is delivered, once, even when Redis or a worker fails;
a rolled-back transition owes nothing. Real redis-server, real SMTP sink (aiosmtpd), real database."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, timedelta

from sqlalchemy import func, select
from time_machine import escape_hatch as time_machine_escape

from notifications import admin, delivery, relay
from notifications import queue as nq
from notifications.hooks import FLAG
from tests.factories import bulk_at_appraisal, cdht_at
from workflow import clock, engine
from workflow.db import db
from workflow.models import Application, Notification, OutboxMessage

from .notif_services import kill_group, start_worker_process, work

pytest_plugins = ["tests.notif_fixtures"]  # the redis_server, smtp_sink and notif_app fixtures


def notices(channel: str | None = None, outbox_id: int | None = None) -> Counter:
    """(outbox id, user id) -> number of notices stored, for one channel or both, one outbox row or all."""
    stmt = select(Notification.outbox_id, Notification.user_id)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    if outbox_id:
        stmt = stmt.where(Notification.outbox_id == outbox_id)
    return Counter(tuple(r) for r in db.session.execute(stmt).all())


def owed(world, app_ids) -> set[tuple[int, int]]:
    """An approval at the commune owes the branch officer (approved) and the provincial approver (work arrives)."""
    outbox = dict(db.session.execute(select(OutboxMessage.application_id, OutboxMessage.id)
                                     .where(OutboxMessage.application_id.in_(app_ids))).all())
    return {(outbox[a], u.id) for a in app_ids for u in (world.officer(), world.approver)}


def emails_by_user(world, sink) -> Counter:
    by_address = {u.email: u.id for u in (world.officer(), world.approver, world.appraiser())}
    return Counter(by_address[m.rcpt] for m in sink.messages)


def test_thousand_transitions_while_redis_is_down_are_all_delivered_once(notif_app, redis_server, smtp_sink, world):
    ids = bulk_at_appraisal(world, 1000)
    appraiser = world.appraiser()
    redis_server.stop()
    for app_id in ids:
        engine.fire(app_id, "approve", appraiser)
        db.session.commit()  # each commit kicks the relay, which finds Redis down
    assert db.session.scalar(select(func.count()).select_from(Application)
                             .where(Application.state == "final_approval")) == 1000
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.handed_at.is_(None))) == 1000
    assert relay.relay() == 0 and notices() == Counter()

    redis_server.start()  # empty: it kept nothing, and the outbox does not need it to
    nq.reset_clients()
    assert relay.relay() == 1000
    assert work()
    expected = owed(world, ids)
    assert notices("inapp") == Counter(dict.fromkeys(expected, 1))
    assert notices("email") == Counter(dict.fromkeys(expected, 1))
    assert emails_by_user(world, smtp_sink) == Counter({world.officer().id: 1000, world.approver.id: 1000})
    assert set(smtp_sink.handler.counts().values()) == {1}  # no Message-ID arrived twice
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.delivered_at.is_(None))) == 0
    # Running everything again (a sweep, a requeue, a duplicate job) delivers nothing more.
    delivery.deliver([o for o, _ in expected])
    assert relay.sweep_abandoned(minutes=0) == 0
    assert len(smtp_sink.messages) == 2000 and sum(notices().values()) == 4000


def test_rolled_back_transition_never_sends_a_notice(notif_app, smtp_sink, world):
    app = cdht_at(world, "commune_appraisal")
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    engine.fire(app.id, "approve", world.appraiser())
    assert db.session.info.get(FLAG) is True
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before + 1  # written, uncommitted
    db.session.rollback()
    assert FLAG not in db.session.info
    db.session.commit()  # a later commit with nothing in it kicks nothing
    relay.relay()
    relay.sweep_abandoned(minutes=0)
    work()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before
    assert db.session.get(Application, app.id).state == "commune_appraisal"
    assert not [n for n in db.session.scalars(select(Notification)) if n.application_id == app.id
                and n.kind == "transition" and "phê duyệt" in n.subject]
    assert not [m for m in smtp_sink.messages if f"/applications/{app.id}\n" in m.body and "phê duyệt" in m.body]


def test_commit_kicks_the_relay_and_notices_say_what_happened(notif_app, smtp_sink, world):
    app = cdht_at(world, "commune_appraisal")
    officer, appraiser = world.officer(), world.appraiser()
    officer.locale = "en"
    db.session.commit()
    engine.fire(app.id, "return", appraiser, reason="Thiếu minh chứng tiêu chí 3")
    db.session.commit()
    # The commit woke the relay: one hand-over job waits (however many commits follow), no database work was done.
    assert nq.queue(nq.NOTICES).job_ids and nq.connection().get(relay.WAKE_FLAG) == b"1"
    engine.fire(app.id, "submit", officer)
    db.session.commit()
    engine.fire(app.id, "return", appraiser, reason="Thiếu minh chứng tiêu chí 3")
    db.session.commit()
    assert len(nq.queue(nq.NOTICES).job_ids) == 1
    work()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.handed_at.is_(None))) == 0
    mine = db.session.scalars(select(Notification).where(Notification.user_id == officer.id,
                                                         Notification.channel == "inapp")
                              .order_by(Notification.id.desc())).first()
    assert mine.subject == "Application Nguyễn Văn An (Learning Citizen) was returned for more evidence"
    assert "Reason: Thiếu minh chứng tiêu chí 3" in mine.body
    # The appraiser acted, so hears nothing of it; the approver is not concerned by a return.
    last_outbox = db.session.scalar(select(func.max(OutboxMessage.id)))
    assert set(notices().keys()) >= {(last_outbox, officer.id)}
    assert {u for (o, u) in notices() if o == last_outbox} == {officer.id}
    mail = [m for m in smtp_sink.messages if m.rcpt == officer.email]
    assert [m.subject for m in mail][-1] == ("Application Nguyễn Văn An (Learning Citizen) was returned for more "
                                             "evidence")


def test_vietnamese_by_default_and_work_arrives_for_the_next_stage(notif_app, smtp_sink, world):
    app = cdht_at(world, "final_approval")  # the appraiser approved: approver told, officer told
    work()
    approver_notes = db.session.scalars(select(Notification.subject).where(
        Notification.user_id == world.approver.id, Notification.channel == "inapp")).all()
    assert approver_notes == ["Hồ sơ Nguyễn Văn An (Công dân học tập) đang chờ bạn: Chờ phê duyệt"]
    engine.fire(app.id, "approve", world.approver)
    db.session.commit()
    work()
    officer_notes = db.session.scalars(select(Notification.subject).where(
        Notification.user_id == world.officer().id, Notification.channel == "inapp")
        .order_by(Notification.id)).all()
    assert officer_notes[-1] == "Hồ sơ Nguyễn Văn An (Công dân học tập) đã được công nhận"
    # Branch-internal steps (evidence -> scoring -> commune) tell only the commune when work arrives for it.
    submitted = db.session.scalars(select(Notification.subject).where(
        Notification.user_id == world.appraiser().id, Notification.channel == "inapp")).all()
    assert submitted == ["Hồ sơ Nguyễn Văn An (Công dân học tập) đang chờ bạn: Xã thẩm định"]
    assert all(m.subject for m in smtp_sink.messages)


def test_worker_killed_mid_delivery_still_delivers_exactly_once(notif_app, smtp_sink, world, time_machine):
    app = cdht_at(world, "commune_appraisal")
    work()  # the earlier steps' notices are not this test's subject
    smtp_sink.handler.messages.clear()
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()  # handed to RQ by the commit
    outbox_id = db.session.scalar(select(func.max(OutboxMessage.id)))
    assert nq.queue(nq.NOTICES).count == 1

    smtp_sink.handler.gate = gate = threading.Event()
    proc = start_worker_process(notif_app, "--burst")
    try:
        assert smtp_sink.handler.entered.wait(60), "the worker never reached the SMTP server"
        kill_group(proc)  # SIGKILL to the worker and its work horse, in the middle of the SMTP conversation
    finally:
        gate.set()
        if proc.poll() is None:
            kill_group(proc)
    db.session.rollback()
    assert smtp_sink.messages == []
    row = db.session.get(OutboxMessage, outbox_id)
    assert row.handed_at is not None and row.delivered_at is None
    assert notices("inapp", outbox_id) == Counter({(outbox_id, world.officer().id): 1,
                                                   (outbox_id, world.approver.id): 1})

    # RQ will not run the killed job again; the sweep re-hands the row once it has waited long enough.
    assert relay.sweep_abandoned() == 0
    time_machine.move_to(clock.now() + timedelta(minutes=11), tick=True)
    assert relay.sweep_abandoned() == 1
    # The killed sender had leased one e-mail; the lease (1 s in this test) must run out on the real clock that
    # the worker process uses.
    leases = [a for a in db.session.scalars(select(Notification.attempted_at).where(
        Notification.outbox_id == outbox_id)).all() if a is not None]
    assert len(leases) == 1
    until = (leases[0] if leases[0].tzinfo else leases[0].replace(tzinfo=UTC)).timestamp() + 1.05
    while time_machine_escape.time.time() < until:
        time.sleep(0.05)
    proc = start_worker_process(notif_app, "--burst")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode()
    db.session.rollback()
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None, out.decode()
    assert emails_by_user(world, smtp_sink) == Counter({world.officer().id: 1, world.approver.id: 1})
    assert set(smtp_sink.handler.counts().values()) == {1}
    assert notices(None, outbox_id) == Counter({(outbox_id, world.officer().id): 2,
                                                (outbox_id, world.approver.id): 2})


def test_exhausted_retries_are_listed_and_an_admin_requeue_delivers(notif_app, smtp_sink, world):
    app = cdht_at(world, "commune_appraisal")
    work()  # earlier steps delivered
    smtp_sink.handler.messages.clear()
    smtp_sink.stop()  # the mail server is down
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()
    outbox_id = db.session.scalar(select(func.max(OutboxMessage.id)))
    work()  # first run and two retries (intervals 0, 0 in the test) all fail
    failed = admin.failed_jobs()
    assert [(j["function"], j["args"]) for j in failed] == [("notifications.jobs.deliver", [[outbox_id]])]
    assert "e-mail" in failed[0]["error"]
    row = db.session.get(OutboxMessage, outbox_id)
    assert row.delivered_at is None and "failed" in row.last_error
    assert notices("inapp")[(outbox_id, world.approver.id)] == 1  # in-app is there already

    smtp_sink.start()
    assert admin.requeue(failed[0]["id"]) and not admin.requeue("no-such-job")
    work()
    assert admin.failed_jobs() == []
    db.session.rollback()
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None
    mine = [m for m in smtp_sink.messages if m.body.endswith(f"/applications/{app.id}\n")]
    assert sorted(m.rcpt for m in mine) == sorted([world.officer().email, world.approver.email])


def test_without_redis_jobs_run_in_process(app, smtp_sink, world):
    saved = dict(app.config)
    app.config.update(REDIS_URL=None, NOTIFY_INLINE=True, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        cdht_at(world, "final_approval")
        from workflow import audit

        report = audit.verify()
        assert report.ok and report.waiting == 0 and report.sealed > 0  # sealed after each commit, in process
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.delivered_at.is_(None))) == 0
        assert notices("inapp")[(db.session.scalar(select(func.max(OutboxMessage.id))), world.approver.id)] == 1
        assert any(m.rcpt == world.approver.email for m in smtp_sink.messages)
    finally:
        app.config.clear()
        app.config.update(saved)


def test_relay_cli_once(notif_app, runner, world, redis_server):
    ids = bulk_at_appraisal(world, 5)
    redis_server.stop()
    engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    result = runner.invoke(args=["outbox", "relay", "--once"])
    assert result.exit_code == 0 and "handed 0" in result.output and "pending 5" in result.output
    redis_server.start()
    nq.reset_clients()
    result = runner.invoke(args=["outbox", "relay", "--once"])
    assert result.exit_code == 0 and "handed 5" in result.output and "pending 0" in result.output


def test_a_released_savepoint_is_not_a_commit(notif_app, world):
    app = cdht_at(world, "commune_appraisal")
    engine.fire(app.id, "approve", world.appraiser())
    with db.session.begin_nested():  # e.g. operations.create_application guarding a unique index
        pass
    assert db.session.info.get(FLAG) is True  # still owed: the outer transaction has not committed
    pending = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.handed_at.is_(None))
    db.session.commit()
    assert FLAG not in db.session.info and len(nq.queue(nq.NOTICES).job_ids) == 1  # the real commit woke the relay
    work()
    assert db.session.scalar(pending) == 0


def test_the_tick_hands_over_what_commits_could_not_and_reschedules_itself(notif_app, redis_server, world):
    from rq.registry import ScheduledJobRegistry

    from notifications import jobs
    from workflow import audit

    redis_server.stop()
    cdht_at(world, "final_approval")
    assert relay.pending_count() > 0
    redis_server.start()
    nq.reset_clients()
    nq.queue(nq.MAINTENANCE).enqueue(jobs.tick)  # what RQ's scheduler does every minute
    work()
    assert relay.pending_count() == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.delivered_at.is_(None))) == 0
    assert audit.verify().waiting == 0  # the tick asked for a seal, and the seal job ran
    scheduled = ScheduledJobRegistry(queue=nq.queue(nq.MAINTENANCE)).get_job_ids()
    assert [j for j in scheduled if j.startswith("hoctap-tick-")]


def test_rows_the_sweep_gave_up_on_are_listed_and_can_be_rehanded(notif_app, runner, world, smtp_sink):
    app = cdht_at(world, "commune_appraisal")
    work()
    engine.fire(app.id, "approve", world.appraiser())
    db.session.commit()
    outbox_id = db.session.scalar(select(func.max(OutboxMessage.id)))
    nq.queue(nq.NOTICES).empty()  # its job was lost, and the sweep re-handed it until it gave up
    db.session.execute(OutboxMessage.__table__.update().where(OutboxMessage.id == outbox_id)
                       .values(attempts=notif_app.config["NOTIFY_MAX_HANDS"], last_error="lost"))
    db.session.commit()
    assert relay.sweep_abandoned(minutes=0) == 0
    assert [r["id"] for r in admin.stuck_outbox()] == [outbox_id]
    listed = runner.invoke(args=["notify", "stuck"])
    assert listed.exit_code == 0 and f"{outbox_id}  transition" in listed.output
    done = runner.invoke(args=["notify", "rehand", str(outbox_id)])
    assert done.exit_code == 0, done.output
    work()
    assert admin.stuck_outbox() == []
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None
    assert runner.invoke(args=["notify", "rehand", str(outbox_id)]).exit_code == 1  # delivered: nothing to do


def test_worker_and_failed_commands_need_redis(app, runner):
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = None
    try:
        for args in (["worker", "--burst"], ["notify", "failed"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 1 and "REDIS_URL is not set" in result.output
    finally:
        app.config["REDIS_URL"] = saved

"""Reminders after the campaign's stage limit, escalation to the level above after the second limit, one digest a
day per person; time is moved by time-machine, never slept through."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from notifications import queue as nq
from notifications import reminders, schedule
from tests.factories import build_world, cdht_at
from workflow import clock
from workflow.db import db
from workflow.models import Notification, StageAlert

from .notif_services import work

pytest_plugins = ["tests.notif_fixtures"]

T0 = datetime(2025, 10, 1, 9, 0, tzinfo=clock.VN)  # after the 2025 reform: branch -> commune -> province


@pytest.fixture
def world_t0(time_machine):
    time_machine.move_to(T0, tick=False)
    return build_world(tiers=2)


def at(time_machine, days: float, hours: float = 0) -> None:
    time_machine.move_to(T0 + timedelta(days=days, hours=hours), tick=False)


def digests_of(user) -> list[tuple[str, str]]:
    return db.session.execute(select(Notification.channel, Notification.subject)
                              .where(Notification.user_id == user.id, Notification.kind == "digest")
                              .order_by(Notification.id)).all()


def test_reminder_then_escalation_one_digest_a_day(notif_app, smtp_sink, world_t0, time_machine):
    w = world_t0
    a1, a2 = cdht_at(w, "commune_appraisal"), cdht_at(w, "commune_appraisal")
    a3 = cdht_at(w, "final_approval")
    at(time_machine, 5)
    a4 = cdht_at(w, "commune_appraisal", commune=1)
    work()  # the transition notices of the set-up
    appraiser, appraiser1, approver, admin = w.appraiser(0), w.appraiser(1), w.approver, w.admin

    at(time_machine, 13, 23)  # one hour short of the 14-day stage limit
    assert reminders.run() == {"alerts": 0, "digests": 0}

    at(time_machine, 14, 1)
    assert reminders.run() == {"alerts": 3, "digests": 2}
    assert reminders.run() == {"alerts": 0, "digests": 0}  # the same day again: nothing new, no flood
    work()
    assert digests_of(appraiser) == [("inapp", "Nhắc việc ngày 15/10/2025: 2 hồ sơ quá hạn"),
                                      ("email", "Nhắc việc ngày 15/10/2025: 2 hồ sơ quá hạn")]
    assert digests_of(approver) == [("inapp", "Nhắc việc ngày 15/10/2025: 1 hồ sơ quá hạn"),
                                    ("email", "Nhắc việc ngày 15/10/2025: 1 hồ sơ quá hạn")]
    body = db.session.scalar(select(Notification.body).where(Notification.user_id == appraiser.id,
                                                             Notification.kind == "digest"))
    # issue 13: the files by name and title, not by number
    assert body.count(f"- {a1.full_name} ({a1.unit.name}) — Công dân học tập: chờ ở bước «Xã thẩm định» 14 ngày") == 2
    assert a2.full_name == a1.full_name
    mails = [m for m in smtp_sink.messages if m.subject.startswith("Nhắc việc")]
    assert sorted(m.rcpt for m in mails) == sorted([appraiser.email, approver.email])

    at(time_machine, 19, 1)  # a4 has waited 14 days at its commune
    assert reminders.run() == {"alerts": 1, "digests": 1}
    assert db.session.scalar(select(StageAlert.user_id).where(StageAlert.application_id == a4.id)) == appraiser1.id

    at(time_machine, 28, 1)  # the second limit: escalate a1, a2 to the province, a3 (at the province) to the admin
    assert reminders.run() == {"alerts": 3, "digests": 2}
    work()
    assert digests_of(approver)[-1] == ("email", "Nhắc việc ngày 29/10/2025: 2 hồ sơ chuyển lên cấp trên")
    assert digests_of(admin) == [("inapp", "Nhắc việc ngày 29/10/2025: 1 hồ sơ chuyển lên cấp trên"),
                                 ("email", "Nhắc việc ngày 29/10/2025: 1 hồ sơ chuyển lên cấp trên")]
    assert len(digests_of(appraiser)) == 2  # reminded once for this stay at the stage, not every day
    escalations = db.session.execute(select(StageAlert.application_id, StageAlert.user_id)
                                     .where(StageAlert.kind == "escalation")).all()
    assert sorted(escalations) == sorted([(a1.id, approver.id), (a2.id, approver.id), (a3.id, admin.id)])
    emails = [m for m in smtp_sink.messages if m.subject.startswith("Nhắc việc")]
    assert len(emails) == len({(m.rcpt, m.message_id) for m in emails}) == 5


def test_a_moved_application_starts_a_new_stay(notif_app, world_t0, time_machine):
    app = cdht_at(world_t0, "commune_appraisal")
    at(time_machine, 15)
    assert reminders.run()["alerts"] == 1
    from workflow import engine

    engine.fire(app.id, "approve", world_t0.appraiser())  # now at the province
    db.session.commit()
    at(time_machine, 16)
    assert reminders.run()["alerts"] == 0  # a fresh stay: its clock started yesterday
    at(time_machine, 30)
    assert reminders.run() == {"alerts": 1, "digests": 1}
    assert db.session.scalar(select(StageAlert.user_id).where(StageAlert.state == "final_approval")) == \
        world_t0.approver.id


def test_english_digest_for_english_users(notif_app, world_t0, time_machine):
    cdht_at(world_t0, "commune_appraisal")
    world_t0.appraiser().locale = "en"
    db.session.commit()
    at(time_machine, 14, 1)
    reminders.run()
    work()
    assert digests_of(world_t0.appraiser())[0] == ("inapp", "Reminders for 15/10/2025: 1 overdue")


def test_rq_scheduler_runs_the_daily_job_at_seven(notif_app, world_t0, time_machine):
    at(time_machine, -1)  # at the commune since 09:00 on 30/09: overdue from 09:00 on 14/10
    cdht_at(world_t0, "commune_appraisal")
    work()
    at(time_machine, 14, -3)  # 06:00 on 15/10 in Vietnam; a worker starts and schedules the day's run
    schedule.ensure()
    registry = ScheduledJobRegistry(queue=nq.queue(nq.MAINTENANCE))
    seven = datetime(2025, 10, 15, 7, 0, tzinfo=clock.VN)
    job_id = f"hoctap-reminders-{int(seven.timestamp())}"
    assert job_id in registry.get_job_ids()

    scheduler = RQScheduler([nq.MAINTENANCE], connection=nq.connection(), serializer=nq.SERIALIZER)
    scheduler.acquire_locks()
    at(time_machine, 14, -2.5)  # 06:30: not yet
    scheduler.enqueue_scheduled_jobs()
    assert job_id not in nq.queue(nq.MAINTENANCE).job_ids and job_id in registry.get_job_ids()
    at(time_machine, 14, -1.99)  # just after 07:00
    scheduler.enqueue_scheduled_jobs()
    assert job_id in nq.queue(nq.MAINTENANCE).job_ids
    work()  # the reminder job, then the delivery job its commit handed over
    scheduler.release_locks()
    assert digests_of(world_t0.appraiser())[0] == ("inapp", "Nhắc việc ngày 15/10/2025: 1 hồ sơ quá hạn")
    tomorrow = datetime(2025, 10, 16, 7, 0, tzinfo=clock.VN)
    assert f"hoctap-reminders-{int(tomorrow.timestamp())}" in registry.get_job_ids()  # it scheduled its next run

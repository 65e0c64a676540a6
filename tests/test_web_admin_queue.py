"""The admin's notification-queue page against a real redis-server and SMTP sink: what failed is listed, and the
page's buttons get it delivered; nobody but an admin sees or uses it; without Redis it explains why there is no
queue instead of failing."""
from __future__ import annotations

from sqlalchemy import func, select

from notifications import admin
from notifications import queue as nq
from tests.factories import cdht_at
from workflow import engine
from workflow.db import db
from workflow.models import OutboxMessage

from .notif_services import work
from .test_web_flow import login, text

pytest_plugins = ["tests.notif_fixtures"]  # the redis_server, smtp_sink and notif_app fixtures

PAGE = "/admin/notifications"


def _approve_at_commune(world, sink, mail_down: bool = False) -> tuple[int, int]:
    """A commune approval (owes the branch officer and the provincial approver); returns (application, outbox).
    With mail_down the SMTP sink is stopped first, so the approval's delivery job fails."""
    application = cdht_at(world, "commune_appraisal")
    work()  # the earlier steps' notices are delivered and out of the way
    sink.handler.messages.clear()
    if mail_down:
        sink.stop()
    engine.fire(application.id, "approve", world.appraiser())
    db.session.commit()
    return application.id, db.session.scalar(select(func.max(OutboxMessage.id)))


def _mails_for(sink, app_id: int) -> list[str]:
    return sorted(m.rcpt for m in sink.messages if m.body.rstrip().endswith(f"/applications/{app_id}"))


def test_admin_requeues_a_failed_job_from_the_page_and_the_notice_is_delivered(notif_app, smtp_sink, client,
                                                                                world):
    app_id, outbox_id = _approve_at_commune(world, smtp_sink, mail_down=True)
    work()  # the first run and both retries fail
    assert len(admin.failed_jobs()) == 1

    login(client, world.admin)
    page = client.get(PAGE)
    body = page.get_data(as_text=True)
    job_id = admin.failed_jobs()[0]["id"]
    assert page.status_code == 200 and job_id in body and "notifications.jobs.deliver" in body
    assert f"[[{outbox_id}]]" in body and "Đưa lại vào hàng đợi" in body and "Đưa lại tất cả vào hàng đợi" in body
    assert 'id="nav-notification-queue"' in body

    smtp_sink.start()
    done = client.post(f"{PAGE}/jobs/{job_id}/requeue", follow_redirects=True)
    assert done.status_code == 200 and "Đã đưa tác vụ trở lại hàng đợi." in text(done)
    assert "Không có tác vụ thất bại nào có mã này." in text(client.post(f"{PAGE}/jobs/no-such-job/requeue",
                                                                          follow_redirects=True))
    work()
    assert admin.failed_jobs() == []
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None
    assert _mails_for(smtp_sink, app_id) == sorted([world.officer().email, world.approver.email])
    assert "Không có tác vụ thất bại." in text(client.get(PAGE))


def test_requeue_all_from_the_page(notif_app, smtp_sink, client, world):
    app_id, outbox_id = _approve_at_commune(world, smtp_sink, mail_down=True)
    work()
    smtp_sink.start()
    login(client, world.admin)
    done = client.post(f"{PAGE}/jobs/requeue-all", follow_redirects=True)
    assert "Đã đưa 1 tác vụ trở lại hàng đợi." in text(done)
    work()
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None
    assert _mails_for(smtp_sink, app_id) == sorted([world.officer().email, world.approver.email])


def test_a_stuck_outbox_row_is_listed_and_handing_it_over_again_delivers_it(notif_app, smtp_sink, client, world):
    app_id, outbox_id = _approve_at_commune(world, smtp_sink)
    nq.queue(nq.NOTICES).empty()  # its job was lost, and the sweep re-handed it until it gave up
    db.session.execute(OutboxMessage.__table__.update().where(OutboxMessage.id == outbox_id)
                       .values(attempts=notif_app.config["NOTIFY_MAX_HANDS"], last_error="lost job"))
    db.session.commit()

    login(client, world.admin)
    page = client.get(PAGE)
    body = text(page)
    assert page.status_code == 200 and "lost job" in body and "Chuyển lại" in body
    assert f'action="{PAGE}/outbox/{outbox_id}/rehand"' in page.get_data(as_text=True)

    done = client.post(f"{PAGE}/outbox/{outbox_id}/rehand", follow_redirects=True)
    assert f"Đã chuyển lại thông báo số {outbox_id}." in text(done)
    work()
    assert admin.stuck_outbox() == []
    assert db.session.get(OutboxMessage, outbox_id).delivered_at is not None
    assert _mails_for(smtp_sink, app_id) == sorted([world.officer().email, world.approver.email])
    again = client.post(f"{PAGE}/outbox/{outbox_id}/rehand", follow_redirects=True)
    assert f"Thông báo số {outbox_id} đã được gửi hoặc không tồn tại." in text(again)
    assert "Không có." in text(client.get(PAGE))


def test_only_admins_see_or_use_the_page(notif_app, smtp_sink, client, world):
    _app_id, outbox_id = _approve_at_commune(world, smtp_sink, mail_down=True)
    work()
    job_id = admin.failed_jobs()[0]["id"]

    assert client.get(PAGE).status_code == 302  # not logged in: to the login page
    assert "/login" in client.get(PAGE).headers["Location"]
    for user in (world.auditor, world.appraiser(), world.officer(), world.approver):
        login(client, user)
        refused = client.get(PAGE)
        assert refused.status_code == 403 and "Bạn không có quyền thực hiện" in text(refused)
        assert 'id="nav-notification-queue"' not in client.get("/").get_data(as_text=True)
        for url in (f"{PAGE}/jobs/{job_id}/requeue", f"{PAGE}/jobs/requeue-all", f"{PAGE}/outbox/{outbox_id}/rehand"):
            assert client.post(url).status_code == 403
    assert [j["id"] for j in admin.failed_jobs()] == [job_id]  # nothing was requeued by anyone refused


def test_without_redis_the_page_says_jobs_run_in_process(app, client, world):
    saved = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = None
    try:
        cdht_at(world, "commune_appraisal")  # NOTIFY_INLINE is off in tests: the rows stay waiting
        waiting = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.handed_at.is_(None)))
        assert waiting > 0
        login(client, world.admin)
        page = client.get(PAGE)
        body = text(page)
        assert page.status_code == 200
        assert "Chưa cấu hình hàng đợi tác vụ (chưa đặt REDIS_URL)" in body
        assert f"{waiting} thông báo đang chờ chuyển đi." in body
        refused = client.post(f"{PAGE}/jobs/requeue-all", follow_redirects=True)
        assert "không có hàng đợi để đưa lại" in text(refused)
    finally:
        app.config["REDIS_URL"] = saved

"""End to end without Redis (the demo's setup): a commune appraiser returns a file through the page, the notice
is delivered in process, and the branch officer reads it, with the reason, in Vietnamese in the inbox. Read state
is explicit: opening the inbox leaves notices unread (bold, counted on the home page) until "Mark as read"."""
from __future__ import annotations

from sqlalchemy import select

from tests.factories import cdht_at
from workflow.db import db
from workflow.models import Application, Notification

from .test_web_flow import login, text

pytest_plugins = ["tests.notif_fixtures"]  # the smtp_sink fixture

REASON = "Bổ sung chứng chỉ tin học (tiêu chí 2.1)"


def test_a_return_with_reason_reaches_the_officers_inbox_in_process(app, smtp_sink, client, world):
    keys = ("REDIS_URL", "NOTIFY_INLINE", "SMTP_HOST", "SMTP_PORT")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(REDIS_URL=None, NOTIFY_INLINE=True, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        application = cdht_at(world, "commune_appraisal")
        officer = world.officer()
        login(client, world.appraiser())
        version = db.session.get(Application, application.id).version
        returned = client.post(f"/applications/{application.id}/actions/return",
                               data={"version": version, "reason": REASON})
        assert returned.status_code == 302

        db.session.rollback()  # see what the in-process delivery committed
        note = db.session.scalar(select(Notification).where(
            Notification.user_id == officer.id, Notification.channel == "inapp",
            Notification.application_id == application.id, Notification.kind == "transition")
            .order_by(Notification.id.desc()))
        assert note is not None and note.read_at is None and REASON in note.body
        assert any(m.rcpt == officer.email and REASON in m.body for m in smtp_sink.messages)

        login(client, officer)
        assert "thông báo chưa đọc" in text(client.get("/"))
        inbox = client.get("/inbox")
        body, html = text(inbox), inbox.get_data(as_text=True)
        assert inbox.status_code == 200
        assert f"Hồ sơ {application.full_name}" in body and "bị trả lại để bổ sung" in body
        assert f"Lý do: {REASON}" in body and "Đánh dấu đã đọc" in body
        assert 'class="unread"' in html

        db.session.expire_all()
        assert db.session.get(Notification, note.id).read_at is None  # viewing does not mark it read
        assert client.post(f"/inbox/{note.id}/read").status_code == 302
        db.session.expire_all()
        assert db.session.get(Notification, note.id).read_at is not None
        earlier = db.session.scalars(select(Notification.id).where(
            Notification.user_id == officer.id, Notification.channel == "inapp",
            Notification.read_at.is_(None))).all()  # notices of the steps before the return
        for note_id in earlier:
            client.post(f"/inbox/{note_id}/read")
        html = client.get("/inbox").get_data(as_text=True)
        assert 'class="unread"' not in html and html.count('class="read"') == len(earlier) + 1
        assert "thông báo chưa đọc" not in text(client.get("/"))
    finally:
        app.config.update(saved)

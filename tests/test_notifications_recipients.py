"""Who hears of what, read from the approval chain of the day: both chains (three tiers before the 2025 reform, two
after), CDHT and XHT. Delivery is called directly here (no SMTP_HOST: e-mails go to the log), so these tests need
neither Redis nor a mail server; the delivery tests cover those."""
from __future__ import annotations

from sqlalchemy import select

from notifications import delivery
from tests.factories import cdht_at, to_appraisal
from workflow import engine
from workflow.db import db
from workflow.models import Notification, OutboxMessage


def deliver_all() -> None:
    delivery.deliver(db.session.scalars(select(OutboxMessage.id)).all())


def inbox(user) -> list[str]:
    return db.session.scalars(select(Notification.subject).where(
        Notification.user_id == user.id, Notification.channel == "inapp").order_by(Notification.id)).all()


def test_three_tier_chain_sends_work_to_the_district(world3):
    app = cdht_at(world3, "final_approval")
    engine.fire(app.id, "reject", world3.approver, reason="Không đủ điều kiện")
    db.session.commit()
    deliver_all()
    assert inbox(world3.approver) == ["Hồ sơ Nguyễn Văn An (Công dân học tập) đang chờ bạn: Chờ phê duyệt"]
    assert inbox(world3.officer())[-1] == "Hồ sơ Nguyễn Văn An (Công dân học tập) không được công nhận"
    body = db.session.scalar(select(Notification.body).where(Notification.user_id == world3.officer().id)
                             .order_by(Notification.id.desc()))
    assert "Lý do: Không đủ điều kiện" in body
    assert inbox(world3.appraiser(1)) == [] and inbox(world3.officer(1)) == []  # other units hear nothing


def test_xht_the_commune_is_the_owner_and_the_province_approves(world):
    xht = world.new_xht(0)
    to_appraisal(xht, world.appraiser(0))  # evidence -> self-assessment -> upper appraisal
    db.session.commit()
    engine.fire(xht.id, "approve", world.approver)
    engine.fire(xht.id, "approve", world.approver)
    db.session.commit()
    deliver_all()
    name = xht.unit.name
    assert inbox(world.approver) == [f"Hồ sơ {name} (Xã học tập) đang chờ bạn: Cấp trên thẩm định"]
    assert inbox(world.appraiser(0)) == [
        f"Hồ sơ {name} (Xã học tập) đã được thông qua, chuyển sang bước «Chờ phê duyệt»",
        f"Hồ sơ {name} (Xã học tập) đã được công nhận"]


def test_every_notice_is_stored_once_however_often_delivery_runs(world):
    cdht_at(world, "recognised")
    for _ in range(3):
        deliver_all()
    rows = db.session.execute(select(Notification.outbox_id, Notification.user_id, Notification.channel)).all()
    # appraiser (work arrives), approver (work arrives), officer (approved, recognised); in-app and e-mail each
    assert len(rows) == len(set(rows)) == 8
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None))) is None


def test_revocation_tells_the_branch(world):
    app = cdht_at(world, "recognised")
    engine.fire(app.id, "revoke", world.approver, reason="Phát hiện gian lận")
    db.session.commit()
    deliver_all()
    assert inbox(world.officer())[-1] == "Danh hiệu của Nguyễn Văn An (Công dân học tập) đã bị thu hồi"

"""Batch actions pass through the same rules as single ones, write set-wise, and report an outcome per item."""
from sqlalchemy import func, select

from workflow import engine
from workflow.db import db
from workflow.models import Application, AuditEvent, OutboxMessage

from .factories import bulk_at_appraisal, cdht_at


def test_batch_approval_of_2000(world):
    ids = bulk_at_appraisal(world, 2000)
    outcomes = engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    assert [o.id for o in outcomes] == ids
    assert all(o.ok and o.to_state == "final_approval" and o.version == 4 for o in outcomes)
    per_app = db.session.execute(select(AuditEvent.application_id, func.count()).where(
        AuditEvent.action == "approve").group_by(AuditEvent.application_id)).all()
    assert len(per_app) == 2000 and all(n == 1 for _, n in per_app)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2000
    assert len({o.event_id for o in outcomes}) == 2000
    states = db.session.execute(select(Application.state, func.count()).group_by(Application.state)).all()
    assert states == [("final_approval", 2000)]


def test_batch_reports_each_refusal_and_writes_only_the_rest(world):
    good = bulk_at_appraisal(world, 3)
    failing = bulk_at_appraisal(world, 1, total=70)
    other_commune = bulk_at_appraisal(world, 1, commune=1)
    early = cdht_at(world, "branch_scoring")
    ids = good + failing + other_commune + [early.id, 999_999] + good[:1]  # a duplicate id counts once
    outcomes = engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    by_id = {o.id: o for o in outcomes}
    assert len(outcomes) == 7
    assert all(by_id[i].ok for i in good)
    assert by_id[failing[0]].error.code == "total_below_pass"
    assert by_id[other_commune[0]].error.code == "not_found"
    assert by_id[999_999].error.code == "not_found"
    assert by_id[early.id].error.code == "invalid_action"
    assert by_id[failing[0]].as_dict("en")["error"]["message"].startswith("Total 70")
    approvals = db.session.scalar(select(func.count()).where(AuditEvent.action == "approve"))
    assert approvals == 3
    assert db.session.get(Application, failing[0]).state == "commune_appraisal"


def test_batch_return_needs_a_reason_for_each(world):
    ids = bulk_at_appraisal(world, 5)
    outcomes = engine.fire_batch(ids, "return", world.appraiser())
    assert all(o.error.code == "reason_required" for o in outcomes)
    outcomes = engine.fire_batch(ids, "return", world.appraiser(), reason="Bổ sung biên bản bình xét")
    db.session.commit()
    assert all(o.ok and o.to_state == "branch_scoring" for o in outcomes)
    reasons = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "return")).all()
    assert reasons == ["Bổ sung biên bản bình xét"] * 5


def test_batch_wrong_role_writes_nothing(world):
    ids = bulk_at_appraisal(world, 10)
    outcomes = engine.fire_batch(ids, "approve", world.approver)
    db.session.commit()
    assert all(o.error.code == "wrong_role" for o in outcomes)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_batch_final_approval_sets_recognition(world):
    ids = bulk_at_appraisal(world, 4)
    engine.fire_batch(ids, "approve", world.appraiser())
    outcomes = engine.fire_batch(ids, "approve", world.approver)
    db.session.commit()
    assert all(o.to_state == "recognised" for o in outcomes)
    assert db.session.scalar(select(func.count()).where(Application.recognised_at.is_not(None))) == 4

"""Whole-chain walks under both approval chains; every state change writes exactly one audit event and one
outbox row; a refused step writes nothing and leaves the version unchanged (invariant 1)."""
import pytest
from sqlalchemy import func, select

from workflow import engine
from workflow.db import db
from workflow.errors import GuardRefused, InvalidAction, NotAuthorized, WorkflowError
from workflow.models import Application, AuditEvent, OutboxMessage

from .factories import add_all_evidence, score_all


def counts(app_id: int) -> tuple[int, int]:
    transitions = db.session.scalar(select(func.count()).where(
        AuditEvent.application_id == app_id, AuditEvent.from_state != AuditEvent.to_state))
    out = db.session.scalar(select(func.count()).where(OutboxMessage.application_id == app_id))
    return transitions, out


def step(app: Application, action: str, actor, **kw) -> None:
    """Fire, commit, and check that exactly one transition event and one outbox row were added."""
    before_events, before_outbox = counts(app.id)
    before_version = app.version
    outcome = engine.fire(app, action, actor, **kw)
    db.session.commit()
    assert outcome.ok and outcome.version == before_version + 1
    assert counts(app.id) == (before_events + 1, before_outbox + 1)
    event = db.session.get(AuditEvent, outcome.event_id)
    assert (event.action, event.from_state, event.to_state, event.actor_id) == (
        action, outcome.from_state, outcome.to_state, actor.id)


def refused(app: Application, action: str, actor, error: type[WorkflowError], **kw) -> WorkflowError:
    """Fire and expect a refusal that writes nothing: same events, same outbox, same version and state."""
    before = counts(app.id), app.version, app.state
    with pytest.raises(error) as exc:
        engine.fire(app, action, actor, **kw)
    db.session.rollback()
    fresh = db.session.get(Application, app.id)
    assert (counts(app.id), fresh.version, fresh.state) == before
    return exc.value


@pytest.mark.parametrize("tiers", [2, 3])
def test_cdht_whole_chain_with_a_return(request, tiers):
    w = request.getfixturevalue("world" if tiers == 2 else "world3")
    officer, appraiser, approver = w.officer(), w.appraiser(), w.approver
    assert approver.grants[0].role == ("provincial_approver" if tiers == 2 else "district_approver")
    app = w.new_cdht()
    db.session.commit()
    refused(app, "submit", officer, GuardRefused)  # no evidence yet
    add_all_evidence(app, officer)
    db.session.commit()
    step(app, "submit", officer)
    assert app.state == "branch_scoring"
    score_all(app, officer, 9)
    db.session.commit()
    step(app, "submit", officer)
    assert app.state == "commune_appraisal"
    refused(app, "approve", approver, NotAuthorized)  # not the approver's stage yet
    step(app, "return", appraiser, reason="Bổ sung minh chứng tiêu chí 2.1")
    assert app.state == "branch_scoring"
    step(app, "submit", officer)
    step(app, "approve", appraiser)
    assert app.state == "final_approval"
    step(app, "approve", approver)
    assert app.state == "recognised" and app.recognised_at is not None
    refused(app, "approve", approver, InvalidAction)
    step(app, "revoke", approver, reason="Khai báo không trung thực")
    assert app.state == "revoked" and app.closed_reason == "Khai báo không trung thực"


@pytest.mark.parametrize("tiers", [2, 3])
def test_xht_whole_chain(request, tiers):
    w = request.getfixturevalue("world" if tiers == 2 else "world3")
    commune_side, approver = w.appraiser(), w.approver
    app = w.new_xht()
    db.session.commit()
    add_all_evidence(app, commune_side)
    step(app, "submit", commune_side)
    assert app.state == "self_assessment"
    score_all(app, commune_side, {c: 1 for c in _codes(app)} | {"1.1": 0})
    db.session.commit()
    err = refused(app, "submit", commune_side, GuardRefused)
    assert err.code == "not_all_met"
    score_all(app, commune_side, 1)
    db.session.commit()
    step(app, "submit", commune_side)
    assert app.state == "upper_appraisal"
    refused(app, "approve", commune_side, NotAuthorized)  # a commune never approves itself
    step(app, "approve", approver)
    assert app.state == "final_approval"
    step(app, "approve", approver)
    assert app.state == "recognised"


def _codes(app):
    from workflow.rubrics import spec

    return [c.code for c in spec(app.rubric_id).criteria_for(app.target_level)]


def test_withdraw_and_reject(world):
    officer, appraiser = world.officer(), world.appraiser()
    a = world.new_cdht()
    db.session.commit()
    refused(a, "withdraw", officer, GuardRefused)  # issue 13: a withdrawal says why
    step(a, "withdraw", officer, reason="Người được đề cử chuyển nơi cư trú")
    assert a.state == "withdrawn" and a.closed_reason == "Người được đề cử chuyển nơi cư trú"
    b = world.new_cdht()
    add_all_evidence(b, officer)
    db.session.commit()
    step(b, "submit", officer)
    score_all(b, officer)
    db.session.commit()
    step(b, "submit", officer)
    refused(b, "withdraw", officer, InvalidAction)  # out of the branch's hands now
    step(b, "reject", appraiser, reason="Minh chứng không xác thực")
    assert b.state == "rejected" and b.closed_reason == "Minh chứng không xác thực"


def test_allowed_actions_follow_state_and_role(world):
    from .factories import cdht_at

    app = cdht_at(world, "commune_appraisal")
    assert sorted(engine.allowed_actions(app, world.appraiser())) == ["approve", "reject", "return"]
    assert engine.allowed_actions(app, world.officer()) == []
    assert engine.allowed_actions(app, world.approver) == []
    assert engine.allowed_actions(app, world.appraiser(1)) == []  # another commune
    assert engine.allowed_actions(app, world.auditor) == []


def test_fire_by_id_loads_the_row(world):
    from .factories import cdht_at

    app = cdht_at(world, "commune_appraisal")
    outcome = engine.fire(app.id, "approve", world.appraiser(), version=app.version)
    db.session.commit()
    assert (outcome.from_state, outcome.to_state) == ("commune_appraisal", "final_approval")
    db.session.refresh(app)
    assert app.state == "final_approval" and app.version == outcome.version

from workflow import engine
from workflow.models import AuditEvent

from .factories import cdht_at


def test_world_builds_and_cdht_reaches_recognised(world):
    app = cdht_at(world, "recognised")
    assert app.state == "recognised"
    assert AuditEvent.query.filter_by(application_id=app.id, action="approve").count() == 2
    assert engine.allowed_actions(app, world.approver) == ["revoke"]

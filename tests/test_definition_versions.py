"""Issue 14 §3: a title's definition carries versions. A file keeps the version it started under; a new version
applies to files created after it; moving files in flight is a dry run first, then an explicit, audited
migration that does exactly what the dry run said."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import to_appraisal, to_scoring
from workflow import definitions, engine
from workflow.admin import definitions as versions
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import Conflict, GuardRefused, NotAuthorized
from workflow.models import Application, AuditEvent

# CDHT without the branch's own scoring stage: the branch files straight to the commune; a file waiting at the
# branch's scoring goes back to evidence collection.
V2 = {"code": "CDHT", "version": "2", "stages": ["evidence_collection", "commune_appraisal", "final_approval"],
      "state_map": {"branch_scoring": "evidence_collection"}}


def test_files_keep_their_version_until_the_province_adopts_a_new_one(world):
    old = to_scoring(world.new_cdht(), world.officer())
    db.session.commit()
    first = versions.versions("CDHT")[0]
    assert old.definition_id == first.id
    row = versions.load(world.admin, V2)
    db.session.commit()
    before = world.new_cdht()  # loading a version changes nothing by itself: the campaign still gives version 1
    db.session.commit()
    assert before.definition_id == first.id and old.state == "branch_scoring"
    versions.migrate(world.admin, world.province, "CDHT", row)  # the province adopts version 2
    db.session.commit()
    db.session.expire_all()
    assert world.cdht.definition_id == row.id
    assert (db.session.get(Application, old.id).state, db.session.get(Application, old.id).definition_id) == (
        "evidence_collection", row.id)
    new = world.new_cdht()
    db.session.commit()
    assert new.definition_id == row.id
    to_scoring(new, world.officer())
    assert new.state == "commune_appraisal"  # the new version has no branch scoring
    assert definitions.of("CDHT", new.definition_id).stages == tuple(V2["stages"])


def test_a_file_from_before_versions_follows_the_first_and_is_migrated_too(world):
    waiting = to_scoring(world.new_cdht(), world.officer())
    db.session.commit()
    db.session.execute(Application.__table__.update().where(Application.id == waiting.id)
                       .values(definition_id=None))  # as a file created before versions existed
    db.session.commit()
    target = versions.load(world.admin, V2)
    db.session.commit()
    plan = versions.plan(world.admin, world.province, "CDHT", target)
    assert [(g.from_version, g.from_state, g.to_state, g.files) for g in plan.groups] == [
        ("1", "branch_scoring", "evidence_collection", 1)]
    assert versions.migrate(world.admin, world.province, "CDHT", target).moved == 1
    db.session.commit()
    assert db.session.get(Application, waiting.id).definition_id == target.id


def test_a_plan_changed_since_the_dry_run_is_not_carried_out(world):
    first = to_scoring(world.new_cdht(), world.officer())
    db.session.commit()
    target = versions.load(world.admin, V2)
    db.session.commit()
    read = versions.plan(world.admin, world.province, "CDHT", target).fingerprint
    world.new_cdht()  # a new file arrives between the dry run and the confirmation
    db.session.commit()
    with pytest.raises(Conflict) as changed:
        versions.migrate(world.admin, world.province, "CDHT", target, expected=read)
    assert changed.value.code == "plan_changed"
    db.session.rollback()
    assert db.session.get(Application, first.id).state == "branch_scoring"  # nothing moved


def test_a_version_is_immutable_and_checked(world):
    versions.load(world.admin, V2)
    db.session.commit()
    assert versions.load(world.admin, V2).version == "2"  # the same content again: nothing new
    with pytest.raises(InvalidInput) as changed:
        versions.load(world.admin, V2 | {"stages": ["evidence_collection", "final_approval"],
                                        "state_map": {}})
    assert changed.value.fields["version"][0] == "definition_version_exists"
    with pytest.raises(InvalidInput) as bad:
        versions.load(world.admin, V2 | {"version": "3", "state_map": {"branch_scoring": "upper_appraisal"}})
    assert bad.value.fields["state_map.branch_scoring"][0] == "map_target"
    with pytest.raises(InvalidInput) as unknown:
        versions.load(world.admin, V2 | {"version": "4", "stages": ["evidence_collection", "judging"]})
    assert "stages.1" in unknown.value.fields
    with pytest.raises(NotAuthorized):
        versions.load(world.officer(), V2 | {"version": "5"})


def test_the_dry_run_says_what_would_move_and_what_is_refused_and_writes_nothing(world):
    waiting = to_scoring(world.new_cdht(), world.officer())  # branch_scoring: mapped back to evidence
    appraised = to_appraisal(world.new_cdht(), world.officer())  # commune_appraisal: kept
    fresh = world.new_cdht()  # evidence_collection: kept
    db.session.commit()
    v3 = V2 | {"version": "3", "state_map": {}}  # names no place for branch scoring
    target = versions.load(world.admin, v3)
    db.session.commit()
    before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    plan = versions.plan(world.admin, world.province, "CDHT", target)
    by_id = {r.application_id: r for r in plan.rows()}
    assert (by_id[waiting.id].to_state, by_id[waiting.id].refusal) == (None, "no_place")
    assert (by_id[appraised.id].to_state, by_id[appraised.id].refusal) == ("commune_appraisal", None)
    assert (by_id[fresh.id].to_state, by_id[fresh.id].refusal) == ("evidence_collection", None)
    assert "không có trong phiên bản mới" in versions.refusal_text(by_id[waiting.id], "vi")
    assert plan.counts == {"files": 3, "moving": 2, "refused": 1, "state_changes": 0, "campaigns": 1}
    assert sorted((g.from_state, g.to_state, g.files) for g in plan.groups) == [
        ("branch_scoring", None, 1), ("commune_appraisal", "commune_appraisal", 1),
        ("evidence_collection", "evidence_collection", 1)]
    assert [r.application_id for r in plan.rows(limit=2)] == sorted(by_id)[:2]
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == before  # read only
    assert waiting.definition_id == appraised.definition_id == versions.versions("CDHT")[0].id != target.id
    assert plan.counts["campaigns"] == 1 and plan.unstaffed == []


def test_the_migration_moves_exactly_the_planned_files_with_an_audit_event_each(world):
    waiting = to_scoring(world.new_cdht(), world.officer())
    appraised = to_appraisal(world.new_cdht(), world.officer())
    recognised = to_appraisal(world.new_cdht(), world.officer())
    engine.fire(recognised, "approve", world.appraiser())
    engine.fire(recognised, "approve", world.approver)
    db.session.commit()
    target = versions.load(world.admin, V2)
    db.session.commit()
    planned = versions.plan(world.admin, world.province, "CDHT", target)
    expected = [(r.application_id, r.to_state) for r in planned.rows() if r.moves]
    done = versions.migrate(world.admin, world.province, "CDHT", target)
    db.session.commit()
    assert done.moved == len(expected) == 2
    moved = {a.id: a for a in db.session.scalars(select(Application).where(
        Application.id.in_([waiting.id, appraised.id, recognised.id])))}
    assert moved[waiting.id].state == "evidence_collection" and moved[waiting.id].definition_id == target.id
    assert moved[appraised.id].state == "commune_appraisal" and moved[appraised.id].definition_id == target.id
    assert moved[recognised.id].definition_id != target.id  # closed files keep their version
    events = db.session.execute(select(AuditEvent.application_id, AuditEvent.from_state, AuditEvent.to_state,
                                       AuditEvent.payload).where(AuditEvent.action == "migrate")
                                .order_by(AuditEvent.id)).all()
    assert [(e.application_id, e.from_state, e.to_state) for e in events] == [
        (waiting.id, "branch_scoring", "evidence_collection"), (appraised.id, "commune_appraisal",
                                                                "commune_appraisal")]
    assert events[0].payload["to_version"] == "2"
    summary = db.session.scalar(select(AuditEvent.payload).where(AuditEvent.action == "definition.migrate"))
    assert summary["after"]["moved"] == 2 and summary["after"]["state_changes"] == 1
    # the moved file now walks the new version's stages
    engine.fire(moved[waiting.id], "submit", world.officer())
    assert moved[waiting.id].state == "commune_appraisal"
    # and a second dry run has nothing left to move
    after = versions.plan(world.admin, world.province, "CDHT", target)
    assert after.groups == [] and after.rows() == []
    assert sorted(expected) == [(waiting.id, "evidence_collection"), (appraised.id, "commune_appraisal")]


def test_a_target_stage_nobody_acts_at_is_refused(world):
    waiting = to_scoring(world.new_cdht(), world.officer())
    db.session.commit()
    target = versions.load(world.admin, V2 | {"version": "6", "stages": ["evidence_collection", "upper_appraisal",
                                                                         "final_approval"],
                                              "state_map": {"branch_scoring": "upper_appraisal"}})
    plan = versions.plan(world.admin, world.province, "CDHT", target)
    (row,) = [r for r in plan.rows() if r.application_id == waiting.id]
    assert (row.to_state, row.refusal) == ("upper_appraisal", "no_actor")
    assert plan.unstaffed == ["upper_appraisal"]  # the province's chain names nobody there: not adoptable
    with pytest.raises(GuardRefused) as unstaffed:
        versions.migrate(world.admin, world.province, "CDHT", target)
    assert unstaffed.value.code == "stages_unstaffed" and "Upper" not in unstaffed.value.message("vi")
    with pytest.raises(NotAuthorized):
        versions.plan(world.auditor, world.province, "CDHT", target)

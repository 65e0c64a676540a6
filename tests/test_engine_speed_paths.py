"""The engine's fast paths refuse exactly what the plain path refused (issue 10 §4).

`fire` by id loads one row by a scalar key and writes it with a scalar statement (workflow/writes.py); `fire_batch`
judges each distinct case once and reuses the verdict for equal rows (workflow/engine.py). Each test here would
fail if a fast path skipped a check: a stale version, a row changed between load and write, scope, role, guards,
the nominations deadline, a unit moved between two actions, and a batch whose rows differ in one judged column."""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from workflow import clock, engine, writes
from workflow.authz import actor_of
from workflow.db import db
from workflow.definitions import data_file, definition
from workflow.errors import Conflict, GuardRefused, InvalidAction, NotAuthorized, NotFound
from workflow.models import Application, AuditEvent, OutboxMessage

from .factories import add_all_evidence, bulk_at_appraisal, cdht_at, score_all


def _written(app_id: int) -> tuple[int, int]:
    """(audit events, outbox rows) of one application."""
    events = db.session.scalar(select(func.count()).where(AuditEvent.application_id == app_id))
    outbox = db.session.scalar(select(func.count()).where(OutboxMessage.application_id == app_id))
    return events, outbox


def _row(app_id: int) -> tuple[str, int]:
    db.session.expire_all()
    found = db.session.get(Application, app_id)
    return found.state, found.version


# --- fire by id -----------------------------------------------------------------------------------------------

def test_fire_by_id_writes_one_event_and_one_outbox_row(world):
    [app_id] = bulk_at_appraisal(world, 1)
    outcome = engine.fire(app_id, "approve", world.appraiser(), version=3)
    db.session.commit()
    assert outcome.ok and outcome.to_state == "final_approval" and outcome.version == 4
    assert _row(app_id) == ("final_approval", 4)
    assert _written(app_id) == (1, 1)
    event = db.session.get(AuditEvent, outcome.event_id)
    assert event.payload["version"] == 4 and event.payload["score_total"] == 90
    assert db.session.get(Application, app_id).last_action == "approve"


def test_fire_by_id_with_a_stale_version_is_a_conflict(world):
    [app_id] = bulk_at_appraisal(world, 1)
    with pytest.raises(Conflict) as exc:
        engine.fire(app_id, "approve", world.appraiser(), version=2)
    assert exc.value.params == {"expected": 2, "actual": 3}
    db.session.rollback()
    assert _row(app_id) == ("commune_appraisal", 3) and _written(app_id) == (0, 0)


@pytest.mark.parametrize("change", ["version = version + 1", "state = 'upper_appraisal'"])
def test_a_row_changed_between_load_and_write_is_a_conflict(world, monkeypatch, change):
    """The scalar write keeps the version and state check: a writer that slips in after the load wins."""
    [app_id] = bulk_at_appraisal(world, 1)
    load = writes.load_row

    def load_then_someone_writes(app_id_, cur=None):
        found = load(app_id_, cur)
        db.session.execute(text(f"UPDATE applications SET {change} WHERE id = :i"), {"i": app_id_})
        return found

    monkeypatch.setattr(writes, "load_row", load_then_someone_writes)
    with pytest.raises(Conflict):
        engine.fire(app_id, "approve", world.appraiser())
    assert _written(app_id) == (0, 0)
    db.session.rollback()


def test_fire_by_id_out_of_scope_is_not_found_even_with_a_stale_version(world):
    [app_id] = bulk_at_appraisal(world, 1, commune=1)
    for version in (None, 2):
        with pytest.raises(NotFound):
            engine.fire(app_id, "approve", world.appraiser(0), version=version)
        db.session.rollback()
    with pytest.raises(NotFound):
        engine.fire(999_999_999, "approve", world.appraiser(0))
    db.session.rollback()
    assert _written(app_id) == (0, 0)


def test_fire_by_id_wrong_role_is_not_authorized(world):
    [app_id] = bulk_at_appraisal(world, 1)
    with pytest.raises(NotAuthorized):
        engine.fire(app_id, "approve", world.approver)  # the province covers it but acts at final approval
    db.session.rollback()
    with pytest.raises(NotAuthorized):
        engine.fire(app_id, "approve", world.officer())  # the branch covers it too, and has no appraisal role
    db.session.rollback()
    assert _row(app_id) == ("commune_appraisal", 3) and _written(app_id) == (0, 0)


def test_fire_by_id_guard_refusal_and_invalid_action(world):
    [low] = bulk_at_appraisal(world, 1, total=70)
    with pytest.raises(GuardRefused) as exc:
        engine.fire(low, "approve", world.appraiser())
    assert exc.value.code == "total_below_pass"
    db.session.rollback()
    with pytest.raises(GuardRefused) as exc:
        engine.fire(low, "return", world.appraiser(), reason="  ")
    assert exc.value.code == "reason_required"
    db.session.rollback()
    with pytest.raises(InvalidAction):
        engine.fire(low, "submit", world.appraiser())
    db.session.rollback()
    assert _row(low) == ("commune_appraisal", 3) and _written(low) == (0, 0)


def test_fire_by_id_after_the_nominations_deadline_is_refused(world, time_machine):
    app = cdht_at(world, "evidence_collection")
    add_all_evidence(app, world.officer())
    world.cdht.submit_deadline = date(2026, 11, 25)
    db.session.commit()
    app_id = app.id
    time_machine.move_to(datetime(2026, 12, 1, 9, 0, tzinfo=clock.VN), tick=False)
    with pytest.raises(GuardRefused) as exc:
        engine.fire(app_id, "submit", world.officer())
    assert exc.value.code == "deadline_passed"
    db.session.rollback()
    [outcome] = engine.fire_batch([app_id], "submit", world.officer())
    assert outcome.error.code == "deadline_passed"
    db.session.rollback()
    time_machine.move_to(datetime(2026, 11, 25, 9, 0, tzinfo=clock.VN), tick=False)  # the last day is still open
    assert engine.fire(app_id, "submit", world.officer()).to_state == "branch_scoring"
    db.session.commit()


def _move_branch(world, commune_from: int, commune_to: int) -> None:
    """Re-home a branch: its path changes, as workflow/admin/mergers.py does, in the database only."""
    branch, target = world.branch(commune_from), world.communes[commune_to]
    db.session.execute(text("UPDATE units SET parent_id = :p, path = :path WHERE id = :i"),
                       {"p": target.id, "path": f"{target.path}{branch.id}/", "i": branch.id})
    db.session.commit()


def test_a_moved_unit_changes_scope_at_once_single_and_batch(world):
    """Nothing about a unit is kept between actions: once a branch moves, its files leave the old commune's scope
    for the very next action, single or batch, and enter the new one's."""
    ids = bulk_at_appraisal(world, 3)
    assert engine.fire(ids[0], "approve", world.appraiser(0)).ok  # warms whatever could be cached
    db.session.commit()
    _move_branch(world, 0, 1)
    with pytest.raises(NotFound):
        engine.fire(ids[1], "approve", world.appraiser(0))
    db.session.rollback()
    assert [o.error.code for o in engine.fire_batch(ids[1:], "approve", world.appraiser(0))] == ["not_found"] * 2
    db.session.rollback()
    # The new commune is disadvantaged: its pass mark applies (still passed at 90) and its appraiser acts.
    assert engine.fire(ids[1], "approve", world.appraiser(1)).ok
    assert engine.fire_batch(ids[2:], "approve", world.appraiser(1))[0].ok
    db.session.commit()
    assert _written(ids[1]) == (1, 1) and _written(ids[2]) == (1, 1)


# --- fire_batch: one judgement per distinct case ----------------------------------------------------------------

def test_the_judged_case_is_every_row_column_but_id_and_version():
    """The subject key is read only by counted criteria and level rules, whose rows the batch judges one by one
    (tests/test_titles_other.py: a batch over clans of different shares)."""
    names = {f.name for f in fields(engine._Row)}
    assert set(engine._JUDGED.__reduce__()[1]) == names - {"id", "version", "subject_key"}


def test_no_guard_or_effect_reads_a_subjects_id_or_version():
    """The batch reuses a verdict for rows equal but for id and version: sound only while no guard reads them."""
    for title in (t["code"] for t in data_file("titles.json")["titles"]):
        for step in definition(title).steps.values():
            for fn in step.guards + ((step.effects,) if step.effects else ()):
                assert not {"id", "version"} & set(fn.__code__.co_names), (title, step.action, fn.__name__)


def test_a_batch_judges_each_row_on_its_own_columns(world):
    """Rows interleaved so that equal-looking neighbours differ in one judged column each time."""
    passing = bulk_at_appraisal(world, 4)
    low = bulk_at_appraisal(world, 2, total=70)
    other_commune = bulk_at_appraisal(world, 2, commune=1)
    few_scored = bulk_at_appraisal(world, 1)
    db.session.execute(text("UPDATE applications SET scored_count = 1 WHERE id = :i"), {"i": few_scored[0]})
    zero_min = bulk_at_appraisal(world, 1)
    db.session.execute(text("UPDATE applications SET score_min = 0 WHERE id = :i"), {"i": zero_min[0]})
    # The other commune's branch made ordinary: its files then differ from the passing ones by the unit path alone.
    db.session.execute(text("UPDATE units SET area_class = 'ordinary' WHERE id = :i"), {"i": world.branch(1).id})
    db.session.commit()
    order = [passing[0], low[0], other_commune[0], passing[1], few_scored[0], low[1], passing[2], zero_min[0],
             other_commune[1], passing[3]]
    outcomes = {o.id: o for o in engine.fire_batch(order, "approve", world.appraiser(0))}
    db.session.commit()
    assert all(outcomes[i].ok for i in passing)
    assert {outcomes[i].error.code for i in low} == {"total_below_pass"}
    assert {outcomes[i].error.code for i in other_commune} == {"not_found"}
    assert not outcomes[few_scored[0]].ok and not outcomes[zero_min[0]].ok
    for i in low + other_commune + few_scored + zero_min:
        assert _row(i) == ("commune_appraisal", 3) and _written(i) == (0, 0)
        with pytest.raises(type(outcomes[i].error)) as exc:  # the single path refuses each for the same reason
            engine.fire(i, "approve", world.appraiser(0))
        assert exc.value.code == outcomes[i].error.code
        db.session.rollback()
    for i in passing:
        assert _row(i) == ("final_approval", 4) and _written(i) == (1, 1)


def test_a_batch_judges_the_area_class_per_row(world):
    """75 points pass in a disadvantaged unit (pass mark 70) and fail in an ordinary one (80)."""
    ids = bulk_at_appraisal(world, 4, total=75)
    hard = world.branch(0, 1)
    db.session.execute(text("UPDATE units SET area_class = 'disadvantaged' WHERE id = :i"), {"i": hard.id})
    db.session.execute(text("UPDATE applications SET unit_id = :u WHERE id IN (:a, :b)"),
                       {"u": hard.id, "a": ids[1], "b": ids[3]})
    db.session.commit()
    outcomes = engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    assert [o.ok for o in outcomes] == [False, True, False, True]
    assert {outcomes[0].error.code, outcomes[2].error.code} == {"total_below_pass"}


def test_a_batch_judges_evidence_per_row(world):
    """Two files equal in every column but one missing a criterion's evidence: only the complete one moves."""
    apps = [cdht_at(world, "branch_scoring") for _ in range(3)]
    for a in apps:
        score_all(a, world.officer())
    db.session.commit()
    missing = apps[1]
    db.session.execute(text("UPDATE evidence SET removed_at = :now WHERE id = (SELECT min(id) FROM evidence "
                            "WHERE application_id = :i)"), {"now": clock.now(), "i": missing.id})
    db.session.commit()
    outcomes = {o.id: o for o in engine.fire_batch([a.id for a in apps], "submit", world.officer())}
    db.session.commit()
    assert outcomes[apps[0].id].ok and outcomes[apps[2].id].ok
    assert outcomes[missing.id].error.code == "evidence_missing"
    assert _row(missing.id)[0] == "branch_scoring"


def test_a_batch_still_checks_each_rows_version_in_the_write(world, monkeypatch):
    """Rows judged alike are written with their own version: one changed after the load is a conflict alone."""
    ids = bulk_at_appraisal(world, 3)
    load = writes.load_rows

    def load_then_someone_writes(ids_, lock):
        found = load(ids_, lock)
        db.session.execute(text("UPDATE applications SET version = version + 1 WHERE id = :i"), {"i": ids[1]})
        return found

    monkeypatch.setattr(writes, "load_rows", load_then_someone_writes)
    outcomes = engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error.code == "conflict"
    assert _written(ids[1]) == (0, 0) and _row(ids[1]) == ("commune_appraisal", 4)


def test_a_batch_wrong_role_and_reason_refusals_are_per_case(world):
    ids = bulk_at_appraisal(world, 3)
    assert {o.error.code for o in engine.fire_batch(ids, "approve", world.officer())} == {"wrong_role"}
    assert {o.error.code for o in engine.fire_batch(ids, "reject", world.appraiser())} == {"reason_required"}
    db.session.rollback()
    outcomes = engine.fire_batch(ids, "reject", world.appraiser(), reason="Hồ sơ không đủ điều kiện")
    db.session.commit()
    assert all(o.ok and o.to_state == "rejected" for o in outcomes)
    assert set(db.session.scalars(select(Application.closed_reason).where(Application.id.in_(ids)))) == {
        "Hồ sơ không đủ điều kiện"}


def test_batch_on_postgresql_locks_the_rows_it_judges(world):
    """FOR UPDATE in batches stays: another transaction cannot change a row the batch has read until it ends."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    ids = bulk_at_appraisal(world, 2)
    engine.fire_batch(ids, "approve", world.appraiser())
    with db.engine.connect() as other:
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(Exception, match="lock"):
            other.execute(text("UPDATE applications SET version = version WHERE id = :i"), {"i": ids[0]})
        other.rollback()
    db.session.commit()


def test_fire_by_id_and_by_object_agree(world):
    a, b = bulk_at_appraisal(world, 2)
    by_id = engine.fire(a, "approve", actor_of(world.appraiser()))
    by_object = engine.fire(db.session.get(Application, b), "approve", world.appraiser())
    db.session.commit()
    assert (by_id.from_state, by_id.to_state, by_id.version) == (by_object.from_state, by_object.to_state,
                                                                  by_object.version)
    ea, eb = db.session.get(AuditEvent, by_id.event_id), db.session.get(AuditEvent, by_object.event_id)
    assert ea.payload == eb.payload and ea.action == eb.action

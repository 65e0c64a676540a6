"""Mass actions as jobs (workflow/mass_actions.py): the set is fixed when the job starts, so the count confirmed is
the count acted on; progress is committed chunk by chunk; nothing outside the actor's units is counted or moved; a
re-run after the end moves nothing again; a worker killed in its second chunk leaves whole chunks and a resume ends
with every file acted on exactly once (one audit event each); files someone else moved meanwhile are reported
"already moved" and left alone."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import engine, jobs, mass_actions
from workflow.db import db
from workflow.errors import Conflict, GuardRefused
from workflow.mass_actions import QueueFilter
from workflow.models import Application, AuditEvent, Job, MassActionItem, MassActionOutcome

from .factories import bulk_at_appraisal, cdht_at


def fresh(job_id: int) -> Job:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Job, job_id)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def started(actor, action: str = "approve", **kw) -> Job:
    job, new = mass_actions.start(actor, action, **kw)
    assert new
    db.session.commit()
    return job


def approvals_per_file(ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(select(AuditEvent.application_id, func.count())
                                   .where(AuditEvent.action == "approve", AuditEvent.application_id.in_(ids))
                                   .group_by(AuditEvent.application_id)).all())


def kill_second_chunk(monkeypatch):
    """engine.fire_batch dies in the job's second chunk after writing it, as a killed worker would: that chunk's
    state changes are rolled back with its transaction. Returns the real function, to put back for a resume."""
    real, calls = engine.fire_batch, []

    def dies_in_the_second_chunk(*args, **kw):
        result = real(*args, **kw)
        calls.append(len(result))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return result

    monkeypatch.setattr(engine, "fire_batch", dies_in_the_second_chunk)
    return real


def test_the_count_confirmed_is_the_count_acted_on_with_progress_per_chunk(world):
    mine = bulk_at_appraisal(world, 7)
    bulk_at_appraisal(world, 3, commune=1)  # another commune's: never counted
    early = cdht_at(world, "branch_scoring")  # visible, but approve does not leave its state for this appraiser
    appraiser = world.appraiser(0)
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter()) == 7
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(state="all")) == 7
    job = started(appraiser, filter=QueueFilter(), expected=7)
    assert (job.kind, job.status, job.total) == ("mass_action", "queued", 7)
    assert set(db.session.scalars(select(MassActionItem.application_id).where(MassActionItem.job_id == job.id))) \
        == set(mine)
    seen: list[tuple[int, int, int]] = []

    def after(j: Job, begin: int) -> None:
        committed = db.session.get(Job, j.id)
        seen.append((begin, committed.done, committed.created))
        assert committed.heartbeat_at is not None

    jobs.run(job.id, chunk=3, after_chunk=after)
    job = fresh(job.id)
    assert seen == [(0, 3, 3), (3, 6, 6), (6, 7, 7)]
    assert (job.status, job.total, job.done, job.created, job.error_count) == ("done", 7, 7, 7, 0)
    assert approvals_per_file(mine) == dict.fromkeys(mine, 1)
    assert db.session.get(Application, early.id).state == "branch_scoring"
    assert count(MassActionOutcome, MassActionOutcome.job_id == job.id, MassActionOutcome.ok.is_(True)) == 7
    state = mass_actions.status(job, appraiser)
    assert {k: state[k] for k in ("status", "total", "done", "ok", "refused", "already_moved", "action")} == {
        "status": "done", "total": 7, "done": 7, "ok": 7, "refused": 0, "already_moved": 0, "action": "approve"}
    assert [o["id"] for o in state["outcomes"]] == sorted(mine)
    assert all(o["result"] == "moved" and o["to"] == "final_approval" for o in state["outcomes"])


def test_a_different_count_starts_nothing(world):
    bulk_at_appraisal(world, 4)
    with pytest.raises(Conflict) as refused:
        mass_actions.start(world.appraiser(0), "approve", filter=QueueFilter(), expected=5)
    assert refused.value.code == "mass_action_count_changed"
    assert refused.value.params == {"expected": 5, "actual": 4}
    assert "bạn xác nhận 5, nay là 4" in refused.value.message("vi")
    db.session.rollback()
    assert count(Job) == 0 and count(MassActionItem) == 0


def test_refusals_before_anything_starts(world):
    bulk_at_appraisal(world, 2)
    appraiser = world.appraiser(0)
    cases = [
        (dict(action="withdraw", filter=QueueFilter()), "mass_action_action"),
        (dict(action="approve"), "mass_action_selection"),
        (dict(action="approve", filter=QueueFilter(), ids=[1]), "mass_action_selection"),
        (dict(action="return", filter=QueueFilter()), "reason_required"),
        (dict(action="approve", filter=QueueFilter(q="không có ai")), "mass_action_empty"),
    ]
    for kw, code in cases:
        with pytest.raises(GuardRefused) as refused:
            mass_actions.start(appraiser, **kw)
        assert refused.value.code == code, kw
        db.session.rollback()
    with pytest.raises(GuardRefused) as refused:
        mass_actions.start(world.appraiser(1), "approve", filter=QueueFilter())  # commune 1 sees none of them
    assert refused.value.code == "mass_action_empty"
    db.session.rollback()
    from flask import current_app

    current_app.config["MASS_ACTION_MAX"] = 1
    try:
        with pytest.raises(GuardRefused) as refused:
            mass_actions.start(appraiser, "approve", filter=QueueFilter())
        assert refused.value.code == "mass_action_too_many" and refused.value.params == {"count": 2, "max": 1}
    finally:
        current_app.config.pop("MASS_ACTION_MAX")
    db.session.rollback()
    assert count(Job) == 0


def test_the_filter_narrows_as_the_queue_does(world):
    a = bulk_at_appraisal(world, 3)
    b = bulk_at_appraisal(world, 2)
    named = cdht_at(world, "commune_appraisal", full_name="Trần Thị Bích")
    appraiser = world.appraiser(0)
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(q="tran thi")) == 1
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(q=named.citizen_id[:9])) == 1
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(campaign=world.xht.id)) == 0
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(unit=world.branch(0, 0).id)) == 6
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(unit=world.branch(1, 0).id)) == 0
    assert mass_actions.count(appraiser, "approve", filter=QueueFilter(state="final_approval")) == 0
    assert mass_actions.count(appraiser, "approve", ids=a + b + a) == 5
    # the provincial approver acts at final approval only: none of these yet
    assert mass_actions.count(world.approver, "approve", filter=QueueFilter(state="all")) == 0


def test_another_communes_files_are_never_moved_and_the_job_is_its_owners(world):
    from workflow.errors import NotFound

    others = bulk_at_appraisal(world, 3, commune=1)
    job = started(world.appraiser(0), ids=others)
    assert job.total == 3  # the ids as given: each is reported
    jobs.run(job.id, chunk=2)
    job = fresh(job.id)
    assert (job.status, job.done, job.created, job.error_count) == ("done", 3, 0, 3)
    assert count(AuditEvent, AuditEvent.action == "approve") == 0
    rows = list(mass_actions.outcomes(job, world.appraiser(0)))
    assert [(r.name, r.snap_state, r.code, r.result) for r in rows] == [(None, None, "not_found", "refused")] * 3
    for outsider in (world.appraiser(1), world.approver, world.officer(0, 0)):
        with pytest.raises(NotFound) as hidden:
            mass_actions.visible(job.id, outsider)
        assert hidden.value.code == "mass_action_not_found"
    assert mass_actions.visible(job.id, world.appraiser(0)).id == job.id


def test_a_rerun_after_the_end_moves_nothing_again(world):
    ids = bulk_at_appraisal(world, 5)
    job = started(world.appraiser(0), filter=QueueFilter())
    jobs.run(job.id, chunk=2)
    events = count(AuditEvent)
    job = fresh(job.id)
    job.status, job.finished_at = "failed", job.finished_at  # even forced to run again, the body finds nothing
    db.session.commit()
    jobs.run(job.id, chunk=2)
    job = fresh(job.id)
    assert (job.status, job.done, job.created) == ("done", 5, 5)
    assert count(AuditEvent) == events
    assert count(MassActionOutcome) == 5
    assert approvals_per_file(ids) == dict.fromkeys(ids, 1)
    with pytest.raises(GuardRefused) as refused:  # the same filter again: the files have moved on
        mass_actions.start(world.appraiser(0), "approve", filter=QueueFilter())
    assert refused.value.code == "mass_action_empty"


def test_a_worker_killed_in_the_second_chunk_leaves_whole_chunks_and_resumes_once(world, monkeypatch):
    ids = bulk_at_appraisal(world, 8)
    job = started(world.appraiser(0), filter=QueueFilter(), expected=8)
    real = kill_second_chunk(monkeypatch)
    jobs.run(job.id, chunk=3)
    job = fresh(job.id)
    assert job.status == "failed" and "worker killed" in job.failure
    assert (job.done, job.created) == (3, 3)
    assert count(MassActionOutcome) == 3
    moved = db.session.scalars(select(Application.id).where(Application.state == "final_approval")).all()
    assert sorted(moved) == sorted(ids)[:3]  # the first chunk, whole; nothing of the second
    assert count(AuditEvent, AuditEvent.action == "approve") == 3
    assert jobs.resumable(job)
    monkeypatch.setattr(engine, "fire_batch", real)
    jobs.run(job.id, chunk=3)
    job = fresh(job.id)
    assert (job.status, job.total, job.done, job.created, job.error_count) == ("done", 8, 8, 8, 0)
    assert approvals_per_file(ids) == dict.fromkeys(ids, 1)
    assert count(MassActionOutcome) == 8
    with pytest.raises(GuardRefused) as refused:
        mass_actions.require_resumable(job)
    assert refused.value.code == "mass_action_not_resumable"


def test_files_someone_else_moved_meanwhile_are_reported_not_moved_twice(world):
    ids = sorted(bulk_at_appraisal(world, 6))
    appraiser = world.appraiser(0)
    job = started(appraiser, filter=QueueFilter(), expected=6)
    engine.fire(ids[1], "approve", appraiser)  # a colleague approved one by hand
    engine.fire(ids[4], "return", appraiser, reason="Thiếu biên bản")  # and returned another
    db.session.commit()
    jobs.run(job.id, chunk=4)
    job = fresh(job.id)
    assert (job.done, job.created, job.error_count, job.duplicates) == (6, 4, 2, 2)
    rows = {r.application_id: r for r in mass_actions.outcomes(job, appraiser)}
    assert {i for i, r in rows.items() if r.result == "already_moved"} == {ids[1], ids[4]}
    assert rows[ids[1]].code == "already_moved" and rows[ids[1]].from_state == "final_approval"
    assert rows[ids[4]].from_state == "branch_scoring"
    assert approvals_per_file(ids) == dict.fromkeys(ids[:4] + ids[5:], 1)
    assert db.session.get(Application, ids[4]).state == "branch_scoring"  # not approved from where it went
    text = mass_actions.message(rows[ids[1]].code, rows[ids[1]].params, "vi")
    assert text.startswith("Hồ sơ đã được xử lý trước khi đến lượt") and "final_approval" in text
    labelled = mass_actions.message("already_moved", {"state": "final_approval"}, "vi", label=lambda s: "Chờ duyệt")
    assert "«Chờ duyệt»" in labelled


def test_refusals_by_the_engine_are_recorded_with_their_code(world):
    good = bulk_at_appraisal(world, 2)
    low = bulk_at_appraisal(world, 1, total=70)
    job = started(world.appraiser(0), filter=QueueFilter())
    jobs.run(job.id)
    job = fresh(job.id)
    assert (job.total, job.created, job.error_count, job.duplicates) == (3, 2, 1, 0)
    rows = {r.application_id: r for r in mass_actions.outcomes(job, world.appraiser(0))}
    assert rows[low[0]].code == "total_below_pass" and rows[low[0]].result == "refused"
    assert mass_actions.message(rows[low[0]].code, rows[low[0]].params, "en").startswith("Total 70")
    assert all(rows[i].result == "moved" for i in good)


def test_starting_the_same_selection_twice_answers_the_same_job(world):
    bulk_at_appraisal(world, 2)
    first, new = mass_actions.start(world.appraiser(0), "approve", filter=QueueFilter())
    db.session.commit()
    again, new_again = mass_actions.start(world.appraiser(0), "approve", filter=QueueFilter())
    assert new and not new_again and again.id == first.id
    other, other_new = mass_actions.start(world.appraiser(0), "reject", filter=QueueFilter(), reason="Không đạt")
    assert other_new and other.id != first.id


def test_the_outcome_rows_of_a_job_reject_what_the_checks_forbid(world):
    """CHECK constraints: an ok outcome has its new state and audit event; a refusal has its code, no new state;
    one outcome per file of the set, and only for a file of the set."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    ids = bulk_at_appraisal(world, 1)
    job = started(world.appraiser(0), ids=ids)
    base = {"job_id": job.id, "application_id": ids[0], "error_params": {}, "acted_at": job.created_at}
    for bad in ({"ok": True, "to_state": None, "event_id": 1}, {"ok": True, "to_state": "final_approval"},
                {"ok": False, "error_code": None}, {"ok": False, "error_code": "x", "to_state": "recognised"},
                {"ok": False, "error_code": "total_below_pass", "already_moved": True}):
        with pytest.raises(IntegrityError):
            db.session.execute(insert(MassActionOutcome.__table__), [{**base, **bad}])
        db.session.rollback()
    good = {**base, "ok": False, "error_code": "not_found"}
    db.session.execute(insert(MassActionOutcome.__table__), [good])
    with pytest.raises(IntegrityError):  # one outcome per file of the set: a chunk run twice cannot record twice
        db.session.execute(insert(MassActionOutcome.__table__), [good])
    db.session.rollback()
    with pytest.raises(IntegrityError):  # an outcome belongs to a file of the job's set
        db.session.execute(insert(MassActionOutcome.__table__), [{**good, "application_id": ids[0] + 1}])
    db.session.rollback()

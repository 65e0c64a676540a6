"""The summary of files per (unit, campaign, state) (workflow/summary.py, triggers of migration 0011) always equals
a recount of the applications: after creation, single actions, batches, imports, a hand-written UPDATE, re-homing
(tests/test_mergers.py checks it after a real re-homing too), deletion and rollbacks; folding changes no figure;
and `summary.count` equals the count of the very list the queue shows, filter by filter."""
from __future__ import annotations

from sqlalchemy import func, select, text, update

from workflow import engine, summary
from workflow.db import db
from workflow.models import Application, StateCount, StateCountDelta
from workflow.queries import applications

from .factories import bulk_at_appraisal, cdht_at
from .test_imports_files import person, run, start, xlsx


def mismatches() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(summary.recount()).all()]


def listed(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def pending() -> int:
    return db.session.scalar(select(func.count()).select_from(StateCountDelta))


def test_single_actions_batches_and_creation_keep_the_summary_exact(world):
    assert mismatches() == []
    app = cdht_at(world, "commune_appraisal")
    db.session.commit()
    assert mismatches() == []
    ids = bulk_at_appraisal(world, 30) + bulk_at_appraisal(world, 5, commune=1)
    db.session.commit()
    assert mismatches() == []
    engine.fire(app, "approve", world.appraiser())
    db.session.commit()
    outcomes = engine.fire_batch(ids, "approve", world.appraiser())
    db.session.commit()
    assert sum(o.ok for o in outcomes) == 30  # the other commune's five are not this appraiser's
    assert mismatches() == []
    assert summary.count(world.approver, state="final_approval", campaign_id=world.cdht.id) == 31


def test_a_rollback_takes_its_deltas_with_it(world):
    ids = bulk_at_appraisal(world, 12)
    db.session.commit()
    before = pending()
    engine.fire_batch(ids, "approve", world.appraiser())
    db.session.rollback()
    assert pending() == before and mismatches() == []
    assert summary.count(world.appraiser(), state="commune_appraisal") == 12


def test_any_writer_is_counted_update_delete_and_imports(world):
    ids = bulk_at_appraisal(world, 8)
    db.session.commit()
    db.session.execute(update(Application).where(Application.id.in_(ids[:3])).values(unit_id=world.branch(0, 1).id))
    db.session.execute(text("UPDATE applications SET state = 'final_approval' WHERE id = :i"), {"i": ids[3]})
    db.session.execute(update(Application).where(Application.id == ids[4]).values(score_total=50))  # no key moves
    db.session.commit()
    assert mismatches() == []
    db.session.execute(text("DELETE FROM applications WHERE id = :i"), {"i": ids[5]})
    db.session.commit()
    assert mismatches() == []
    job = run(start(world, xlsx([person(i) for i in range(1, 26)])))
    assert job.created == 25
    assert mismatches() == []
    assert summary.count(world.officer(0, 0), state="evidence_collection", unit_id=world.branch(0, 0).id) == 25


def test_fold_moves_deltas_and_changes_no_figure(world):
    bulk_at_appraisal(world, 20)
    cdht_at(world, "branch_scoring")
    db.session.commit()
    assert pending() > 0
    before = {s: summary.count(world.approver, state=s) for s in ("commune_appraisal", "branch_scoring")}
    assert summary.fold() == 0  # few pending: a read does not fold
    assert summary.fold(force=True) > 0
    assert pending() == 0 and mismatches() == []
    assert db.session.scalar(select(func.sum(StateCount.n))) == 21
    assert {s: summary.count(world.approver, state=s) for s in before} == before == {
        "commune_appraisal": 20, "branch_scoring": 1}
    summary.fold(force=True)  # nothing pending: nothing changes
    assert mismatches() == []


def test_a_read_folds_when_many_deltas_are_pending(world, monkeypatch):
    monkeypatch.setattr(summary, "FOLD_AT", 10)
    for _ in range(15):  # one statement each: one delta each on PostgreSQL too (its triggers sum per statement)
        bulk_at_appraisal(world, 1)
    db.session.commit()
    assert pending() > 10
    assert summary.count(world.appraiser(), state="commune_appraisal") == 15
    assert pending() == 0 and mismatches() == []


def test_rebuild_recounts_from_the_applications(world):
    bulk_at_appraisal(world, 6)
    db.session.commit()
    db.session.execute(StateCount.__table__.insert().values(unit_id=world.branch(0).id, campaign_id=world.cdht.id,
                                                            state="recognised", n=99))
    db.session.commit()
    assert mismatches() != []
    summary.rebuild()
    db.session.commit()
    assert mismatches() == [] and pending() == 0


def test_count_equals_the_list_for_every_filter(world):
    bulk_at_appraisal(world, 9)
    bulk_at_appraisal(world, 4, commune=1)
    cdht_at(world, "branch_scoring")
    cdht_at(world, "evidence_collection", commune=1)
    db.session.commit()
    branch = world.branch(0).id
    for user in (world.appraiser(), world.appraiser(1), world.approver, world.officer(0), world.auditor):
        for filters in ({}, {"state": "commune_appraisal"}, {"unit_id": branch}, {"campaign_id": world.cdht.id},
                        {"campaign_id": world.xht.id}, {"states": ("branch_scoring", "evidence_collection")},
                        {"unit_id": world.communes[1].id, "state": "evidence_collection"}):
            assert summary.count(user, **filters) == listed(applications(user, **filters)), (user.username, filters)
    pairs = [(world.cdht.id, ("commune_appraisal",)), (world.xht.id, ("commune_appraisal",))]
    assert summary.count(world.approver, pairs=pairs) == 13
    assert summary.count(world.approver, pairs=[]) == 0


def test_by_campaign_state_sums_a_subtree(world):
    bulk_at_appraisal(world, 3)
    bulk_at_appraisal(world, 2, commune=1)
    db.session.commit()
    assert summary.by_campaign_state(world.communes[0].path, [world.cdht.id]) == {
        (world.cdht.id, "commune_appraisal"): 3}
    province = world.province.path
    assert summary.by_campaign_state(province, [world.cdht.id]) == {(world.cdht.id, "commune_appraisal"): 5}
    assert summary.by_campaign_state(province, []) == {}


def test_the_cli_checks_and_rebuilds(world, runner):
    bulk_at_appraisal(world, 4)
    db.session.commit()
    result = runner.invoke(args=["summary", "check"])
    assert result.exit_code == 0 and "summary OK" in result.output
    db.session.execute(text("DELETE FROM state_counts"))
    db.session.execute(text("DELETE FROM state_count_deltas"))
    db.session.commit()
    result = runner.invoke(args=["summary", "check"])
    assert result.exit_code == 1 and "summary 0, applications 4" in result.output
    result = runner.invoke(args=["summary", "rebuild"])
    assert result.exit_code == 0 and "1 keys" in result.output
    assert runner.invoke(args=["summary", "check"]).exit_code == 0

"""The campaign's flow (workflow/reports/flow.py, issue 11): every figure equals the count of the list behind it
(the clause `workflow.reports.list_clause` gives the queue, applied to the queue's own query), on SQLite and
PostgreSQL; the files per stage and outcome (transition_counts, triggers of migration 0018) equal a count from
the audit trail after single actions, batches, a mass action job, imports, a re-homing and a rollback; a file
returned twice at a stage counts once; lateness follows the deadlines through time; weekly progress adds up."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text, update

from workflow import clock, engine, jobs, mass_actions, queries, summary
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.definitions import definition
from workflow.mass_actions import QueueFilter
from workflow.models import Application, TransitionCount, TransitionCountDelta
from workflow.reports import flow, list_clause
from workflow.reports import transitions as tc

from .factories import PASSWORD, bulk_at_appraisal, cdht_at
from .test_imports_files import person, run, start, xlsx
from .test_mergers import merged, rehome  # noqa: F401  (the re-homing fixture and its command)

pytest_plugins = ["tests.notif_fixtures"]  # notif_app: the app on a Redis of the test's own (the worker's tick)
REASON = "Thiếu minh chứng"


def listed(actor, figure) -> int:
    """How many rows the queue's list behind the figure holds: the queue's query (the actor's units, the unit's
    subtree) narrowed by the list's clause."""
    clause = list_clause(figure.list_name, {k: str(v) for k, v in figure.list_args.items()})
    stmt = queries.applications(actor, unit_id=figure.unit_id).where(clause)
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def mismatches() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(tc.recount()).all()]


def rates(actor, unit, campaign) -> dict[str, dict]:
    return {r["stage"]: r for r in flow.stage_rates(actor, unit, campaign)}


def assert_rates_match_lists(actor, unit, campaign) -> dict[str, dict]:
    got = rates(actor, unit, campaign)
    for row in got.values():
        for outcome in tc.OUTCOMES:
            f = row[outcome]
            assert f.numerator == listed(actor, f), (row["stage"], outcome)
    return got


def returned_twice_then_passed(world) -> Application:
    app = cdht_at(world, "commune_appraisal")
    appraiser, officer = world.appraiser(), world.officer()
    for _ in range(2):
        engine.fire(app, "return", appraiser, reason=REASON)
        engine.fire(app, "submit", officer)
    engine.fire(app, "approve", appraiser)
    db.session.commit()
    return app


def test_a_file_returned_twice_counts_once_and_rates_equal_their_lists(world):
    returned_twice_then_passed(world)
    rejected = cdht_at(world, "commune_appraisal")
    engine.fire(rejected, "reject", world.appraiser(), reason=REASON)
    cdht_at(world, "branch_scoring", commune=1)
    db.session.commit()
    assert mismatches() == []
    got = assert_rates_match_lists(world.approver, world.province, world.cdht)
    appraisal = got["commune_appraisal"]
    assert [appraisal[o].numerator for o in tc.OUTCOMES] == [2, 1, 1, 1]  # reached, passed, returned, rejected
    assert (appraisal["pass_rate"], appraisal["return_rate"], appraisal["reject_rate"]) == (50.0, 50.0, 50.0)
    scoring = got["branch_scoring"]
    assert (scoring["reached"].numerator, scoring["passed"].numerator) == (3, 2)  # the twice-returned file: once
    assert got["final_approval"]["reached"].numerator == 1 and got["final_approval"]["pass_rate"] == 0.0
    assert list(got) == list(definition("CDHT").stages)
    # a commune's appraiser sees their own commune only; the other commune's officer's file is not theirs
    mine = assert_rates_match_lists(world.appraiser(1), world.communes[1], world.cdht)
    assert mine["branch_scoring"]["reached"].numerator == 1 and mine["commune_appraisal"]["reached"].numerator == 0
    # the rows stay exact after folding, and the figures do not move
    assert tc.fold(force=True) > 0
    assert db.session.scalar(select(func.count()).select_from(TransitionCountDelta)) == 0
    assert mismatches() == [] and rates(world.approver, world.province, world.cdht)["commune_appraisal"][
        "returned"].numerator == 1


def test_batches_a_mass_action_job_and_a_rollback_keep_the_counts_exact(world):
    ids = bulk_at_appraisal(world, 12)
    appraiser = world.appraiser()
    outcomes = engine.fire_batch(ids[:4], "return", appraiser, reason=REASON)
    assert all(o.ok for o in outcomes)
    db.session.commit()
    engine.fire_batch(ids[4:8], "approve", appraiser)
    assert db.session.scalar(select(func.count()).select_from(TransitionCountDelta)) > 0
    db.session.rollback()  # the batch's events, and their deltas, go with the transaction
    assert mismatches() == []
    assert rates(world.approver, world.province, world.cdht)["commune_appraisal"]["passed"].numerator == 0
    job, new = mass_actions.start(appraiser, "approve", filter=QueueFilter(), expected=8)
    assert new
    db.session.commit()
    jobs.run(job.id, chunk=5)
    db.session.expire_all()
    assert mismatches() == []
    got = assert_rates_match_lists(world.approver, world.province, world.cdht)["commune_appraisal"]
    assert (got["passed"].numerator, got["returned"].numerator) == (8, 4)
    for _ in range(2):  # returned twice at final approval, approved twice at commune appraisal: once each
        assert all(o.ok for o in engine.fire_batch(ids[4:7], "return", world.approver, reason=REASON))
        assert all(o.ok for o in engine.fire_batch(ids[4:7], "approve", appraiser))
        db.session.commit()
    got = assert_rates_match_lists(world.approver, world.province, world.cdht)
    assert (got["commune_appraisal"]["passed"].numerator, got["commune_appraisal"]["reached"].numerator) == (8, 3)
    assert got["final_approval"]["returned"].numerator == 3
    assert mismatches() == []


def test_an_import_counts_its_files_as_reaching_the_first_stage(world):
    """An import writes its files and their creation events in one statement (PostgreSQL: one CTE), so the
    trigger sees both; the other commune's officer imports nothing of theirs."""
    job = run(start(world, xlsx([person(i) for i in range(1, 16)])))
    assert job.created == 15
    assert mismatches() == []
    got = assert_rates_match_lists(world.approver, world.province, world.cdht)
    assert got["evidence_collection"]["reached"].numerator == 15
    assert rates(world.appraiser(1), world.communes[1], world.cdht)["evidence_collection"]["reached"].numerator == 0


def test_a_rehomed_file_counts_under_its_new_unit(world):
    app = returned_twice_then_passed(world)
    other = world.branch(1, 1)
    db.session.execute(update(Application).where(Application.id == app.id).values(unit_id=other.id))
    db.session.commit()
    assert mismatches() == []
    theirs = assert_rates_match_lists(world.appraiser(1), world.communes[1], world.cdht)
    assert theirs["commune_appraisal"]["returned"].numerator == 1
    old = assert_rates_match_lists(world.appraiser(0), world.communes[0], world.cdht)
    assert all(old[s][o].numerator == 0 for s in old for o in tc.OUTCOMES)
    tc.fold(force=True)  # the old unit's rows fold to zero, never below
    assert db.session.scalar(select(func.min(TransitionCount.n))) == 0 and mismatches() == []
    assert not db.session.scalar(select(func.sum(TransitionCount.n)).where(
        TransitionCount.unit_id == world.branch(0).id))


def test_the_real_rehoming_moves_the_counts(merged, runner):  # noqa: F811
    w, _twin, _branch, files, new = merged
    assert mismatches() == []
    rehome(runner)
    assert mismatches() == []
    successor = new["Xã Đông Yên"]
    xht = rates(w.auditor, successor, w.xht)
    assert xht["evidence_collection"]["reached"].numerator == 1  # the commune's own XHT file moved with it
    assert xht["evidence_collection"]["reached"].numerator == listed(w.auditor, xht["evidence_collection"]["reached"])
    cdht = assert_rates_match_lists(w.auditor, successor, w.cdht)
    assert cdht["final_approval"]["passed"].numerator == 1  # the recognised file, under its branch, now there


def test_the_funnel_equals_the_per_state_counts_and_its_lists(world):
    cdht_at(world, "recognised")
    cdht_at(world, "final_approval")
    cdht_at(world, "branch_scoring", commune=1)
    withdrawn = cdht_at(world, "evidence_collection")
    engine.fire(withdrawn, "withdraw", world.officer(), reason="Chuyển nơi cư trú")
    bulk_at_appraisal(world, 5)
    db.session.commit()
    figures = flow.funnel(world.approver, world.province, world.cdht)
    assert [f.list_args["in_state"] for f in figures] == list(definition("CDHT").states)
    actual = dict(db.session.execute(select(Application.state, func.count()).where(
        Application.campaign_id == world.cdht.id).group_by(Application.state)).all())
    assert {f.list_args["in_state"]: f.numerator for f in figures} == {
        s: actual.get(s, 0) for s in definition("CDHT").states}
    assert all(f.numerator == listed(world.approver, f) for f in figures)
    commune = flow.funnel(world.appraiser(1), world.communes[1], world.cdht)
    assert sum(f.numerator for f in commune) == 1 and all(f.numerator == listed(world.appraiser(1), f)
                                                            for f in commune)


def test_lateness_across_the_deadlines(world, time_machine):
    today = clock.today()
    campaign = world.cdht
    campaign.submit_deadline, campaign.scoring_deadline = today + timedelta(3), today + timedelta(10)
    campaign.appraisal_deadline, campaign.decision_deadline = today + timedelta(20), today + timedelta(30)
    db.session.commit()
    collecting = cdht_at(world, "evidence_collection")
    cdht_at(world, "branch_scoring")
    cdht_at(world, "commune_appraisal")
    waiting = cdht_at(world, "final_approval")
    on_time = cdht_at(world, "final_approval")

    def late(on: date) -> dict[str, int]:
        figures = flow.lateness(world.approver, world.province, campaign, on)
        for f in figures:
            assert f.numerator == listed(world.approver, f), f.list_args
        every = list_clause("late", {"campaign": str(campaign.id), "on": on.isoformat()})
        stmt = queries.applications(world.approver, unit_id=world.province.id).where(every)
        assert sum(f.numerator for f in figures) == db.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery()))
        return {f.list_args["stage"]: f.numerator for f in figures if f.numerator}

    assert late(today) == {}
    assert late(today + timedelta(3)) == {}  # the deadline day itself is on time
    assert late(today + timedelta(4)) == {"evidence_collection": 1}
    engine.fire(on_time, "approve", world.approver)  # recognised before the decision deadline
    db.session.commit()
    time_machine.move_to(f"{today + timedelta(31)} 10:00:00+07:00", tick=False)
    assert late(clock.today()) == {"evidence_collection": 1, "branch_scoring": 1, "commune_appraisal": 1,
                                   "final_approval": 1}
    engine.fire(waiting, "approve", world.approver)  # recognised a day after the decision deadline
    engine.fire(collecting, "withdraw", world.officer(), reason="Chuyển nơi cư trú")
    db.session.commit()
    assert late(clock.today()) == {"branch_scoring": 1, "commune_appraisal": 1, "recognised": 1}
    assert late(clock.today() - timedelta(1)) == {"branch_scoring": 1, "commune_appraisal": 1}


def test_weekly_progress_is_cumulative_and_each_point_equals_its_list(world, time_machine):
    campaign = world.cdht
    monday = date(2026, 11, 2)  # a Monday
    campaign.opens_on = monday + timedelta(2)  # a Wednesday: the weeks start on the Monday before
    db.session.commit()
    time_machine.move_to(f"{monday + timedelta(3)} 09:00:00+07:00", tick=False)
    cdht_at(world, "recognised")
    cdht_at(world, "evidence_collection")
    time_machine.move_to(f"{monday + timedelta(7)} 00:30:00+07:00", tick=False)  # Monday of week 2, Vietnam time
    cdht_at(world, "commune_appraisal", commune=1)
    time_machine.move_to(f"{monday + timedelta(20)} 23:30:00+07:00", tick=False)  # Sunday of week 3
    cdht_at(world, "recognised", commune=1)
    revoked = cdht_at(world, "recognised")
    engine.fire(revoked, "revoke", world.approver, reason="Khai sai")  # no longer counts as recognised
    db.session.commit()
    weeks = flow.weekly_progress(world.approver, world.province, campaign)
    assert [w["week"] for w in weeks] == [monday, monday + timedelta(7), monday + timedelta(14)]
    assert [(w["nominated"], w["recognised"]) for w in weeks] == [(2, 1), (3, 1), (5, 2)]
    for w in weeks:
        for key in ("nominated", "recognised"):
            f = w[f"{key}_figure"]
            assert f.numerator == w[key] == listed(world.approver, f)
    commune = flow.weekly_progress(world.appraiser(1), world.communes[1], campaign)
    assert [(w["nominated"], w["recognised"]) for w in commune] == [(0, 0), (1, 0), (2, 1)]


@pytest.mark.parametrize("name,params,field", [
    ("stage", {"campaign": "", "stage": "commune_appraisal", "outcome": "passed"}, "campaign"),
    ("stage", {"campaign": "x1", "stage": "commune_appraisal", "outcome": "passed"}, "campaign"),
    ("stage", {"campaign": "999999", "stage": "commune_appraisal", "outcome": "passed"}, "campaign"),
    ("stage", {"stage": "self_assessment", "outcome": "passed"}, "stage"),  # an XHT stage, not CDHT's
    ("stage", {"stage": "recognised", "outcome": "passed"}, "stage"),
    ("stage", {"stage": "commune_appraisal", "outcome": "lost"}, "outcome"),
    ("late", {"on": "02/12/2026"}, "on"),
    ("late", {"on": "2026-13-01"}, "on"),
    ("late", {"on": "2026-12-02", "stage": "withdrawn"}, "stage"),
    ("funnel", {"in_state": "nowhere"}, "in_state"),
    ("nominated", {"until": ""}, "until"),
])
def test_bad_list_parameters_are_refused(world, name, params, field):
    params = {"campaign": str(world.cdht.id), **params}
    with pytest.raises(InvalidInput) as refused:
        list_clause(name, params)
    assert list(refused.value.fields) == [field]


def test_summary_check_covers_the_transition_counts(world, runner):
    returned_twice_then_passed(world)
    result = runner.invoke(args=["summary", "check"])
    assert result.exit_code == 0 and "summary OK" in result.output
    db.session.execute(text("INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n) "
                            "VALUES (:u, :c, 'commune_appraisal', 'returned', 1)"),
                       {"u": world.branch().id, "c": world.cdht.id})
    db.session.commit()
    result = runner.invoke(args=["summary", "check"])
    assert result.exit_code == 1 and "commune_appraisal returned: transition summary 2, audit trail 1" in result.output
    result = runner.invoke(args=["summary", "rebuild"])
    assert result.exit_code == 0 and "transition summary rebuilt" in result.output
    assert mismatches() == [] and summary.recount() is not None


def test_the_workers_tick_folds_the_deltas(notif_app, world):
    from notifications import jobs as worker_jobs

    returned_twice_then_passed(world)
    before = rates(world.approver, world.province, world.cdht)
    assert db.session.scalar(select(func.count()).select_from(TransitionCountDelta)) > 0
    done = worker_jobs.tick()
    assert done["folded_transitions"] > 0
    assert db.session.scalar(select(func.count()).select_from(TransitionCountDelta)) == 0
    after = rates(world.approver, world.province, world.cdht)
    assert [[r[o].numerator for o in tc.OUTCOMES] for r in after.values()] == [
        [r[o].numerator for o in tc.OUTCOMES] for r in before.values()]
    assert mismatches() == []


def test_every_flow_figure_links_to_a_queue_page_of_exactly_its_files(world, client):
    """Through the work queue itself (`/applications?list=...&unit=...`, web/views/report_lists.py): the page
    shows the figure's files, no more, and counts them as the figure does."""
    returned_twice_then_passed(world)
    rejected = cdht_at(world, "commune_appraisal")
    engine.fire(rejected, "reject", world.appraiser(), reason=REASON)
    cdht_at(world, "recognised", commune=1)
    cdht_at(world, "branch_scoring", commune=1)
    db.session.commit()
    me, unit, campaign = world.approver, world.province, world.cdht
    figures = [f for r in flow.stage_rates(me, unit, campaign) for f in (r[o] for o in tc.OUTCOMES)]
    figures += flow.funnel(me, unit, campaign) + flow.lateness(me, unit, campaign, clock.today() + timedelta(800))
    figures += [w[k] for w in flow.weekly_progress(me, unit, campaign) for k in ("nominated_figure",
                                                                                 "recognised_figure")]
    assert client.post("/login", data={"username": me.username, "password": PASSWORD}).status_code == 302
    nonzero = 0
    for f in figures:
        clause = list_clause(f.list_name, {k: str(v) for k, v in f.list_args.items()})
        expected = set(db.session.scalars(queries.applications(me, unit_id=f.unit_id).where(clause)
                                          .with_only_columns(Application.id)))
        response = client.get("/applications", query_string={"list": f.list_name, "unit": f.unit_id,
                                                              "per_page": 200, **f.list_args})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (f.list_name, f.list_args)
        shown = {int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)}
        assert shown == expected and len(shown) == f.numerator, (f.indicator, f.list_args)
        assert 'id="report-list"' in html
        nonzero += bool(f.numerator)
    assert nonzero >= 10
    bad = client.get("/applications", query_string={"list": "stage", "campaign": campaign.id,
                                                    "stage": "commune_appraisal", "outcome": "lost"})
    assert bad.status_code == 400

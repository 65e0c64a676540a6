"""EXPLAIN the campaign flow's queries (workflow/reports/flow.py, issue 11) against the 200,000-file schema of
tests/test_explain.py, and fail on a sequential scan of applications or audit_events. PostgreSQL only.

The funnel and the per-stage late counts read the per-state summary, the rates read transition_counts; what reads
applications is the weekly progress (ix_applications_campaign_unit_created and ..._recognised, index-only) and the
count of files recognised after the decision deadline (..._recognised). Each is run for real, as a provincial
approver, a commune's appraiser and an auditor would, and every statement it sent is EXPLAINed."""
from __future__ import annotations

from datetime import date

import pytest

from workflow.db import db
from workflow.models import Campaign, Unit
from workflow.reports import flow

from .test_explain import (  # noqa: F401  (scale: the module fixture)
    APPRAISER,
    APPROVER,
    AUDITOR,
    PG,
    assert_plans_clean,
    run_captured,
    scale,
)

pytestmark = [pytest.mark.skipif(not PG, reason="EXPLAIN plans are PostgreSQL's: set DATABASE_URL=postgresql://..."),
              pytest.mark.usefixtures("scale")]

WHO = [(APPROVER, 1), (AUDITOR, 1), (APPRAISER, 7)]  # (actor, the unit the page is about)


def _on(fn, who, unit_id: int):
    def call():
        campaign, unit = db.session.get(Campaign, 1), db.session.get(Unit, unit_id)
        return fn(who, unit, campaign)
    return call


@pytest.mark.parametrize("who,unit_id", WHO, ids=["province", "auditor", "commune"])
def test_weekly_progress(who, unit_id):
    weeks, sent = run_captured(lambda: [(w["week"], w["nominated"], w["recognised"])
                                        for w in _on(flow.weekly_progress, who, unit_id)()])
    assert_plans_clean(sent)
    assert weeks and weeks[-1][1] > 0 and weeks[-1][1] >= weeks[0][1]


@pytest.mark.parametrize("who,unit_id", WHO, ids=["province", "auditor", "commune"])
def test_lateness_funnel_and_rates(who, unit_id):
    def figures():
        out = [f.numerator for f in _on(lambda a, u, c: flow.lateness(a, u, c, date(2027, 1, 15)), who, unit_id)()]
        out += [f.numerator for f in _on(flow.funnel, who, unit_id)()]
        out += [r["passed"].numerator for r in _on(flow.stage_rates, who, unit_id)()]
        return out

    numbers, sent = run_captured(figures)
    assert_plans_clean(sent)
    assert len(numbers) == 5 + 8 + 4


LISTS = [
    ("stage", {"stage": "branch_scoring", "outcome": "passed"}),
    ("stage", {"stage": "evidence_collection", "outcome": "rejected"}),
    ("late", {"on": "2027-01-15"}),
    ("late", {"on": "2027-01-15", "stage": "recognised"}),
    ("funnel", {"in_state": "commune_appraisal"}),
    ("nominated", {"until": "2026-06-30"}),
    ("recognised_by", {"until": "2026-12-31"}),
]


@pytest.mark.parametrize("who,unit_id", WHO, ids=["province", "auditor", "commune"])
@pytest.mark.parametrize("name,params", LISTS, ids=[f"{n}:{','.join(p.values())}" for n, p in LISTS])
def test_the_queue_of_a_flow_list(who, unit_id, name, params):
    """The queue showing a figure's list: the first page along the key and the list's exact count."""

    from workflow import queries
    from workflow.models import Application
    from workflow.reports import list_clause

    def page():
        stmt = queries.applications(who, unit_id=unit_id).where(list_clause(name, {"campaign": "1", **params}))
        got = queries.keyset_page(stmt, Application.id, per_page=25, total=1)
        from web.views.report_lists import capped_list_count

        return [a.id for a in got.items], capped_list_count(stmt)[0]  # counted as the queue counts it

    (_ids, _count), sent = run_captured(page)
    assert_plans_clean(sent)

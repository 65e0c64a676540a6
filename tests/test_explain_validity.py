"""EXPLAIN the validity pages' queries (issue 12, part G) against the 200,000-file schema of tests/test_explain.py,
failing on a sequential scan of applications or audit_events. PostgreSQL only.

The schema's recognised files were recognised "now" in a CDHT campaign (one year in force), so the expiry list of
next year holds them all (a province's, a commune's); the decisions' list of a commune officer asks, per decision,
whether one of its files lies in the officer's units (the EXISTS of workflow.decisions.visible_clause)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import clock, validity
from workflow import decisions as ops
from workflow.db import db
from workflow.models import Decision

from .test_explain import (  # noqa: F401  (scale: the module fixture)
    APPRAISER,
    APPROVER,
    PG,
    assert_plans_clean,
    run_captured,
    scale,
)

pytestmark = pytest.mark.skipif(not PG, reason="EXPLAIN plans are PostgreSQL's: set DATABASE_URL=postgresql://...")


@pytest.mark.parametrize("who", [APPROVER, APPRAISER], ids=["province", "commune"])
def test_the_expiry_list_reads_indexes(scale, who):  # noqa: F811
    year = clock.today().year + 1

    def page():
        stmt = validity.expiring_query(who, "CDHT", year)
        total = ops.count(stmt)
        ids = [a.id for a in db.session.scalars(stmt.limit(100))]
        return total, ids

    (total, ids), sent = run_captured(page)
    assert total > 0 and ids
    assert_plans_clean(sent)


def test_a_commune_officers_decision_list_reads_indexes(scale):  # noqa: F811
    def listing():
        return db.session.scalar(select(func.count()).select_from(
            select(Decision.id).where(ops.visible_clause(APPRAISER)).subquery()))

    n, sent = run_captured(listing)
    assert n == 0
    assert_plans_clean(sent)

"""EXPLAIN the holders' queries (workflow/reports/indicators.py, issue 11) against the 200,000-file schema of
tests/test_explain.py, and fail on a sequential scan of applications or audit_events (or scores). PostgreSQL only.

The schema's province has a CDHT campaign for 2026 (nine files in ten) and one for 2025, both within the window of
a count on 02/12/2026, so the "no later recognition of the same person" test is in the plans; a module fixture
adds the scores of every recognised file (ten criteria each, the ICT one among them) for digital skills. Each
figure is computed for real, as the provincial approver, a commune's appraiser and an auditor would, and every
statement it sent is EXPLAINed; then the queue's list behind the figure, paged and counted."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from workflow import queries
from workflow.db import db
from workflow.models import Application, Unit
from workflow.reports import indicators, list_clause

from .factories import owner_engine
from .test_explain import (  # noqa: F401  (scale: the module fixture)
    APPRAISER,
    APPROVER,
    AUDITOR,
    PG,
    SCHEMA,
    assert_plans_clean,
    run_captured,
    scale,
)

pytestmark = pytest.mark.skipif(not PG, reason="EXPLAIN plans are PostgreSQL's: set DATABASE_URL=postgresql://...")

TABLES = ("applications", "audit_events", "scores")
WHO = [(APPROVER, 1), (AUDITOR, 1), (APPRAISER, 7), (APPROVER, 105)]  # (actor, unit): province, commune, branch
IDS = ["province", "auditor", "commune", "branch"]


@pytest.fixture(scope="module")
def scored(scale, app):  # noqa: F811  (the fixture imported above)
    """Ten scores per recognised file (criteria 1.1 .. 3.2; the ICT one, 2.1, from 0 to 10), then ANALYZE."""
    codes = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]
    with app.app_context(), owner_engine().begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL search_path TO {SCHEMA}, public")
        conn.execute(text("""INSERT INTO scores (id, application_id, criterion_code, value, scored_at)
                             SELECT row_number() OVER (), a.id, c.code, (a.id + c.n) % 11, now()
                             FROM applications a, unnest(CAST(:codes AS text[])) WITH ORDINALITY AS c(code, n)
                             WHERE a.state = 'recognised'"""), {"codes": codes})
    with app.app_context(), owner_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {SCHEMA}.scores")
        db.session.remove()
    yield


def _figures(fn, who, unit_id: int):
    def call():
        own, kids = fn(who, db.session.get(Unit, unit_id), 2026)
        return own.numerator, own.denominator, [(k.unit_id, k.numerator) for k in kids], own.list_name, \
            own.list_args
    return call


@pytest.mark.parametrize("who,unit_id", WHO, ids=IDS)
@pytest.mark.parametrize("fn", [indicators.coverage, indicators.digital_skills, indicators.xht_share],
                         ids=["coverage", "digital", "xht"])
def test_figures_read_indexes(scored, fn, who, unit_id):
    (n, den, kids, name, args), sent = run_captured(_figures(fn, who, unit_id))
    assert_plans_clean(sent, TABLES)
    if fn is indicators.coverage and unit_id == 1:
        assert n > 20_000 and len(kids) == 99  # 15% of the province's 2026 and 2025 files are recognised
    if fn is indicators.digital_skills and unit_id == 1:
        assert den > 20_000 and 0 < n < den
    if fn is not indicators.xht_share:
        assert n == sum(k for _u, k in kids)
        # the list behind the figure: its first two pages and its exact count, as the queue reads them
        def page(**cursor):
            stmt = queries.applications(who, unit_id=unit_id).where(list_clause(name, args))
            got = queries.keyset_page(stmt, Application.id, per_page=25, total=1, **cursor)
            return got.older, [a.id for a in got.items]

        from .test_explain import two_pages_clean

        two_pages_clean(page)

        def count():
            from web.views.report_lists import capped_list_count

            return capped_list_count(queries.applications(who, unit_id=unit_id).where(list_clause(name, args)))[0]

        counted, sent = run_captured(count)
        assert_plans_clean(sent, TABLES)
        assert counted == min(n, queries.SEARCH_CAP)  # the queue counts a list up to the cap


def test_coverage_by_year_reads_indexes(scored):
    figs, sent = run_captured(lambda: [f.numerator for f in indicators.coverage_by_year(
        APPROVER, db.session.get(Unit, 1), [2024, 2025, 2026])])
    assert_plans_clean(sent, TABLES)
    assert figs[0] == 0 and figs[2] > 20_000

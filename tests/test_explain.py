"""EXPLAIN every list query of the auditor's and citizens' pages against tables of realistic size, and fail on a
sequential scan of applications or audit_events (issue 10, section 2). PostgreSQL only.

The data: a module fixture builds a schema of its own, `explain_scale`, holding a copy of every table's columns and
constraints (CREATE TABLE ... LIKE public.<table>) but none of the app's rows, loads it set-wise with 200,000
applications over a province of 99 communes and 990 branches (plus a second province of 10 communes for the
scoped and cross-province cases), two audit events each (400,000), 300,000 seals and a few hundred CCCDs live in
both provinces, then builds the public schema's indexes on it and runs VACUUM ANALYZE. The per-test wipe of
tests/conftest.py truncates the public tables only, so these rows survive from test to test; the schema is dropped
at the end of the module.

Why 200,000 is representative of 2,000,000: the planner prices a sequential scan in proportion to the table and an
index probe in proportion to its depth (logarithmic), so a plan that needs no sequential scan at 200,000 rows needs
none at ten times the size; the distributions (states, branches per commune, events per file, actors per unit)
are those of bench/scale_bench.py, so the selectivities the planner estimates are the same. The reverse does not
hold, which is why the tables are not smaller: at a few thousand rows a sequential scan is the right plan.

How a test reads: `run_captured(fn)` calls the real query function inside a transaction whose search_path starts
with explain_scale, records every statement it sends, and `assert_no_seq_scan` EXPLAINs each. For a query other
modules add (the queue, the home page), call `assert_no_seq_scan(select_or_sql, params)` with a SQLAlchemy Select
or SQL text, after requesting the `scale` fixture.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, text

from workflow import citizens, dbroles, queries
from workflow.authz import Actor, Grant
from workflow.db import db

from .factories import owner_engine

PG = (os.environ.get("DATABASE_URL") or "").startswith("postgresql")
pytestmark = pytest.mark.skipif(not PG, reason="EXPLAIN plans are PostgreSQL's: set DATABASE_URL=postgresql://...")

SCHEMA = "explain_scale"
APPLICATIONS = 200_000
PROVINCE, OTHER = 1, 5000  # unit ids of the two provinces
TWINS = 300  # CCCDs live in both provinces (a campaign of the same title and year in each)
SCANNED = ("applications", "audit_events")


# ---------------------------------------------------------------- the data

def _load(conn) -> None:
    """The rows, set-wise. Unit paths are those of the app: '/<province>/<commune>/<branch>/'."""
    def x(sql: str) -> None:
        conn.execute(text(sql))

    x(f"""INSERT INTO units (id, code, name, name_folded, level, parent_id, path, valid_from)
          VALUES ({PROVINCE}, 'T1', 'Tỉnh Một', 'tinh mot', 'province', NULL, '/{PROVINCE}/', DATE '2025-07-01'),
                 ({OTHER}, 'T2', 'Tỉnh Hai', 'tinh hai', 'province', NULL, '/{OTHER}/', DATE '2025-07-01')""")
    # 99 communes (ids 2..100) and 990 branches (ids 101..1090) in the first province; 10 communes (5001..5010)
    # and 100 branches (5011..5110) in the second.
    x(f"""INSERT INTO units (id, code, name, name_folded, level, parent_id, path, valid_from)
          SELECT c, 'X' || c, 'Xã ' || c, 'xa ' || c, 'commune', {PROVINCE}, '/{PROVINCE}/' || c || '/',
                 DATE '2025-07-01' FROM generate_series(2, 100) c
          UNION ALL
          SELECT c, 'X' || c, 'Xã ' || c, 'xa ' || c, 'commune', {OTHER}, '/{OTHER}/' || c || '/', DATE '2025-07-01'
          FROM generate_series({OTHER} + 1, {OTHER} + 10) c""")
    x(f"""INSERT INTO units (id, code, name, name_folded, level, parent_id, path, valid_from)
          SELECT b, 'B' || b, 'Chi hội ' || b, 'chi hoi ' || b, 'branch', p.id, p.path || b || '/', DATE '2025-07-01'
          FROM (SELECT 100 + g AS b, 2 + (g - 1) / 10 AS parent FROM generate_series(1, 990) g
                UNION ALL SELECT {OTHER} + 10 + g, {OTHER} + 1 + (g - 1) / 10 FROM generate_series(1, 100) g) s
          JOIN units p ON p.id = s.parent""")
    x("INSERT INTO rubrics (id, title_code, version, kind, definition, sha256, loaded_at) "
      "VALUES (1, 'CDHT', 1, 'points', '{}', repeat('0', 64), now())")
    x(f"""INSERT INTO campaigns (id, title_code, year, province_id, rubric_id, name, opens_on, submit_deadline,
                                 decision_deadline, stage_limit_days, escalate_after_days)
          VALUES (1, 'CDHT', 2026, {PROVINCE}, 1, 'CDHT 2026', DATE '2026-01-01', DATE '2026-10-31', DATE '2026-12-31',
                  14, 28),
                 (2, 'CDHT', 2026, {OTHER}, 1, 'CDHT 2026 (2)', DATE '2026-01-01', DATE '2026-10-31',
                  DATE '2026-12-31', 14, 28),
                 (3, 'CDHT', 2025, {PROVINCE}, 1, 'CDHT 2025', DATE '2025-01-01', DATE '2025-10-31',
                  DATE '2025-12-31', 14, 28)""")
    # Nine files in ten in the first province's 2026 campaign, one in twenty in its 2025 one, the rest in the
    # second province; states as in late November (bench/scale_bench.py STATE_SHARES).
    x(f"""INSERT INTO applications (id, campaign_id, rubric_id, unit_id, state, version, subject_key, full_name,
                                   full_name_folded, citizen_id, target_level, score_total, scored_count,
                                   created_at, state_changed_at, recognised_at, closed_reason)
          SELECT g, s.campaign, 1, s.unit, s.state, 2, s.cid, 'Nguyễn Văn ' || g, 'nguyen van ' || g, s.cid, 1, 0, 0,
                 now() - (g % 300) * interval '1 day', now() - (g % 200) * interval '1 day',
                 CASE WHEN s.state = 'recognised' THEN now() END, CASE WHEN s.state = 'rejected' THEN 'Thiếu' END
          FROM generate_series(1, {APPLICATIONS}) g,
          LATERAL (SELECT CASE WHEN g % 20 = 0 THEN 3 WHEN g % 10 = 1 THEN 2 ELSE 1 END AS campaign,
                          CASE WHEN g % 10 = 1 THEN {OTHER} + 11 + (g / 10) % 100 ELSE 101 + (g * 7) % 990 END AS unit,
                          CASE WHEN g % 100 < 35 THEN 'evidence_collection' WHEN g % 100 < 55 THEN 'branch_scoring'
                               WHEN g % 100 < 70 THEN 'commune_appraisal' WHEN g % 100 < 80 THEN 'final_approval'
                               WHEN g % 100 < 95 THEN 'recognised' WHEN g % 100 < 98 THEN 'rejected'
                               ELSE 'withdrawn' END AS state,
                          lpad(((g::bigint * 7919) % 1000000000000)::text, 12, '0') AS cid) s""")
    # The twins: files of the second province whose CCCD is that of a live 2026 file of the first.
    x(f"""UPDATE applications o SET citizen_id = m.citizen_id, subject_key = m.citizen_id
          FROM (SELECT row_number() OVER (ORDER BY id) AS k, citizen_id FROM applications
                WHERE campaign_id = 1 AND state <> 'withdrawn' ORDER BY id LIMIT {TWINS}) m,
               (SELECT row_number() OVER (ORDER BY id) AS k, id FROM applications
                WHERE campaign_id = 2 AND state <> 'withdrawn' ORDER BY id LIMIT {TWINS}) t
          WHERE m.k = t.k AND o.id = t.id""")
    x("INSERT INTO cross_province_citizens (citizen_id) SELECT DISTINCT a.citizen_id FROM applications a "
      "WHERE a.campaign_id = 2 AND EXISTS (SELECT 1 FROM applications b WHERE b.campaign_id = 1 "
      "AND b.citizen_id = a.citizen_id)")
    # Two events a file: its creation by the branch's officer, then the step that brought it where it is.
    x("""INSERT INTO audit_events (id, application_id, actor_id, actor_name, action, from_state, to_state, payload,
                                   created_at)
         SELECT 2 * a.id - 1 + k, a.id, NULL,
                CASE WHEN k = 0 OR a.state IN ('branch_scoring', 'withdrawn') THEN 'chihoi.' || a.unit_id
                     WHEN a.state IN ('commune_appraisal', 'final_approval', 'rejected') THEN 'thamdinh.' || u.parent_id
                     ELSE 'pheduyet.' || split_part(u.path, '/', 2) END,
                CASE WHEN k = 0 THEN 'create' WHEN a.state = 'rejected' THEN 'reject'
                     WHEN a.state = 'withdrawn' THEN 'withdraw' WHEN a.state = 'recognised' THEN 'approve'
                     ELSE 'submit' END,
                CASE WHEN k = 0 THEN NULL ELSE 'evidence_collection' END,
                CASE WHEN k = 0 THEN 'evidence_collection' ELSE a.state END, '{}'::jsonb,
                a.created_at + k * interval '3 days'
         FROM applications a JOIN units u ON u.id = a.unit_id, generate_series(0, 1) k""")
    x("""INSERT INTO audit_seals (event_id, seq, prev_hash, hash, sealed_at)
         SELECT id, id, repeat('0', 64), repeat('0', 64), now() FROM audit_events WHERE id <= 300000""")


@pytest.fixture(scope="module")
def scale(app) -> Iterator[None]:
    """The explain_scale schema, loaded and analysed (see the module's docstring); dropped afterwards."""
    with app.app_context():
        engine = owner_engine()
        tables = [t.name for t in db.metadata.sorted_tables]
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
            for table in tables:  # columns, defaults and checks; no foreign keys, no triggers, no rows
                conn.exec_driver_sql(f'CREATE TABLE {SCHEMA}."{table}" (LIKE public."{table}" INCLUDING DEFAULTS '
                                     f'INCLUDING CONSTRAINTS INCLUDING GENERATED)')
                conn.exec_driver_sql(f'ALTER TABLE {SCHEMA}."{table}" SET (autovacuum_enabled = false)')
            conn.exec_driver_sql(f"SET LOCAL search_path TO {SCHEMA}, public")
            _load(conn)
            indexes = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                        "AND tablename = ANY(:t)"), {"t": tables}).scalars().all()
            for ddl in indexes:  # built after the load, as bench/scale_bench.py does
                conn.exec_driver_sql(ddl.replace(" ON public.", f" ON {SCHEMA}."))
            role = dbroles.runtime_role(os.environ.get("DATABASE_URL"))
            if role:  # two roles (CI): the app's runtime role reads these tables as it reads public's
                dbroles.grant_runtime(conn, role, schema=SCHEMA)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f'VACUUM ANALYZE {SCHEMA}."{table}"')
        db.session.remove()
    yield
    with app.app_context():
        with owner_engine().begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        db.session.remove()


# ---------------------------------------------------------------- the helpers

def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def explain(sql_or_select, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The planner's plan (EXPLAIN (FORMAT JSON), not executed) of a Select or SQL text in the explain_scale
    schema. SQL text takes :name parameters; a Select's own parameters are bound, `params` override them."""
    with owner_engine().begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL search_path TO {SCHEMA}, public")
        if isinstance(sql_or_select, str):
            rows = conn.execute(text("EXPLAIN (FORMAT JSON) " + sql_or_select), params or {}).scalar()
        else:
            compiled = sql_or_select.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            rows = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                        {**compiled.params, **(params or {})}).scalar()
    return rows[0]["Plan"]


def seq_scans(plan: dict[str, Any], tables: tuple[str, ...] = SCANNED) -> list[str]:
    """The tables among `tables` that the plan reads with a (parallel) sequential scan."""
    return [n["Relation Name"] for n in _nodes(plan) if n["Node Type"] == "Seq Scan" and n["Relation Name"] in tables]


def assert_no_seq_scan(sql_or_select, params: dict[str, Any] | None = None,
                       tables: tuple[str, ...] = SCANNED) -> dict[str, Any]:
    """Fail when the plan of a Select or SQL text reads any of `tables` sequentially; returns the plan. Request the
    `scale` fixture in the test that calls it."""
    plan = explain(sql_or_select, params)
    found = seq_scans(plan, tables)
    assert not found, f"sequential scan of {found} in:\n{_show(plan)}\nfor:\n{sql_or_select}"
    return plan


def _show(plan: dict[str, Any], depth: int = 0) -> str:
    line = "  " * depth + plan["Node Type"] + (f" on {plan['Relation Name']}" if "Relation Name" in plan else "") + (
        f" using {plan['Index Name']}" if "Index Name" in plan else "") + f" (rows {plan.get('Plan Rows')})"
    return "\n".join([line, *(_show(c, depth + 1) for c in plan.get("Plans", ()))])


@contextmanager
def scale_session() -> Iterator[list[tuple[str, Any]]]:
    """db.session inside one transaction whose search_path starts with explain_scale; yields the list of the
    statements (SQL, parameters) sent meanwhile. Rolled back at the end."""
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SET ", "EXPLAIN")):
            sent.append((statement, parameters))

    db.session.remove()
    db.session.execute(text(f"SET LOCAL search_path TO {SCHEMA}, public"))
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        db.session.rollback()
        db.session.remove()


def run_captured(fn: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """Run `fn` against explain_scale; (its result, the statements it sent). The session is rolled back after, so
    `fn` should return plain values (ids), not ORM objects."""
    with scale_session() as sent:
        result = fn()
    return result, sent


def assert_plans_clean(sent: list[tuple[str, Any]], tables: tuple[str, ...] = SCANNED) -> None:
    """assert_no_seq_scan for every statement that `run_captured` recorded (as sent by the driver)."""
    assert sent, "the function sent no statement"
    for statement, parameters in sent:
        with owner_engine().begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL search_path TO {SCHEMA}, public")
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()[0]["Plan"]
        found = seq_scans(plan, tables)
        assert not found, f"sequential scan of {found} in:\n{_show(plan)}\nfor:\n{statement}\n{parameters}"


def two_pages_clean(page: Callable[..., tuple[int | None, list[int]]]) -> tuple[list[int], list[int]]:
    """The first page of a keyset list and, when there is one, the next (`page(before=...)` gives (older, ids)):
    every statement of both EXPLAINed clean, the next page strictly older. Returns both pages' ids."""
    (older, first), sent = run_captured(page)
    assert_plans_clean(sent)
    if older is None:
        return first, []
    (_, second), sent = run_captured(lambda: page(before=older))
    assert_plans_clean(sent)
    assert second and second[0] < first[-1]
    return first, second


# ---------------------------------------------------------------- who reads

AUDITOR = Actor(1, "kiemtoan", (Grant("auditor", PROVINCE, f"/{PROVINCE}/", "province"),))
NATIONAL = Actor(2, "kiemtoan.tw", (Grant("auditor", PROVINCE, f"/{PROVINCE}/", "province"),
                                    Grant("auditor", OTHER, f"/{OTHER}/", "province")))
APPRAISER = Actor(3, "thamdinh.7", (Grant("commune_appraiser", 7, f"/{PROVINCE}/7/", "commune"),))
APPROVER = Actor(4, "pheduyet", (Grant("provincial_approver", PROVINCE, f"/{PROVINCE}/", "province"),))


def test_the_fixture_is_of_realistic_size(scale):
    with scale_session():
        counts = db.session.execute(text("SELECT (SELECT reltuples FROM pg_class WHERE oid = 'applications'::regclass),"
                                         " (SELECT reltuples FROM pg_class WHERE oid = 'audit_events'::regclass),"
                                         " (SELECT count(*) FROM cross_province_citizens)")).one()
    assert counts[0] >= APPLICATIONS * 0.9 and counts[1] >= 2 * APPLICATIONS * 0.9 and counts[2] == TWINS


def test_the_helper_fails_on_a_sequential_scan(scale):
    """The guard itself: a query that must read every file is caught."""
    with pytest.raises(AssertionError, match="sequential scan of \\['applications'\\]"):
        assert_no_seq_scan("SELECT count(*) FROM applications WHERE score_total = :n", {"n": 3})
    assert_no_seq_scan("SELECT id FROM applications WHERE id = :id", {"id": 5})


# ---------------------------------------------------------------- the audit log

LOG_FILTERS = [
    {}, {"actor_name": "thamdinh.7"}, {"action": "reject"}, {"unit_id": 7}, {"unit_id": 105},
    {"actor_name": "nobody"}, {"action": "reject", "unit_id": 7},
]


@pytest.mark.parametrize("who", [AUDITOR, NATIONAL], ids=["province", "national"])
@pytest.mark.parametrize("filters", LOG_FILTERS, ids=[",".join(f) or "none" for f in LOG_FILTERS])
def test_audit_log_pages(scale, who, filters):
    def page(**cursor) -> tuple[int | None, list[int]]:
        got = queries.audit_log_page(who, per_page=50, **cursor, **filters)
        return got.older, [e.id for e in got.items]

    first, second = two_pages_clean(page)
    if second:
        (_, back), sent = run_captured(lambda: page(after=second[0]))
        assert_plans_clean(sent)
        assert back == first


def test_audit_log_date_range(scale):
    from datetime import UTC, datetime, timedelta

    until = datetime.now(UTC) - timedelta(days=100)
    for who in (AUDITOR, NATIONAL):
        _, sent = run_captured(lambda who=who: queries.audit_log_page(who, since=until - timedelta(days=1),
                                                                      until=until).total)
        assert_plans_clean(sent)


@pytest.mark.parametrize("scoped", [False, True])
def test_audit_actor_names(scale, scoped):
    names, sent = run_captured(lambda: db.session.scalars(
        queries.audit_actor_names_query(AUDITOR, limit=5000, scoped=scoped)).all())
    assert_plans_clean(sent)
    assert "thamdinh.7" in names, names[-5:]
    assert ("chihoi.5011" in names) is not scoped, (len(names), [n for n in names if n.startswith("chihoi.50")][:5])


@pytest.mark.parametrize("who", [AUDITOR, NATIONAL], ids=["scoped", "every province"])
def test_audit_status_counts(scale, who, monkeypatch):
    """The chain page's figures; the walk itself (workflow.audit.verify) reads seals by seq, events by id."""
    from workflow import audit

    monkeypatch.setattr(audit, "verify", lambda **kw: audit.Report(sealed=300_000))
    status, sent = run_captured(lambda: queries.audit_status(who))
    assert_plans_clean(sent)
    assert status["waiting_capped"] and (status["sealed_capped"] or not status["scoped"])
    assert_no_seq_scan(
        "SELECT s.seq, s.prev_hash, s.hash, s.event_id, e.id, e.payload FROM audit_seals s "
        "LEFT JOIN audit_events e ON e.id = s.event_id WHERE s.seq >= :seq ORDER BY s.seq LIMIT 20000",
        {"seq": 150_000})


def test_timeline(scale):
    ids, sent = run_captured(lambda: [e.id for e in db.session.scalars(queries.history(12_345))])
    assert_plans_clean(sent)
    assert ids == [24_689, 24_690]


# ---------------------------------------------------------------- citizens

@pytest.mark.parametrize("who", [AUDITOR, APPRAISER, APPROVER], ids=["auditor", "appraiser", "approver"])
def test_flagged_citizens(scale, who):
    from sqlalchemy import func, select

    stmt = citizens.flagged_query(who)
    rows, sent = run_captured(lambda: [a.id for a in db.session.scalars(stmt.limit(25))])
    assert_plans_clean(sent)
    count, sent = run_captured(lambda: db.session.scalar(select(func.count()).select_from(stmt.subquery())))
    assert_plans_clean(sent)
    if who is not APPRAISER:  # the twins all lie in the province's 2026 campaign
        assert len(rows) == 25 and count == TWINS


def test_citizen_history_and_twins(scale):
    with scale_session():
        cid, app_id = db.session.execute(text(
            "SELECT citizen_id, id FROM applications WHERE campaign_id = 1 AND citizen_id IN "
            "(SELECT citizen_id FROM cross_province_citizens) ORDER BY id LIMIT 1")).one()
    rows, sent = run_captured(lambda: db.session.execute(citizens.history_query(cid, AUDITOR).limit(500)).all())
    assert_plans_clean(sent)
    assert [r.id for r in rows] == [app_id]
    app = SimpleNamespace(id=app_id, citizen_id=cid,
                          campaign=SimpleNamespace(title_code="CDHT", year=2026, province_id=PROVINCE))
    twins, sent = run_captured(lambda: db.session.execute(citizens.twins_query(app)).all())
    assert_plans_clean(sent)
    assert [t.id for t in twins] == [2]


# ---------------------------------------------------------------- the work queue and the home page (the lead's)

QUEUE_FILTERS = [
    {}, {"state": "commune_appraisal"}, {"state": "final_approval"}, {"campaign_id": 1}, {"unit_id": 7},
    {"unit_id": 105}, {"q": "nguyen thi"}, {"q": "024068"}, {"q": "nguyen thi", "unit_id": 7},
    {"states": ("commune_appraisal",), "campaign_id": 1},
]


@pytest.mark.parametrize("who", [APPRAISER, APPROVER, AUDITOR], ids=["commune", "province", "auditor"])
@pytest.mark.parametrize("filters", QUEUE_FILTERS, ids=[",".join(f"{k}={v}" for k, v in f.items()) or "none"
                                                        for f in QUEUE_FILTERS])
def test_queue_pages_counts_and_estimates(scale, who, filters):
    """The queue as its page and API read it: a page by cursor, the next one, the count from the summary and a
    search's estimate. No sequential scan of the applications."""
    from workflow import summary
    from workflow.models import Application

    search = {k: v for k, v in filters.items() if k != "q"}

    def page(**cursor):
        stmt = queries.applications(who, **filters)
        got = queries.keyset_page(stmt, Application.id, per_page=25, total=1, **cursor)
        if "q" in filters:
            queries.estimate(stmt)
        else:
            summary.count(who, **search)
        return got.older, [a.id for a in got.items]

    two_pages_clean(page)


@pytest.mark.parametrize("who", [APPRAISER, APPROVER], ids=["commune", "province"])
def test_home_counts_and_returned_files(scale, who):
    """The home page: the waiting counts per grant from the summary, and the files returned to the applicant
    side (the partial index of returned files), without a scan of the applications or the trail."""
    from workflow import summary

    def home():
        counts = summary.by_campaign_state(who.grants[0].unit_path, [1, 2])
        return counts, [(a.id, e.id) for a, e in db.session.execute(queries.returned(who))]

    _, sent = run_captured(home)
    assert_plans_clean(sent)


@pytest.mark.parametrize("q", ["nguyen van 1234", "nguyen van", "024068", "khong ai"])
@pytest.mark.parametrize("who", [AUDITOR, NATIONAL], ids=["province", "national"])
def test_audit_log_search(scale, who, q):
    """The audit log's search (issue 13): the matching files within scope (the queue's indexes, at most
    SEARCH_CAP), then their events through ix_audit_events_application, paged by cursor; no sequential scan."""
    def page(**cursor) -> tuple[int | None, list[int]]:
        ids, _ = queries.audit_search_ids(who, q)
        got = queries.audit_log_page(who, per_page=50, application_ids=ids, **cursor)
        return got.older, [e.id for e in got.items]

    two_pages_clean(page)

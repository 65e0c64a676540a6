"""Files per (unit, campaign, state) without counting millions of rows: the summary the triggers of migration 0011
keep in the writer's own transaction (state_counts plus the deltas not yet folded in).

Reads add the pending deltas to the folded counts, so a figure is exact the moment its transaction commits;
`fold` moves the deltas into state_counts (when there are many, before a read; and on the worker's tick), and
`recount` is the proof that the summary equals a plain count of the applications."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, and_, func, literal, or_, select, text, union_all

from .authz import Actor, actor_of, visible_units_clause
from .db import db
from .models import Application, StateCount, StateCountDelta, Unit

FOLD_AT = 2000  # pending deltas above which a read folds first (a fold of this many takes a few milliseconds)
FOLD_LOCK = 0x686F6374  # pg advisory lock id: one fold at a time ("hoct")


def _totals():
    """state_counts and the pending deltas as one relation (unit_id, campaign_id, state, n)."""
    counts, deltas = StateCount.__table__, StateCountDelta.__table__
    return union_all(
        select(counts.c.unit_id, counts.c.campaign_id, counts.c.state, counts.c.n),
        select(deltas.c.unit_id, deltas.c.campaign_id, deltas.c.state, deltas.c.n),
    ).subquery("totals")


def fold(force: bool = False) -> int:
    """Sum the pending deltas into state_counts, in a transaction of its own; returns how many rows changed. Skipped
    (0) when fewer than FOLD_AT are pending unless `force`, or when another fold is running (PostgreSQL)."""
    if not force and db.session.scalar(select(func.count()).select_from(
            select(literal(1)).select_from(StateCountDelta).limit(FOLD_AT + 1).subquery())) <= FOLD_AT:
        return 0
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FOLD_LOCK}):
                return 0
            return conn.execute(text(
                "WITH d AS (DELETE FROM state_count_deltas RETURNING unit_id, campaign_id, state, n), "
                "s AS (SELECT unit_id, campaign_id, state, sum(n) AS n FROM d GROUP BY 1, 2, 3) "
                "INSERT INTO state_counts (unit_id, campaign_id, state, n) "
                "SELECT unit_id, campaign_id, state, n FROM s ORDER BY 1, 2, 3 "
                "ON CONFLICT (unit_id, campaign_id, state) DO UPDATE SET n = state_counts.n + excluded.n "
                "RETURNING 1")).rowcount
        last = conn.scalar(select(func.max(StateCountDelta.id)))  # SQLite: one writer, so two steps are safe
        if last is None:
            return 0
        conn.execute(text(
            "INSERT INTO state_counts (unit_id, campaign_id, state, n) "
            "SELECT unit_id, campaign_id, state, sum(n) FROM state_count_deltas WHERE id <= :last "
            "GROUP BY unit_id, campaign_id, state "
            "ON CONFLICT (unit_id, campaign_id, state) DO UPDATE SET n = state_counts.n + excluded.n"),
            {"last": last})
        return conn.execute(text("DELETE FROM state_count_deltas WHERE id <= :last"), {"last": last}).rowcount


def count(actor, *, unit_id: int | None = None, campaign_id: int | None = None, state: str | None = None,
          states: Sequence[str] | None = None, pairs: Iterable[tuple[int, Sequence[str]]] | None = None) -> int:
    """How many applications the actor may see match these filters, exactly as workflow.queries.applications
    filters them (`unit_id` with its subtree; `pairs`: (campaign id, states) alternatives, the queue's "waiting
    for me")."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    fold()
    t = _totals()
    stmt = (select(func.coalesce(func.sum(t.c.n), 0)).join(Unit, Unit.id == t.c.unit_id)
            .where(visible_units_clause(actor, Unit.path)))
    if unit_id:
        stmt = stmt.where(Unit.path.startswith(select(Unit.path).where(Unit.id == unit_id).scalar_subquery()))
    if campaign_id:
        stmt = stmt.where(t.c.campaign_id == campaign_id)
    if state:
        stmt = stmt.where(t.c.state == state)
    if states:
        stmt = stmt.where(t.c.state.in_(list(states)))
    if pairs is not None:
        alternatives = [and_(t.c.campaign_id == c, t.c.state.in_(list(s))) for c, s in pairs if s]
        if not alternatives:
            return 0
        stmt = stmt.where(or_(*alternatives))
    return int(db.session.scalar(stmt) or 0)


def by_campaign_state(unit_path: str, campaign_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """{(campaign id, state): files} within a unit's subtree: one query for a whole home page grant."""
    if not campaign_ids:
        return {}
    fold()
    t = _totals()
    stmt = (select(t.c.campaign_id, t.c.state, func.sum(t.c.n)).join(Unit, Unit.id == t.c.unit_id)
            .where(Unit.path.startswith(unit_path, autoescape=False), t.c.campaign_id.in_(list(campaign_ids)))
            .group_by(t.c.campaign_id, t.c.state))
    return {(c, s): int(n) for c, s, n in db.session.execute(stmt) if n}


def recount() -> Select:
    """(unit id, campaign id, state, summary, actual) for every key where the summary and a count of the
    applications disagree: empty when the summary is right (the tests and `flask summary check`)."""
    t = _totals()
    summary = (select(t.c.unit_id, t.c.campaign_id, t.c.state, func.sum(t.c.n).label("n"))
               .group_by(t.c.unit_id, t.c.campaign_id, t.c.state).subquery("summary"))
    actual = (select(Application.unit_id, Application.campaign_id, Application.state, func.count().label("n"))
              .group_by(Application.unit_id, Application.campaign_id, Application.state).subquery("actual"))
    joined = summary.join(actual, and_(summary.c.unit_id == actual.c.unit_id,
                                       summary.c.campaign_id == actual.c.campaign_id,
                                       summary.c.state == actual.c.state), full=True)
    s_n, a_n = func.coalesce(summary.c.n, 0), func.coalesce(actual.c.n, 0)
    return (select(func.coalesce(summary.c.unit_id, actual.c.unit_id),
                   func.coalesce(summary.c.campaign_id, actual.c.campaign_id),
                   func.coalesce(summary.c.state, actual.c.state), s_n, a_n)
            .select_from(joined).where(s_n != a_n))


def rebuild() -> int:
    """Recount everything from the applications (after a bulk load with triggers off); returns the keys written.
    The caller commits."""
    db.session.execute(StateCountDelta.__table__.delete())
    db.session.execute(StateCount.__table__.delete())
    written = db.session.execute(StateCount.__table__.insert().from_select(
        ["unit_id", "campaign_id", "state", "n"],
        select(Application.unit_id, Application.campaign_id, Application.state, func.count())
        .group_by(Application.unit_id, Application.campaign_id, Application.state)))
    return written.rowcount

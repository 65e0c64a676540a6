"""Files that reached, passed, were returned or were rejected at each stage, without reading the audit trail: the
summary the triggers of migration 0018 keep in the writer's own transaction (transition_counts plus the deltas not
yet folded in), as workflow/summary.py keeps the files per state.

A fact comes from one audit event of an application: "reached" S when the event enters S (to_state = S, from a
different state or at creation), "passed" S when it leaves S forward (submit, approve), "returned" (return) and
"rejected" (reject) when it leaves S that way. A file counts once per (stage, outcome) however often it happened,
at its current unit and campaign (a re-homed file's counts move with it). `fact_clause` is the rule in SQLAlchemy
(the list behind a figure and `recount` use it); the migration states the same rule in its triggers, and `recount`
is the proof that both agree (tests, `flask summary check`)."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, text, union_all

from ..db import db
from ..models import Application, AuditEvent, TransitionCount, TransitionCountDelta
from ..vocabulary import CLOSED_STATES

OUTCOMES = ("reached", "passed", "returned", "rejected")
ACTIONS = {"passed": ("submit", "approve"), "returned": ("return",), "rejected": ("reject",)}
FOLD_AT = 2000  # pending deltas above which a read folds first (as workflow.summary.FOLD_AT)
FOLD_LOCK = 0x686F6335  # pg advisory lock id: one fold of these deltas at a time


def _moved(e=AuditEvent) -> ColumnElement[bool]:
    """The event changed the file's state (a creation has no state before it)."""
    return or_(e.from_state.is_(None), e.from_state != e.to_state)


def fact_clause(stage: str, outcome: str, e=AuditEvent) -> ColumnElement[bool]:
    """WHERE clause over audit events: the event states (stage, outcome) of its file."""
    if outcome == "reached":
        return and_(e.to_state == stage, _moved(e))
    return and_(e.from_state == stage, e.to_state.is_not(None), e.from_state != e.to_state,
                e.action.in_(ACTIONS[outcome]))


def facts() -> Select:
    """(application_id, stage, outcome) of every fact of the audit trail (one row per event, not yet distinct)."""
    e = AuditEvent
    outcome = case({a: o for o, acts in ACTIONS.items() for a in acts}, value=e.action)
    leaves = (select(e.application_id, e.from_state.label("stage"), outcome.label("outcome"))
              .where(e.application_id.is_not(None), e.from_state.is_not(None), e.to_state.is_not(None),
                     e.from_state != e.to_state, e.action.in_([a for acts in ACTIONS.values() for a in acts])))
    enters = (select(e.application_id, e.to_state.label("stage"), literal("reached").label("outcome"))
              .where(e.application_id.is_not(None), e.to_state.is_not(None), e.to_state.not_in(CLOSED_STATES),
                     _moved(e)))
    return union_all(leaves, enters)


def _totals():
    """transition_counts and the pending deltas as one relation (unit_id, campaign_id, stage, outcome, n)."""
    counts, deltas = TransitionCount.__table__, TransitionCountDelta.__table__
    return union_all(
        select(counts.c.unit_id, counts.c.campaign_id, counts.c.stage, counts.c.outcome, counts.c.n),
        select(deltas.c.unit_id, deltas.c.campaign_id, deltas.c.stage, deltas.c.outcome, deltas.c.n),
    ).subquery("transition_totals")


def totals():
    """The relation the figures read (folding first when many deltas are pending)."""
    fold()
    return _totals()


def fold(force: bool = False) -> int:
    """Sum the pending deltas into transition_counts, in a transaction of its own; returns how many rows changed.
    Skipped (0) when fewer than FOLD_AT are pending unless `force`, or when another fold is running (PostgreSQL)."""
    if not force and db.session.scalar(select(func.count()).select_from(
            select(literal(1)).select_from(TransitionCountDelta).limit(FOLD_AT + 1).subquery())) <= FOLD_AT:
        return 0
    keys = "unit_id, campaign_id, stage, outcome"
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FOLD_LOCK}):
                return 0
            return conn.execute(text(
                f"WITH d AS (DELETE FROM transition_count_deltas RETURNING {keys}, n), "
                f"s AS (SELECT {keys}, sum(n) AS n FROM d GROUP BY 1, 2, 3, 4) "
                f"INSERT INTO transition_counts ({keys}, n) SELECT {keys}, n FROM s ORDER BY 1, 2, 3, 4 "
                f"ON CONFLICT ({keys}) DO UPDATE SET n = transition_counts.n + excluded.n RETURNING 1")).rowcount
        last = conn.scalar(select(func.max(TransitionCountDelta.id)))  # SQLite: one writer, two steps are safe
        if last is None:
            return 0
        conn.execute(text(
            f"INSERT INTO transition_counts ({keys}, n) SELECT {keys}, sum(n) FROM transition_count_deltas "
            f"WHERE id <= :last GROUP BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET n = transition_counts.n + excluded.n"), {"last": last})
        return conn.execute(text("DELETE FROM transition_count_deltas WHERE id <= :last"), {"last": last}).rowcount


def _actual():
    f = facts().subquery("facts")
    return (select(Application.unit_id, Application.campaign_id, f.c.stage, f.c.outcome,
                   func.count(f.c.application_id.distinct()).label("n"))
            .join(Application, Application.id == f.c.application_id)
            .group_by(Application.unit_id, Application.campaign_id, f.c.stage, f.c.outcome))


def recount() -> Select:
    """(unit id, campaign id, stage, outcome, summary, actual) for every key where the summary and a count from
    the audit trail disagree: empty when the summary is right (the tests and `flask summary check`)."""
    t = _totals()
    summary = (select(t.c.unit_id, t.c.campaign_id, t.c.stage, t.c.outcome, func.sum(t.c.n).label("n"))
               .group_by(t.c.unit_id, t.c.campaign_id, t.c.stage, t.c.outcome).subquery("summary"))
    actual = _actual().subquery("actual")
    keys = ("unit_id", "campaign_id", "stage", "outcome")
    joined = summary.join(actual, and_(*[summary.c[k] == actual.c[k] for k in keys]), full=True)
    s_n, a_n = func.coalesce(summary.c.n, 0), func.coalesce(actual.c.n, 0)
    return (select(*[func.coalesce(summary.c[k], actual.c[k]) for k in keys], s_n, a_n)
            .select_from(joined).where(s_n != a_n))


def rebuild() -> int:
    """Recount everything from the audit trail (after a bulk load with triggers off, or a failed check); returns
    the keys written. The caller commits."""
    db.session.execute(TransitionCountDelta.__table__.delete())
    db.session.execute(TransitionCount.__table__.delete())
    return db.session.execute(TransitionCount.__table__.insert().from_select(
        ["unit_id", "campaign_id", "stage", "outcome", "n"], _actual())).rowcount

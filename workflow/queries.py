"""Read-side queries shared by pages and API: every list is filtered by the actor's grants (invariant 5)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, false, func, select

from .authz import Actor, actor_of, visible_units_clause
from .db import db
from .inputs import is_ascii_digits
from .models import Application, AuditEvent, AuditSeal, Unit
from .text import fold

FEW_UNITS = 200  # a scope of at most this many units is named unit by unit (a commune and its branches: ~11)


def applications(actor, *, state: str | None = None, unit_id: int | None = None, campaign_id: int | None = None,
                 q: str | None = None, states: tuple[str, ...] | None = None,
                 roles: tuple[str, ...] | None = None) -> Select:
    """Applications the actor may see, newest first; `q` matches names ignoring diacritics and case, or a
    citizen ID prefix; `unit_id` includes that unit's subtree; `roles` keeps the scope of those grants only (the
    audit log's search: the auditor's units)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    stmt = (select(Application).join(Unit, Unit.id == Application.unit_id)
            .where(visible_units_clause(actor, Unit.path, roles)).order_by(Application.id.desc()))
    units = select(Unit.id).where(visible_units_clause(actor, Unit.path, roles))
    if unit_id:
        # The unit's path as a value, not a subquery: the planner then knows how many units the prefix holds (a
        # province's 1,090, not its default guess of 5) and walks the id index for a page instead of sorting all.
        path = db.session.scalar(select(Unit.path).where(Unit.id == unit_id))
        within = Unit.path.startswith(path) if path is not None else false()  # an unknown unit holds nothing
        stmt = stmt.where(within)
        units = units.where(within)
    few = list(db.session.scalars(units.limit(FEW_UNITS + 1)))
    if len(few) <= FEW_UNITS:
        # A commune's or a branch's files are a sliver of a province's: name their units, so that the planner
        # reads them through the unit indexes (with the trigram or CCCD index on a search) instead of walking
        # the whole table in id order. The path conditions stay: the same rows, said twice.
        stmt = stmt.where(Application.unit_id.in_(few))
    if state:
        stmt = stmt.where(Application.state == state)
    if states:
        stmt = stmt.where(Application.state.in_(states))
    if campaign_id:
        stmt = stmt.where(Application.campaign_id == campaign_id)
    if q and q.strip():
        needle = q.strip()
        if is_ascii_digits(needle):  # a CCCD prefix is ASCII digits (workflow.inputs); "١٢" is no number
            stmt = stmt.where(Application.citizen_id.startswith(needle))
        else:
            match = Application.full_name_folded.contains(fold(needle), autoescape=True)
            if len(few) <= FEW_UNITS:  # the ids from the (unit, name, id) index alone, then those rows only
                match = Application.id.in_(select(Application.id).where(Application.unit_id.in_(few), match))
            stmt = stmt.where(match)
    return stmt


def returned(actor, limit: int = 50) -> Select:
    """(application, the return's audit event) for files back at the applicant side whose latest state change is
    a return, newest first: found through the small partial index of returned files (`last_action`), not by
    searching the trail."""
    latest = (select(func.max(AuditEvent.id)).where(AuditEvent.application_id == Application.id,
                                                    AuditEvent.from_state != AuditEvent.to_state)
              .correlate(Application).scalar_subquery())
    return (applications(actor, states=("evidence_collection", "branch_scoring", "self_assessment"))
            .where(Application.last_action == "return")
            .add_columns(AuditEvent).join(AuditEvent, AuditEvent.id == latest).limit(limit))


def history(application_id: int) -> Select:
    """One file's audit events, oldest first (ix_audit_events_application: application_id, id)."""
    return select(AuditEvent).where(AuditEvent.application_id == application_id).order_by(AuditEvent.id)


# A name or CCCD search over millions is counted up to this many ("more than 1,000 match"): counting every
# "nguyen thi" of a province costs a quarter of a second, and nobody pages through a thousand names.
SEARCH_CAP = 1000
AUDIT_ROLES = ("auditor", "admin")
# Counts over millions of events are exact up to this many, then reported as "more than" (issue 10): the chain
# page's, and the audit log's (each page of the log counts again, so its cap is lower).
COUNT_CAP = 10_000
LOG_COUNT_CAP = 1_000


def capped_count(stmt: Select, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(n, capped): the exact number of rows of `stmt` when at most `cap`, else (cap, True). Reads at most
    cap + 1 rows, so a count over a province's millions of events costs what a page of them does. Give `stmt`
    the ORDER BY of an index (the key, descending): the planner then walks it with nested loops and stops at the
    cap, where without one it may hash-join whole tables to find "any" cap + 1 rows."""
    limited = stmt.limit(cap + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(limited)) or 0
    return (cap, True) if n > cap else (n, False)


@dataclass
class KeysetPage:
    """One page of a list ordered by a unique key, newest first, reached by cursors rather than OFFSET: `older`
    is the ?before= of the next page, `newer` the ?after= of the previous one (None at either end). `total` is
    exact unless `capped`, when it is the cap and the list holds more."""

    items: list[Any]
    newer: int | None
    older: int | None
    total: int
    capped: bool
    per_page: int
    estimated: bool = False  # `total` is the planner's estimate (a search over millions: see `estimate`)


def keyset_page(stmt: Select, key, *, before: int | None = None, after: int | None = None, per_page: int = 50,
                cap: int = COUNT_CAP, total: int | None = None, count_stmt: Select | None = None) -> KeysetPage:
    """A page of `stmt` (any ORDER BY is replaced by `key` descending): the `per_page` rows below `before`, or
    the `per_page` rows just above `after`, or the newest. Each query reads per_page + 1 rows along the key's
    index: page 2,000 costs what page 1 does, and paging with the cursors given visits every row exactly once.
    `count_stmt`, the same rows written for counting (audit_log_query's for_count, with its own ORDER BY or
    none), replaces `stmt` in the capped count."""
    base = stmt.order_by(None)
    if after is not None and before is None:
        rows = _late(base.where(key > after).order_by(key.asc()).limit(per_page + 1), key, key.asc())
        newer_exists = len(rows) > per_page
        rows = rows[:per_page][::-1]
        older_exists = _any(base.where(key <= after).order_by(key.desc()))
    else:
        window = base if before is None else base.where(key < before)
        rows = _late(window.order_by(key.desc()).limit(per_page + 1), key, key.desc())
        older_exists = len(rows) > per_page
        rows = rows[:per_page]
        newer_exists = before is not None and _any(base.where(key >= before).order_by(key.asc()))
    ids = [_key_of(r, key) for r in rows]
    if total is not None:  # the caller knows it (the queue, from workflow/summary.py)
        capped = False
    elif before is None and after is None and not older_exists:
        total, capped = len(rows), False  # the whole list is on this page: no count needed
    else:
        total, capped = capped_count(base.order_by(key.desc()) if count_stmt is None else count_stmt, cap)
    return KeysetPage(items=rows, newer=ids[0] if rows and newer_exists else None,
                      older=ids[-1] if rows and older_exists else None, total=total, capped=capped,
                      per_page=per_page)


def estimate(stmt: Select) -> int | None:
    """The planner's estimate of how many rows `stmt` returns (PostgreSQL; None elsewhere): what a search shows
    as "about N", since counting every "nguyen thi" of a province exactly costs a quarter of a second through
    the trigram index, while planning costs a few milliseconds. The estimate is the planner's statistics, within
    ten per cent on the benchmark's searches."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return None
    compiled = stmt.order_by(None).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _late(page: Select, key, order) -> list[Any]:
    """The rows of a page, found by key first and read afterwards ("late row lookup"): the keys come from an
    index alone (a commune's files are scattered over a province's table, so reading every candidate row to sort
    them costs thousands of page reads), then only the page's rows are read, by primary key."""
    entity = page.column_descriptions[0]["entity"]
    keys = page.with_only_columns(key).subquery()
    return list(db.session.scalars(select(entity).where(key.in_(select(keys.c[key.key]))).order_by(order)))


def _any(stmt: Select) -> bool:
    """Whether `stmt` has a row; give it the ORDER BY of an index, or the planner may scan a table for "any" one."""
    return db.session.execute(stmt.limit(1)).first() is not None


def _key_of(row: Any, key) -> int:
    return getattr(row, key.key)


def _audit_events_in_scope(actor: Actor, roles: tuple[str, ...]) -> Select:
    """Audit events of the applications under the actor's grants of `roles` (events are reached through their
    application's unit, exactly as the audit log filters them)."""
    return (select(AuditEvent.id).join(Application, Application.id == AuditEvent.application_id)
            .join(Unit, Unit.id == Application.unit_id).where(visible_units_clause(actor, Unit.path, roles)))


def covers_every_province(actor, roles: tuple[str, ...] = AUDIT_ROLES) -> bool:
    """Whether the actor's grants of `roles` cover every root unit (province): only then are figures about the
    whole trail theirs to see."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    roots = list(db.session.scalars(select(Unit.path).where(Unit.parent_id.is_(None))))
    return all(actor.covers(path, roles) for path in roots)


def audit_actor_names(actor, roles: tuple[str, ...] = AUDIT_ROLES, limit: int = 500, *,
                      whole_trail: bool | None = None) -> list[str]:
    """Usernames of those who acted on applications within the actor's units (the audit log's actor filter):
    an auditor of one province never learns the usernames of another. `whole_trail`: covers_every_province's
    answer when the caller has it already."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    scoped = not (covers_every_province(actor, roles) if whole_trail is None else whole_trail)
    return sorted(db.session.scalars(audit_actor_names_query(actor, roles, limit, scoped=scoped)))


def audit_actor_names_query(actor: Actor, roles: tuple[str, ...] = AUDIT_ROLES, limit: int = 500, *,
                            scoped: bool = True) -> Select:
    """The distinct names come from a skip scan of ix_audit_events_actor_name_id (a recursive query: one index
    probe per name, about a thousand for a province's officers, where DISTINCT read every one of millions of
    events); a `scoped` reader (one who does not cover every province) keeps only the names with an event in
    scope (an EXISTS per name). The walk yields the names in ascending order and stops at `limit` (the first
    `limit` names, as an ORDER BY would give them; no ORDER BY, so that the walk need not reach the end first:
    callers sort what they get)."""
    ae = AuditEvent.__table__
    names = select(func.min(ae.c.actor_name).label("name")).cte("actor_names", recursive=True)
    step = select(select(func.min(ae.c.actor_name)).where(ae.c.actor_name > names.c.name).scalar_subquery())
    names = names.union_all(step.where(names.c.name.is_not(None)))
    stmt = select(names.c.name).where(names.c.name.is_not(None))
    if scoped:
        in_scope = _audit_events_in_scope(actor, roles).where(AuditEvent.actor_name == names.c.name)
        stmt = stmt.where(exists(in_scope))
    return stmt.limit(limit)


def audit_search_ids(actor, q: str, roles: tuple[str, ...] = AUDIT_ROLES, cap: int = SEARCH_CAP) -> tuple[list[int],
                                                                                                         bool]:
    """(ids, capped): the files within the actor's grants of `roles` whose name matches `q` ignoring diacritics
    and case, or whose citizen ID starts with it (the queue's search, `applications`: the same indexes), newest
    first, at most `cap` of them (`capped` when more match). The audit log's search then reads those files'
    events through ix_audit_events_application, a few per file, however long the trail."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    stmt = applications(actor, q=q, roles=roles).with_only_columns(Application.id).limit(cap + 1)
    ids = list(db.session.scalars(stmt))
    return ids[:cap], len(ids) > cap


def audit_log_query(actor: Actor, roles: tuple[str, ...] = AUDIT_ROLES, *, unit_id: int | None = None,
                    actor_name: str | None = None, action: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, whole_trail: bool = False, for_count: bool = False,
                    application_ids: list[int] | None = None) -> Select:
    """The audit log: the events of applications within the actor's grants of `roles`, newest first; `unit_id`
    keeps that unit's subtree, `since` <= created_at < `until`.

    How it stays fast over millions of events (each form checked by tests/test_explain.py):
    - walked newest first along the primary key (keyset_page), or along ix_audit_events_actor_name_id /
      ix_audit_events_action_id / ix_audit_events_created_at when filtered;
    - `whole_trail` (the reader covers every province: covers_every_province) needs no scope at all;
    - a unit filter is resolved here to the ids of the subtree's units within scope (a few dozen rows of the
      small units table), so the planner sees `applications.unit_id IN (...)` with its statistics and starts from
      ix_applications_unit_state when the subtree is small;
    - `for_count` writes the scope as a per-row subquery on the event's application and unit, which the planner
      cannot turn into a hash join of the whole applications table: a capped count then reads events newest first
      and stops at the cap;
    - `application_ids` (a search by name or CCCD: audit_search_ids, already within scope) keeps those files'
      events, read through ix_audit_events_application."""
    stmt = select(AuditEvent).where(AuditEvent.application_id.is_not(None))
    if application_ids is not None:
        stmt = stmt.where(AuditEvent.application_id.in_(application_ids) if application_ids else false())
        whole_trail = True  # the ids are the actor's own files: no scope to add (a unit filter still narrows)
    if actor_name:
        stmt = stmt.where(AuditEvent.actor_name == actor_name)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.created_at < until)
    if unit_id:
        top = select(Unit.path).where(Unit.id == unit_id).scalar_subquery()
        units = [i for i, path in db.session.execute(select(Unit.id, Unit.path).where(Unit.path.startswith(top)))
                 if whole_trail or actor.covers(path, roles)]
        stmt = stmt.join(Application, Application.id == AuditEvent.application_id).where(
            Application.unit_id.in_(units) if units else false())
        return stmt if for_count else stmt.order_by(AuditEvent.id.desc())
    if not whole_trail:
        if for_count:
            path = (select(Unit.path).join(Application, Application.unit_id == Unit.id)
                    .where(Application.id == AuditEvent.application_id).correlate(AuditEvent).scalar_subquery())
        else:
            stmt = (stmt.join(Application, Application.id == AuditEvent.application_id)
                    .join(Unit, Unit.id == Application.unit_id))
            path = Unit.path
        stmt = stmt.where(visible_units_clause(actor, path, roles=roles))
    return stmt.order_by(AuditEvent.id.desc())


def audit_log_page(actor, roles: tuple[str, ...] = AUDIT_ROLES, *, before: int | None = None,
                   after: int | None = None, per_page: int = 50, whole_trail: bool | None = None,
                   **filters: Any) -> KeysetPage:
    """One page of the audit log (audit_log_query's `filters`) as the page shows it: by cursor, the count capped at
    LOG_COUNT_CAP and made with the per-row form of the scope. `whole_trail`: as in audit_actor_names."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    whole = covers_every_province(actor, roles) if whole_trail is None else whole_trail
    return keyset_page(audit_log_query(actor, roles, whole_trail=whole, **filters), AuditEvent.id, before=before,
                       after=after, per_page=per_page, cap=LOG_COUNT_CAP,
                       count_stmt=audit_log_query(actor, roles, whole_trail=whole, for_count=True, **filters))


def sealed_frontier() -> int:
    """The highest event id that carries a seal (0 before the first): every event above it waits to be sealed."""
    return db.session.scalar(select(func.max(AuditSeal.event_id))) or 0


def audit_status(actor, roles: tuple[str, ...] = AUDIT_ROLES, cap: int | None = None) -> dict[str, Any]:
    """The chain's status as this actor may see it. Integrity (ok, first bad event, problem) is the one shared
    chain's, from a full walk of it (workflow.audit.verify: exact, never sampled); the counts are those of the
    events of the actor's applications (sealed, waiting to be sealed), and the head (whose sequence number is the
    length of the whole trail) is shown only to whoever covers every province. Returns the fields of
    workflow.audit.Report plus `scoped`, `sealed_capped`, `waiting_capped` and `counts_capped` (either).

    The counts that would read millions of events are capped (capped_count): "waiting" is the events written
    after the newest sealed one (an index range; an event committed late below it is sealed by the next run and
    counted by `flask audit verify`), the scoped "sealed" the in-scope events that carry a seal. The whole trail's
    "sealed" is the walk's own exact figure."""
    from . import audit

    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    cap = COUNT_CAP if cap is None else cap
    report = audit.verify(count_waiting=False)
    frontier = sealed_frontier()
    status: dict[str, Any] = {"ok": report.ok, "sealed": report.sealed, "waiting": 0,
                              "first_bad": report.first_bad, "problem": report.problem, "head_seq": report.head_seq,
                              "head_hash": report.head_hash, "details": report.details, "scoped": False,
                              "sealed_capped": False, "waiting_capped": False}
    if covers_every_province(actor, roles):
        waiting, waiting_capped = capped_count(
            select(AuditEvent.id).where(AuditEvent.id > frontier).order_by(AuditEvent.id.desc()), cap)
        status.update(waiting=waiting, waiting_capped=waiting_capped, counts_capped=waiting_capped)
        return status
    scope = _audit_events_in_scope(actor, roles)
    newest = AuditEvent.id.desc()
    sealed, sealed_capped = capped_count(
        scope.join(AuditSeal, AuditSeal.event_id == AuditEvent.id).order_by(newest), cap)
    waiting, waiting_capped = capped_count(scope.where(AuditEvent.id > frontier).order_by(newest), cap)
    status.update(sealed=sealed, waiting=waiting, head_seq=None, head_hash=None, scoped=True,
                  sealed_capped=sealed_capped, waiting_capped=waiting_capped,
                  counts_capped=sealed_capped or waiting_capped)
    return status

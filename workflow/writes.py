"""The hot path's SQL: loading the rows an action judges, and writing a group of transitions that share
(title, from, to): the state change with a version check per row, one audit event and one outbox row each.

It runs at the DBAPI level on the session's own connection (same transaction), because SQLAlchemy's per-statement
work costs more than the database does here (bench/engine_bench.py). Each database gets the fewest round trips it
allows: PostgreSQL one statement for all the writes (UPDATE ... FROM unnest(...) feeding two INSERT ... SELECT
through CTEs), SQLite three statements fed by one JSON parameter each. Only rows whose version still matches are
changed; the caller learns which from the ids returned.

One application (engine.fire) takes scalar statements, `a.id = %s` rather than `= ANY(array)` / unnest(array):
psycopg prepares a statement after a few executions, but PostgreSQL re-plans a prepared statement with an array
parameter on every call (its generic plan, which cannot know the array holds one id, looks dearer than a custom one),
while the scalar form settles on the cached generic plan; the re-planning of the three-table join and of the write's
CTE was most of the gap between our single action and a bare primary-key read (bench/engine_bench.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from .db import db
from .models import Application

APPS = Application.__table__

ROW_COLUMNS = ("a.id, a.state, a.version, u.path, u.area_class, c.title_code, a.rubric_id, a.score_total, "
               "a.score_min, a.scored_count, a.target_level, c.submit_deadline, c.closed_at, a.definition_id, "
               "a.subject_key")
ROW_FROM = ("applications a JOIN units u ON u.id = a.unit_id JOIN campaigns c ON c.id = a.campaign_id")


@dataclass(frozen=True, slots=True)
class Group:
    """What every row of the group shares: the transition, who did it, why, and its effects on the row."""

    title: str
    action: str
    source: str
    dest: str
    actor_id: int
    actor_name: str
    reason: str | None
    extra: dict[str, Any]  # merged into each audit payload (e.g. a decision id)
    with_score: bool  # the step judged the scores: record the total it judged
    effects: dict[str, Any]  # further columns set on the application (recognised_at, closed_reason, ...)

    def outbox_payload(self) -> str:
        return json.dumps({"action": self.action, "from": self.source, "to": self.dest, "actor_id": self.actor_id,
                           "title": self.title})


def cursor() -> tuple[str, Any]:
    """(dialect name, DBAPI cursor) on the session's connection, in its transaction: one per action, reused by
    load_row and apply so the session's connection bookkeeping is paid once."""
    conn = db.session.connection()
    return conn.dialect.name, conn.connection.cursor()


_cursor = cursor


def load_row(app_id: int, cur: tuple[str, Any] | None = None) -> tuple | None:
    """The columns `engine` judges by, for one application (not locked: the write's version check guards it)."""
    dialect, c = cur or cursor()
    c.execute(f"SELECT {ROW_COLUMNS} FROM {ROW_FROM} WHERE a.id = {'%s' if dialect == 'postgresql' else '?'}",
              (app_id,))
    return c.fetchone()


def load_rows(ids: list[int], lock: bool) -> list[tuple]:
    """The columns `engine` judges by, for these ids (locked FOR UPDATE on PostgreSQL when `lock`)."""
    dialect, cur = _cursor()
    if dialect == "postgresql":
        sql = f"SELECT {ROW_COLUMNS} FROM {ROW_FROM} WHERE a.id = ANY(%s)"
        if lock:
            sql += " ORDER BY a.id FOR UPDATE OF a"
        cur.execute(sql, (ids,))
    else:
        cur.execute(f"SELECT {ROW_COLUMNS} FROM {ROW_FROM} WHERE a.id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),))
    return cur.fetchall()


def apply(group: Group, rows: list[tuple[int, int, int]], now: datetime,
          cur: tuple[str, Any] | None = None) -> dict[int, int]:
    """rows: (application id, expected version, score total). Returns {application id: audit event id} for the
    rows changed; a row missing from the result had changed underneath (a conflict)."""
    if not rows:
        return {}
    dialect, cur = cur or cursor()
    if dialect == "postgresql":
        return _apply_pg(cur, group, rows, now)
    return _apply_sqlite(cur, group, rows, now)


@cache
def _pg_sql(effects: tuple[str, ...], with_score: bool, one: bool = False) -> str:
    """The write for a group; `one`: a single row by scalar parameters (a plan PostgreSQL can keep, see above)."""
    sets = ", ".join(["state = %(dest)s", "version = a.version + 1", "state_changed_at = %(now)s",
                      "last_action = %(action)s"]
                     + [f"{k} = %(e_{k})s" for k in effects])
    score = "|| jsonb_build_object('score_total', u.score_total) " if with_score else ""
    rows = ("" if one else "v AS (SELECT * FROM unnest(%(ids)s::integer[], %(versions)s::integer[]) AS t(id, ver)),")
    match = "a.id = %(id)s AND a.version = %(ver)s" if one else "a.id = v.id AND a.version = v.ver"
    return f"""
        WITH {rows}
        u AS (UPDATE applications a SET {sets} {"" if one else "FROM v"}
              WHERE {match} AND a.state = %(source)s
              RETURNING a.id, a.version, a.score_total),
        ev AS (INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state,
                                         reason, payload, created_at)
               SELECT u.id, %(actor_id)s, %(actor_name)s, %(action)s, %(source)s, %(dest)s, %(reason)s,
                      jsonb_build_object('version', u.version) {score}|| %(extra)s::jsonb, %(now)s
               FROM u ORDER BY u.id
               RETURNING id, application_id)
        INSERT INTO outbox_messages (kind, application_id, event_id, payload, created_at, attempts)
        SELECT 'transition', ev.application_id, ev.id, %(outbox)s::jsonb, %(now)s, 0 FROM ev
        RETURNING application_id, event_id"""


def _params(group: Group, now) -> dict[str, Any]:
    params = {f"e_{k}": v for k, v in group.effects.items()}
    params.update(source=group.source, dest=group.dest, now=now, actor_id=group.actor_id,
                  actor_name=group.actor_name, action=group.action, reason=group.reason,
                  extra=json.dumps(group.extra), outbox=group.outbox_payload())
    return params


def _apply_pg(cur, group: Group, rows, now) -> dict[int, int]:
    params = _params(group, now)
    one = len(rows) == 1
    if one:
        params.update(id=rows[0][0], ver=rows[0][1])
    else:
        params.update(ids=[r[0] for r in rows], versions=[r[1] for r in rows])
    cur.execute(_pg_sql(tuple(group.effects), group.with_score, one), params)
    return dict(cur.fetchall())


@cache
def _sqlite_sql(effects: tuple[str, ...]) -> tuple[str, str, str]:
    sets = ", ".join(["state = :dest", "version = version + 1", "state_changed_at = :now", "last_action = :action"]
                     + [f"{k} = :e_{k}" for k in effects])
    update = (f"UPDATE applications SET {sets} FROM (SELECT json_extract(value, '$[0]') AS id, "
              "json_extract(value, '$[1]') AS ver FROM json_each(:rows)) AS v "
              "WHERE applications.id = v.id AND applications.version = v.ver AND applications.state = :source "
              "RETURNING applications.id")
    audit = ("INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state, "
             "reason, payload, created_at) SELECT json_extract(value, '$[0]'), :actor_id, :actor_name, :action, "
             ":source, :dest, :reason, json_extract(value, '$[1]'), :now FROM json_each(:events) "
             "ORDER BY json_extract(value, '$[0]') RETURNING application_id, id")
    outbox = ("INSERT INTO outbox_messages (kind, application_id, event_id, payload, created_at, attempts) "
              "SELECT 'transition', json_extract(value, '$[0]'), json_extract(value, '$[1]'), :outbox, :now, 0 "
              "FROM json_each(:pairs)")
    return update, audit, outbox


@cache
def _sqlite_datetime():
    """SQLAlchemy's own storage format for DateTime on SQLite, so the ORM reads these values back."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    return APPS.c.state_changed_at.type.dialect_impl(dialect).bind_processor(dialect)


def _apply_sqlite(cur, group: Group, rows, now) -> dict[int, int]:
    to_text = _sqlite_datetime()
    update, audit, outbox = _sqlite_sql(tuple(group.effects))
    params = _params(group, to_text(now))
    for key, value in group.effects.items():
        if isinstance(value, datetime):
            params[f"e_{key}"] = to_text(value)
    cur.execute(update, params | {"rows": json.dumps([r[:2] for r in rows])})
    changed = {r[0] for r in cur.fetchall()}
    if not changed:
        return {}
    events = [[app_id, {"version": version + 1} | ({"score_total": total} if group.with_score else {})
               | group.extra] for app_id, version, total in rows if app_id in changed]
    cur.execute(audit, params | {"events": json.dumps(events)})
    written = dict(cur.fetchall())
    cur.execute(outbox, params | {"pairs": json.dumps(sorted(written.items()))})
    return written

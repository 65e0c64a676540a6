"""The writes of an import, set-wise per chunk on the session's own connection (like workflow/writes.py): the
applications, one creation audit event each and the scores, in one statement on PostgreSQL (CTEs over unnest) and
three on SQLite (json_each). A CCCD already live in the campaign, or inserted meanwhile by a concurrent twin, hits
the partial unique index and is skipped (ON CONFLICT DO NOTHING): it is counted as a duplicate, never created
twice."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .. import definitions
from ..authz import Actor
from ..db import db
from .rows import Context, ValidRow

APP_COLUMNS = ("campaign_id, rubric_id, unit_id, state, version, subject_key, full_name, full_name_folded, "
               "date_of_birth, citizen_id, subject_group, residence_unit_id, target_level, score_total, score_min, "
               "scored_count, created_by_id, created_at, state_changed_at, definition_id")

PG_SQL = f"""
WITH v AS (SELECT * FROM unnest(%(rows)s::integer[], %(units)s::integer[], %(states)s::text[], %(keys)s::text[],
                                %(names)s::text[], %(folded)s::text[], %(dobs)s::date[], %(groups)s::text[],
                                %(res)s::integer[], %(totals)s::integer[], %(mins)s::integer[],
                                %(counts)s::integer[], %(payloads)s::text[])
           AS t(row_no, unit_id, state, key, name, folded, dob, grp, res, total, low, cnt, payload)),
ins AS (INSERT INTO applications ({APP_COLUMNS})
        SELECT %(campaign)s, %(rubric)s, unit_id, state, 1, key, name, folded, dob, key, grp, res, 1, total, low,
               cnt, %(actor_id)s, %(now)s, %(now)s, %(definition)s FROM v ORDER BY row_no
        ON CONFLICT (campaign_id, subject_key) WHERE state <> 'withdrawn' DO NOTHING
        RETURNING id, subject_key, state),
ev AS (INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state, reason,
                                 payload, created_at)
       SELECT ins.id, %(actor_id)s, %(actor_name)s, 'create', NULL, ins.state, NULL, v.payload::jsonb, %(now)s
       FROM ins JOIN v ON v.key = ins.subject_key ORDER BY ins.id
       RETURNING id),
sc AS (INSERT INTO scores (application_id, criterion_code, value, scored_by_id, scored_at)
       SELECT ins.id, s.code, s.value, %(actor_id)s, %(now)s
       FROM unnest(%(s_keys)s::text[], %(s_codes)s::text[], %(s_values)s::integer[]) AS s(key, code, value)
       JOIN ins ON ins.subject_key = s.key
       RETURNING id)
SELECT ins.id, ins.subject_key, (SELECT count(*) FROM ev), (SELECT count(*) FROM sc) FROM ins"""

SQLITE_APPS = (f"INSERT INTO applications ({APP_COLUMNS}) "
               "SELECT :campaign, :rubric, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 1, "
               "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
               "json_extract(value, '$[5]'), json_extract(value, '$[2]'), json_extract(value, '$[6]'), "
               "json_extract(value, '$[7]'), 1, json_extract(value, '$[8]'), json_extract(value, '$[9]'), "
               "json_extract(value, '$[10]'), :actor_id, :now, :now, :definition FROM json_each(:rows) WHERE true "
               "ON CONFLICT DO NOTHING RETURNING id, subject_key, state")
SQLITE_EVENTS = ("INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state, "
                 "reason, payload, created_at) SELECT json_extract(value, '$[0]'), :actor_id, :actor_name, 'create', "
                 "NULL, json_extract(value, '$[1]'), NULL, json_extract(value, '$[2]'), :now FROM json_each(:events) "
                 "ORDER BY json_extract(value, '$[0]')")
SQLITE_SCORES = ("INSERT INTO scores (application_id, criterion_code, value, scored_by_id, scored_at) "
                 "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
                 ":actor_id, :now FROM json_each(:scores)")


def _prepared(ctx: Context, rows: list[ValidRow], job_id: int) -> list[dict[str, Any]]:
    from ..text import fold

    out = []
    required = {c.code for c in ctx.rubric.criteria_for(1)}
    for r in rows:
        total, low, count = ctx.rubric.summarise(r.scores, 1)
        payload: dict[str, Any] = {"subject_key": r.citizen_id, "unit_id": r.unit_id, "import_job": job_id,
                                   "row": r.row}
        if r.scores:
            payload["scores"] = r.scores
        out.append({"row": r.row, "unit": r.unit_id,
                    "state": ctx.scored_stage if required <= r.scores.keys() else ctx.first_stage,
                    "key": r.citizen_id, "name": r.full_name, "folded": fold(r.full_name), "dob": r.date_of_birth,
                    "group": r.subject_group, "res": r.residence_id, "total": total, "low": low, "count": count,
                    "payload": json.dumps(payload, ensure_ascii=False), "scores": r.scores})
    return out


def pg_params(prepared: list[dict[str, Any]], common: dict[str, Any], now: datetime) -> dict[str, Any]:
    s_keys, s_codes, s_values = [], [], []
    for p in prepared:
        for code, value in p["scores"].items():
            s_keys.append(p["key"])
            s_codes.append(code)
            s_values.append(value)
    return common | {
        "now": now, "rows": [p["row"] for p in prepared], "units": [p["unit"] for p in prepared],
        "states": [p["state"] for p in prepared], "keys": [p["key"] for p in prepared],
        "names": [p["name"] for p in prepared], "folded": [p["folded"] for p in prepared],
        "dobs": [p["dob"] for p in prepared], "groups": [p["group"] for p in prepared],
        "res": [p["res"] for p in prepared], "totals": [p["total"] for p in prepared],
        "mins": [p["low"] for p in prepared], "counts": [p["count"] for p in prepared],
        "payloads": [p["payload"] for p in prepared], "s_keys": s_keys, "s_codes": s_codes, "s_values": s_values}


def write_chunk(ctx: Context, rows: list[ValidRow], actor: Actor, job_id: int, now: datetime) -> int:
    """Insert the chunk's valid rows; returns how many were created (the rest were duplicates)."""
    if not rows:
        return 0
    prepared = _prepared(ctx, rows, job_id)
    conn = db.session.connection()
    cur = conn.connection.cursor()
    common = {"campaign": ctx.campaign.id, "rubric": ctx.campaign.rubric_id, "actor_id": actor.id,
              "definition": ctx.campaign.definition_id or definitions.first_id(ctx.campaign.title_code),
              "actor_name": actor.username}
    if conn.dialect.name == "postgresql":
        cur.execute(PG_SQL, pg_params(prepared, common, now))
        return len(cur.fetchall())
    from ..writes import _sqlite_datetime

    stamp = _sqlite_datetime()(now)
    cur.execute(SQLITE_APPS, common | {"now": stamp, "rows": json.dumps([
        [p["unit"], p["state"], p["key"], p["name"], p["folded"], p["dob"].isoformat(), p["group"], p["res"],
         p["total"], p["low"], p["count"]] for p in prepared], ensure_ascii=False)})
    created = cur.fetchall()
    if not created:
        return 0
    by_key = {p["key"]: p for p in prepared}
    events = [[app_id, state, json.loads(by_key[key]["payload"])] for app_id, key, state in created]
    cur.execute(SQLITE_EVENTS, common | {"now": stamp, "events": json.dumps(events, ensure_ascii=False)})
    scores = [[app_id, code, value] for app_id, key, _s in created for code, value in by_key[key]["scores"].items()]
    if scores:
        cur.execute(SQLITE_SCORES, common | {"now": stamp, "scores": json.dumps(scores)})
    return len(created)


def live_keys(campaign_id: int, keys: list[str]) -> set[str]:
    """Which of these CCCDs already have a live file in the campaign (a preview's duplicates)."""
    if not keys:
        return set()
    conn = db.session.connection()
    cur = conn.connection.cursor()
    if conn.dialect.name == "postgresql":
        cur.execute("SELECT subject_key FROM applications WHERE campaign_id = %s AND subject_key = ANY(%s) "
                    "AND state <> 'withdrawn'", (campaign_id, keys))
    else:
        cur.execute("SELECT subject_key FROM applications WHERE campaign_id = ? AND state <> 'withdrawn' AND "
                    "subject_key IN (SELECT value FROM json_each(?))", (campaign_id, json.dumps(keys)))
    return {r[0] for r in cur.fetchall()}

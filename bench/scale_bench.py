"""A province at the 2030 target (issue 10, section 1): seed it set-wise, then time every page and API list.

Usage:
  python bench/scale_bench.py DATABASE_URL [--applications N] [--seed-only] [--password P]
                              [--clients 20] [--seconds 40] [--skip-concurrent] [--repeat 20] [--budget 8]
                              [--no-seed] [--checked-load]
DATABASE_URL must be PostgreSQL (the seeding is PostgreSQL SQL: generate_series, window functions). The schema is
dropped and rebuilt by the migrations, then workflow.demo.seed builds the demo province, its users (password
--password) and campaigns; the other communes of ../shared/data/bac_ninh_communes_2025.csv are added with about ten
branches each (one officer per branch, one appraiser per commune), and N applications of the demo's CDHT campaign
with one "create" audit event each and one for the transition that brought the file to its present state.
Not seeded: scores and evidence rows of the bulk files, decisions, notifications; the bulk audit events are left
unsealed (the HMAC chain is sequential by design: sealing millions is the sealer's job, not the benchmark's).
Then, with one user in process (Flask test client), p50/p95 of every page and API list for four roles, and with
--clients concurrent clients through gunicorn (4 workers) a mix of queue, name search, state filter and home.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, percentile  # noqa: E402

SLOW_MS = 150.0
BRANCHES_PER_COMMUNE = 10
# Late November: where a year's files stand (cumulative shares, in the order of the CASE below).
STATE_SHARES = [("evidence_collection", 0.35), ("branch_scoring", 0.20), ("commune_appraisal", 0.15),
                ("final_approval", 0.10), ("recognised", 0.15), ("rejected", 0.03), ("withdrawn", 0.02)]
# Nguyễn is about four in ten Vietnamese: repeated so that the draw follows the real shape.
FAMILY = (["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm"] * 2
          + ["Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý", "Đào", "Trịnh", "Mai", "Đinh", "Lương",
             "Hồ", "Tạ", "Chu", "Phan", "Vương", "Thân", "Giáp"])
MIDDLE_M = ["Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Xuân", "Công", "Mạnh", "Trọng", "Tiến",
            "Ngọc", "Duy", "Anh"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Minh", "Thùy", "Phương", "Hồng", "Kim", "Bích",
            "Thảo", "Diệu", "Lan"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh",
           "Khoa", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tâm", "Thắng",
           "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ"]
GIVEN_F = ["Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Huệ", "Hương",
           "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Tâm",
           "Thảo", "Thoa", "Thủy", "Trang", "Tuyết", "Uyên", "Vân", "Yến"]
REJECT_REASONS = ["Minh chứng tiêu chí 1.3 không xác thực", "Không đủ điểm tối thiểu tiêu chí 2.1",
                  "Hồ sơ không thuộc địa bàn cư trú"]
WITHDRAW_REASONS = ["Người được đề cử chuyển nơi cư trú", "Người được đề cử xin rút hồ sơ"]
# The demo's users who measure (workflow/demo.py names them).
ROLES = [("commune appraiser", "xa1.thamdinh"), ("provincial approver", "tinh.pheduyet"),
         ("auditor", "tinh.kiemtoan"), ("branch officer", "xa1.chihoi1")]
OWN_STATE = {"xa1.thamdinh": "commune_appraisal", "tinh.pheduyet": "final_approval",
             "tinh.kiemtoan": "recognised", "xa1.chihoi1": "evidence_collection"}


# ---------------------------------------------------------------- seeding

def _other_communes_csv(path: Path, skip: int) -> Path:
    """The commune list without the rows the demo already loaded (it loads the first `skip`)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    out = Path(tempfile.mkdtemp()) / "communes.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([rows[0], *rows[1 + skip:]])
    return out


def _units_and_officers(password_hash: str) -> None:
    """The other communes, ten branches each, one officer per branch and one appraiser per new commune."""
    from sqlalchemy import select, text

    from workflow import demo
    from workflow.db import db
    from workflow.loader import add_unit, load_communes_csv
    from workflow.models import Unit

    province = db.session.scalar(select(Unit).filter_by(code=demo.PROVINCE_CODE))
    if demo.SHARED_DATA.exists():
        load_communes_csv(_other_communes_csv(demo.SHARED_DATA, 3), province)
    communes = list(db.session.scalars(select(Unit).where(Unit.level == "commune").order_by(Unit.id)))
    for commune in communes:
        have = db.session.scalar(select(db.func.count()).select_from(Unit).where(Unit.parent_id == commune.id))
        hamlet = "tổ dân phố" if commune.kind == "phường" else "thôn"
        for j in range(have + 1, BRANCHES_PER_COMMUNE + 1):
            add_unit(f"{commune.code}-CH{j}", f"Chi hội khuyến học {hamlet} {j}, {commune.name}", "branch",
                     commune, population=900 + 37 * j)
    db.session.flush()
    # One person per role where the demo named none, set-wise (the same password as the demo's users).
    for role, level, prefix in (("branch_officer", "branch", "chihoi"), ("commune_appraiser", "commune", "thamdinh")):
        db.session.execute(text("""
            WITH todo AS (SELECT u.id, u.code, u.name FROM units u WHERE u.level = :level
                          AND NOT EXISTS (SELECT 1 FROM role_grants g WHERE g.unit_id = u.id AND g.role = :role)),
            made AS (INSERT INTO users (username, password_hash, full_name, email, locale, active, session_epoch,
                                        created_at)
                     SELECT :prefix || '.' || lower(todo.code), :pw,
                            CASE WHEN :level = 'branch' THEN 'Chi hội trưởng, ' ELSE 'Cán bộ thẩm định ' END
                            || todo.name, :prefix || '.' || lower(todo.code) || '@demo.hoctap.local', 'vi', true, 0,
                            now()
                     FROM todo RETURNING id, username)
            INSERT INTO role_grants (user_id, role, unit_id)
            SELECT made.id, :role, todo.id FROM made JOIN todo ON made.username = :prefix || '.' || lower(todo.code)
        """), {"level": level, "role": role, "prefix": prefix, "pw": password_hash})
    db.session.commit()


def _cases(column: str) -> str:
    """A CASE mapping a uniform draw in [0, 1) to the late-November state shares."""
    parts, edge = [], 0.0
    for state, share in STATE_SHARES[:-1]:
        edge += share
        parts.append(f"WHEN {column} < {edge:.4f} THEN '{state}'")
    return "CASE " + " ".join(parts) + f" ELSE '{STATE_SHARES[-1][0]}' END"


WORD_LISTS = {"fam": FAMILY, "mm": MIDDLE_M, "mf": MIDDLE_F, "gm": GIVEN_M, "gf": GIVEN_F}


def _pick(female: str, male: str, draw: str) -> str:
    """SQL choosing a word of the female or male list by the row's draw (lists are bound as text[] parameters)."""
    nf, nm = len(WORD_LISTS[female.removesuffix("_f")]), len(WORD_LISTS[male.removesuffix("_f")])
    return (f"CASE WHEN s.female THEN (CAST(:{female} AS text[]))[1 + s.{draw} % {nf}]"
            f" ELSE (CAST(:{male} AS text[]))[1 + s.{draw} % {nm}] END")


def _unchecked_load() -> list[str]:
    """Bulk-load mode (superuser): foreign-key triggers off for this transaction and the secondary indexes of
    applications and audit_events dropped, to be rebuilt once at the end (CREATE INDEX over sorted data is many
    times cheaper than maintaining them row by row). The rows are consistent by construction: every reference
    comes from the units, users and campaign just read. Returns the CREATE INDEX statements to run afterwards."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from workflow.db import db

    try:
        with db.session.begin_nested():
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        print("not a superuser: loading with foreign-key checks and live indexes (slower)", flush=True)
        return []
    rows = db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename IN ('applications', 'audit_events') AND indexname NOT LIKE 'pk\\_%'")).all()
    for name, _ in rows:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    return [ddl for _, ddl in rows]


def _applications(n: int, fast: bool = True) -> int:
    """N CDHT files spread over the branches, and their audit events, in a few statements."""
    from sqlalchemy import select, text

    from workflow.db import db
    from workflow.models import Campaign, Unit
    from workflow.text import fold

    campaign = db.session.scalar(select(Campaign).filter_by(title_code="CDHT")  # this year's: the demo also
                                 .order_by(Campaign.year.desc(), Campaign.id))  # holds two past years (issue 11)
    branches = list(db.session.scalars(select(Unit.id).where(Unit.level == "branch").order_by(Unit.id)))
    params: dict[str, Any] = {"n": n, "branches": branches, "campaign": campaign.id, "rubric": campaign.rubric_id,
                              "rej": REJECT_REASONS, "wd": WITHDRAW_REASONS}
    for key, words in WORD_LISTS.items():
        params[key], params[key + "_f"] = words, [fold(w) for w in words]
    conn = db.session
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    conn.execute(text("SELECT setseed(0.2026)"))
    rebuild = _unchecked_load() if fast else []
    conn.execute(text(f"""
        CREATE TEMP TABLE seed_draw ON COMMIT DROP AS
        SELECT g, b.branch, b.female, b.fi, b.mi, b.gi, b.dob, b.prov, {_cases('b.rs')} AS state,
               now() - (b.age * interval '29 days') AS created_at, b.later
        FROM generate_series(1, :n) g,
        LATERAL (SELECT (CAST(:branches AS int[]))[1 + floor(random() * cardinality(CAST(:branches AS int[])))::int]
                        AS branch,
                        random() < 0.52 AS female,
                        1 + floor(random() * cardinality(CAST(:fam AS text[])))::int AS fi,
                        floor(random() * 1000)::int AS mi, floor(random() * 1000)::int AS gi,
                        date '1958-01-01' + floor(random() * 47 * 365)::int AS dob,
                        CASE WHEN random() < 0.55 THEN '024' ELSE '027' END AS prov,
                        random() AS rs, random() AS age, random() AS later
                 WHERE g > 0) b
    """), params)
    conn.execute(text(f"""
        INSERT INTO applications (campaign_id, rubric_id, unit_id, state, version, subject_key, full_name,
                                  full_name_folded, date_of_birth, citizen_id, subject_group, residence_unit_id,
                                  target_level, score_total, scored_count, closed_reason, recognised_at,
                                  created_by_id, created_at, state_changed_at)
        SELECT :campaign, :rubric, d.branch, d.state,
               CASE d.state WHEN 'evidence_collection' THEN 1 WHEN 'branch_scoring' THEN 2
                            WHEN 'commune_appraisal' THEN 3 WHEN 'final_approval' THEN 4 WHEN 'recognised' THEN 5
                            WHEN 'rejected' THEN 4 ELSE 3 END,
               d.cid, d.full_name, d.folded, d.dob, d.cid, (1 + d.g % 3)::text, d.branch, 1, 0, 0,
               CASE d.state WHEN 'rejected' THEN (CAST(:rej AS text[]))[1 + d.g % 3]
                            WHEN 'withdrawn' THEN (CAST(:wd AS text[]))[1 + d.g % 2] END,
               CASE WHEN d.state = 'recognised' THEN d.changed END, o.user_id, d.created_at,
               CASE WHEN d.state = 'evidence_collection' THEN d.created_at ELSE d.changed END
        FROM (SELECT s.*,
                     s.created_at + (now() - s.created_at) * s.later AS changed,
                     (CAST(:fam AS text[]))[s.fi] || ' ' || {_pick('mf', 'mm', 'mi')} || ' '
                       || {_pick('gf', 'gm', 'gi')} AS full_name,
                     (CAST(:fam_f AS text[]))[s.fi] || ' ' || {_pick('mf_f', 'mm_f', 'mi')} || ' '
                       || {_pick('gf_f', 'gm_f', 'gi')} AS folded,
                     s.pfx || lpad(((row_number() OVER (PARTITION BY s.pfx ORDER BY s.g)) * 7919 % 1000000)::text,
                                   6, '0') AS cid
              FROM (SELECT seed_draw.*,
                           prov || CASE WHEN extract(year FROM dob) >= 2000
                                        THEN CASE WHEN female THEN '3' ELSE '2' END
                                        ELSE CASE WHEN female THEN '1' ELSE '0' END END
                                || to_char(dob, 'YY') AS pfx
                    FROM seed_draw) s) d
        LEFT JOIN LATERAL (SELECT min(g.user_id) AS user_id FROM role_grants g
                           WHERE g.unit_id = d.branch AND g.role = 'branch_officer') o ON true
        WHERE NOT EXISTS (SELECT 1 FROM applications x WHERE x.campaign_id = :campaign AND x.subject_key = d.cid
                          AND x.state <> 'withdrawn')  -- the demo's own nominees; ours are unique by construction
        ORDER BY d.created_at
    """), params)
    first_bulk = conn.scalar(text("SELECT min(id) FROM applications WHERE id > (SELECT coalesce(max(application_id),"
                                  " 0) FROM audit_events)"))
    # Who acts at each step: the branch's officer, the commune's appraiser, the province's approver.
    conn.execute(text("""
        CREATE TEMP TABLE seed_actor ON COMMIT DROP AS
        SELECT b.id AS branch, bo.id AS officer_id, bo.username AS officer, ca.id AS appraiser_id,
               ca.username AS appraiser
        FROM units b
        LEFT JOIN LATERAL (SELECT u.id, u.username FROM role_grants g JOIN users u ON u.id = g.user_id
                           WHERE g.unit_id = b.id AND g.role = 'branch_officer' ORDER BY u.id LIMIT 1) bo ON true
        LEFT JOIN LATERAL (SELECT u.id, u.username FROM role_grants g JOIN users u ON u.id = g.user_id
                           WHERE g.unit_id = b.parent_id AND g.role = 'commune_appraiser' ORDER BY u.id LIMIT 1) ca
               ON true
        WHERE b.level = 'branch'
    """))
    approver = conn.execute(text("SELECT id, username FROM users WHERE username = 'tinh.pheduyet'")).one()
    conn.execute(text("""
        INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state, reason,
                                  payload, created_at)
        SELECT a.id, s.officer_id, coalesce(s.officer, ''), 'create', NULL, 'evidence_collection', NULL,
               jsonb_build_object('subject_key', a.subject_key, 'unit_id', a.unit_id), a.created_at
        FROM applications a JOIN seed_actor s ON s.branch = a.unit_id
        WHERE a.id >= :first ORDER BY a.id
    """), {"first": first_bulk})
    conn.execute(text("""
        INSERT INTO audit_events (application_id, actor_id, actor_name, action, from_state, to_state, reason,
                                  payload, created_at)
        SELECT a.id,
               CASE WHEN a.state IN ('branch_scoring', 'commune_appraisal', 'withdrawn') THEN s.officer_id
                    WHEN a.state IN ('final_approval', 'rejected') THEN s.appraiser_id ELSE :approver_id END,
               coalesce(CASE WHEN a.state IN ('branch_scoring', 'commune_appraisal', 'withdrawn') THEN s.officer
                             WHEN a.state IN ('final_approval', 'rejected') THEN s.appraiser
                             ELSE :approver END, ''),
               CASE a.state WHEN 'branch_scoring' THEN 'submit' WHEN 'commune_appraisal' THEN 'submit'
                            WHEN 'withdrawn' THEN 'withdraw' WHEN 'rejected' THEN 'reject' ELSE 'approve' END,
               CASE a.state WHEN 'branch_scoring' THEN 'evidence_collection' WHEN 'commune_appraisal'
                            THEN 'branch_scoring' WHEN 'withdrawn' THEN 'branch_scoring'
                            WHEN 'rejected' THEN 'commune_appraisal' WHEN 'final_approval' THEN 'commune_appraisal'
                            ELSE 'final_approval' END,
               a.state, a.closed_reason, jsonb_build_object('version', a.version), a.state_changed_at
        FROM applications a JOIN seed_actor s ON s.branch = a.unit_id
        WHERE a.id >= :first AND a.state <> 'evidence_collection' ORDER BY a.id
    """), {"first": first_bulk, "approver_id": approver[0], "approver": approver[1]})
    # The ICT indicator's score of the files past branch scoring (issue 11: the digital-skills share reads it).
    conn.execute(text("""
        INSERT INTO scores (application_id, criterion_code, value, scored_by_id, scored_at)
        SELECT a.id, '2.1', 3 + floor(random() * 8)::int, a.created_by_id, a.created_at
        FROM applications a
        WHERE a.id >= :first AND a.state IN ('commune_appraisal', 'final_approval', 'recognised', 'rejected')
    """), {"first": first_bulk})
    for ddl in rebuild:  # the unique index is rebuilt too: it would refuse a duplicate live CCCD here
        conn.execute(text(ddl))
    if rebuild:
        conn.execute(text("SET LOCAL session_replication_role = origin"))
    made = conn.scalar(text("SELECT count(*) FROM applications WHERE id >= :first"), {"first": first_bulk})
    db.session.commit()
    return made


def seed(url: str, n: int, password: str, fast: bool = True) -> dict[str, Any]:
    """Drop and rebuild the schema, seed the demo, then the province at scale; ANALYZE. Returns timings."""
    import contextlib
    import io

    from flask_migrate import upgrade
    from sqlalchemy import text

    from web import create_app
    from workflow import demo
    from workflow.db import db
    from workflow.passwords import hash_password

    app = create_app({"UPLOAD_DIR": tempfile.mkdtemp(prefix="scale-uploads-")})
    times: dict[str, Any] = {}
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("scale_bench seeds with PostgreSQL SQL: give a postgresql:// DATABASE_URL")
        t0 = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade(revision="heads")
        times["schema"] = time.perf_counter() - t0
        t = time.perf_counter()
        demo.seed(password, app.config["UPLOAD_DIR"])
        times["demo"] = time.perf_counter() - t
        t = time.perf_counter()
        _units_and_officers(hash_password(password))
        times["units"] = time.perf_counter() - t
        t = time.perf_counter()
        times["applications"] = _applications(n, fast)
        from workflow import summary

        summary.rebuild()  # the fast load ran with triggers off (replica): count once, as an operator would
        from workflow.reports import transitions

        transitions.rebuild()  # files per stage and outcome (issue 11, B2), from the events loaded the same way
        db.session.commit()
        times["bulk"] = time.perf_counter() - t
        t = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # the steady state autovacuum keeps: visibility maps set
        times["analyze"] = time.perf_counter() - t
        times["total"] = time.perf_counter() - t0
        counts = db.session.execute(text(
            "SELECT (SELECT count(*) FROM units WHERE level = 'commune'), (SELECT count(*) FROM units WHERE level ="
            " 'branch'), (SELECT count(*) FROM users), (SELECT count(*) FROM applications),"
            " (SELECT count(*) FROM audit_events)")).one()
        times.update(communes=counts[0], branches=counts[1], users=counts[2], all_applications=counts[3],
                     audit_events=counts[4])
        states = db.session.execute(text("SELECT state, count(*) FROM applications GROUP BY state ORDER BY 2 DESC"))
        times["states"] = {s: c for s, c in states}
    return times


# ---------------------------------------------------------------- one user, in process

def _fixtures() -> dict[str, Any]:
    """Ids the routes need: the CDHT campaign, a commune and branch of the demo, a file in every role's scope."""
    from sqlalchemy import select, text

    from workflow import clock
    from workflow.db import db
    from workflow.models import Campaign, RoleGrant, Unit, User

    def unit_of(username: str) -> int:
        return db.session.scalar(select(RoleGrant.unit_id).join(User).where(User.username == username))

    branch = unit_of("xa1.chihoi1")
    app_id, cccd = db.session.execute(text(
        "SELECT id, citizen_id FROM applications WHERE unit_id = :b AND citizen_id IS NOT NULL ORDER BY id DESC"
        " LIMIT 1"), {"b": branch}).one()
    deep = db.session.scalar(text("SELECT id FROM applications ORDER BY id DESC OFFSET 50000 LIMIT 1"))
    return {"province": db.session.scalar(select(Unit.id).where(Unit.level == "province").order_by(Unit.id)),
            "year": clock.today().year,
            "campaign": db.session.scalar(select(Campaign.id).filter_by(title_code="CDHT")
                                          .order_by(Campaign.year.desc(), Campaign.id)),  # this year's (issue 11)
            "commune": unit_of("xa1.thamdinh"), "branch": branch, "app": app_id, "cccd": cccd, "deep": deep}


def routes(username: str, f: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) of every page and API list a user of the role would open, as the app has them today."""
    state = OWN_STATE[username]
    unit = f["branch"] if username.endswith("chihoi1") else f["commune"]
    prefix = f["cccd"][:6]
    home = {"tinh.pheduyet": f["province"], "tinh.kiemtoan": f["province"], "xa1.chihoi1": f["branch"]}.get(
        username, f["commune"])  # the unit of the role's own grant: its dashboard and annual report
    # The queue's variants, as the page and as the API list: (label, query string).
    queue = [("", ""), (f"?state={state}", f"?state={state}"), ("?unit=", f"?unit={unit}"),
             ("?campaign=", f"?campaign={f['campaign']}"), ("?q=nguyen thi", "?q=nguyen+thi"),
             (f"?q={prefix}", f"?q={prefix}")]
    pages = [("home /", "/"),
             *((f"queue /applications {label}".rstrip(), f"/applications{query}") for label, query in queue),
             ("queue deep page ?before= (50,000 files in)", f"/applications?state=all&before={f['deep']}"),
             ("detail /applications/<id>", f"/applications/{f['app']}"),
             ("timeline", f"/applications/{f['app']}/timeline"),
             ("audit log /audit/log", "/audit/log"),
             ("decisions /decisions", "/decisions"),
             ("new decision /decisions/new", "/decisions/new"),
             ("inbox /inbox", "/inbox"),
             ("campaigns /campaigns", "/campaigns"),
             ("citizen history /citizens/<cccd>", f"/citizens/{f['cccd']}"),
             ("flagged /citizens/flagged", "/citizens/flagged"),
             ("reports /reports/<own unit>", f"/reports/{home}"),
             ("reports list ?list=holders", f"/applications?list=holders&title=CDHT&on={f['year']}-12-01"
                                            f"&unit={f['branch'] if username.endswith('chihoi1') else home}"),
             *([] if username.endswith("chihoi1") else  # a province's or a commune's report, not a branch's
               [("annual report /reports/annual", f"/reports/annual?unit={home}&year={f['year']}"),
                ("home's headline figures /reports/headline", "/reports/headline")])]
    api = [*((f"API applications {label}".rstrip(), f"/api/v1/applications{query}") for label, query in queue),
           ("API deep page ?before=", f"/api/v1/applications?before={f['deep']}"),
           ("API page 2000 (OFFSET, kept for old clients)", "/api/v1/applications?page=2000"),
           ("API application <id>", f"/api/v1/applications/{f['app']}"),
           ("API history <id>", f"/api/v1/applications/{f['app']}/history"),
           ("API flagged", "/api/v1/citizens/flagged"),
           ("API notifications", "/api/v1/notifications"),
           ("API reports coverage", f"/api/v1/reports/coverage?unit={home}&year={f['year']}"),
           *([] if username.endswith("chihoi1") else
             [("API reports annual json", f"/api/v1/reports/annual?unit={home}&year={f['year']}&format=json"),
              ("API reports annual xlsx", f"/api/v1/reports/annual?unit={home}&year={f['year']}&format=xlsx")])]
    return pages + api




Row = tuple[str, int, int, float, float]  # label, status, samples, p50 ms, p95 ms


def selected(pairs: list[tuple[str, str]], only: list[str] | None,
             extra: list[str] | None = None) -> list[tuple[str, str]]:
    """--only / --extra: the routes whose label or URL contains one of `only` (all when None), plus `extra` URLs."""
    picked = [(label, url) for label, url in pairs if not only or any(o in label or o in url for o in only)]
    return picked + [(url, url) for url in extra or []]


def measure_in_process(password: str, repeat: int, budget: float, only: list[str] | None = None,
                       extra: list[str] | None = None) -> dict[str, list[Row]]:
    """Per role: (label, status, samples, p50 ms, p95 ms). One warm-up request per route is not counted; a
    route stops after `budget` seconds once it has five samples (the slowest pages would otherwise take minutes)."""
    from web import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "LOGIN_ACCOUNT_LIMIT": "1000 per minute",
                      "LOGIN_ADDRESS_LIMIT": "1000 per minute", "NOTIFY_INLINE": False})
    out: dict[str, list[Row]] = {}
    with app.app_context():
        fixtures = _fixtures()
    for role, username in ROLES:
        client = app.test_client()
        r = client.post("/login", data={"username": username, "password": password})
        if r.status_code not in (200, 302):
            raise SystemExit(f"login of {username} answered {r.status_code}")
        token = client.post("/api/v1/tokens", json={"username": username, "password": password}).get_json()["token"]
        rows = []
        for label, url in selected(routes(username, fixtures), only, extra):
            headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
            status = client.get(url, headers=headers).status_code  # warm-up
            samples: list[float] = []
            started = time.perf_counter()
            while len(samples) < repeat and (len(samples) < 5 or time.perf_counter() - started < budget):
                t = time.perf_counter()
                resp = client.get(url, headers=headers)
                samples.append((time.perf_counter() - t) * 1000)
                status = resp.status_code
            rows.append((label, status, len(samples), statistics.median(samples), percentile(samples, 95)))
            print(f"  {username:14} {label:36} {status} p50 {rows[-1][3]:8.1f} ms  p95 {rows[-1][4]:8.1f} ms"
                  f"  (n={len(samples)})", flush=True)
        out[role] = rows
    return out


def print_tables(results: dict[str, list[Row]]) -> None:
    for role, rows in results.items():
        print(f"\n### {role}\n| route | status | n | p50 ms | p95 ms | > {SLOW_MS:.0f} ms |\n|---|---|---|---|---|---|")
        for label, status, n, p50, p95 in rows:
            mark = "**slow**" if p95 > SLOW_MS and status == 200 else ""
            print(f"| {label} | {status} | {n} | {p50:.1f} | {p95:.1f} | {mark} |")


# ---------------------------------------------------------------- concurrent clients through gunicorn

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_concurrent(url: str, password: str, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads, each logged in as one of the four demo users, cycling through the queue, a name search,
    a state filter and the home page against gunicorn (4 workers) for `seconds`."""
    import requests

    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url.replace("postgresql+psycopg://", "postgresql://"),
               SECRET_KEY=secrets.token_hex(32), AUDIT_KEY=os.environ.get("AUDIT_KEY") or secrets.token_hex(32),
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="4", GUNICORN_ACCESSLOG="",
               GUNICORN_TIMEOUT="120", LOGIN_ACCOUNT_LIMIT="1000 per minute",
               LOGIN_ADDRESS_LIMIT="1000 per minute", NOTIFY_INLINE="0")
    env.pop("REDIS_URL", None)
    log = open(Path(tempfile.mkdtemp()) / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:web.gunicorn_conf", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/health/live", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise SystemExit(f"gunicorn did not start; see {log.name}")
        mix = ["/applications", "/applications?q=nguyen+van", None, "/"]
        sessions = []
        for i in range(clients):
            username = ROLES[i % len(ROLES)][1]
            s = requests.Session()
            page = s.get(base + "/login", timeout=30).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            r = s.post(base + "/login", data={"username": username, "password": password, "csrf_token": token},
                       timeout=60, allow_redirects=False)
            if r.status_code != 302:
                raise SystemExit(f"gunicorn login of {username} answered {r.status_code}")
            sessions.append((s, username))
        samples: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def run(s: requests.Session, username: str, offset: int) -> None:
            k = offset
            while time.perf_counter() < deadline:
                path = mix[k % len(mix)] or f"/applications?state={OWN_STATE[username]}"
                k += 1
                t = time.perf_counter()
                try:
                    r = s.get(base + path, timeout=120)
                    code = r.status_code
                except requests.RequestException:
                    code = 0
                took = (time.perf_counter() - t) * 1000
                with lock:
                    if code == 200:
                        samples.append(took)
                    else:
                        errors.append(code)

        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(s, u, i)) for i, (s, u) in enumerate(sessions)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    return {"answers": len(samples), "errors": len(errors), "error_codes": sorted(set(errors)), "wall_s": wall,
            "per_s": len(samples) / wall if wall else 0.0,
            "p50": statistics.median(samples) if samples else float("nan"),
            "p95": percentile(samples, 95) if samples else float("nan")}


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--applications", type=int, default=2_000_000)
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--no-seed", action="store_true", help="measure a database seeded before")
    parser.add_argument("--checked-load", action="store_true",
                        help="keep foreign-key checks and indexes live while loading (slower; no superuser needed)")
    parser.add_argument("--password", default="hoctap-demo")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="requests per route and role")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per route before it stops at 5 samples")
    parser.add_argument("--only", type=lambda v: [p for p in v.split(",") if p], default=None,
                        help="comma-separated substrings: time only the routes whose label or URL contains one")
    parser.add_argument("--extra", action="append", default=None, metavar="URL",
                        help="also time this URL for every role (repeatable)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # the migrations directory and gunicorn's wsgi module are found from here
    url = database_url(args.database_url, "scale")
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # the demo's notifications are delivered in process
    os.environ.setdefault("AUDIT_KEY", secrets.token_hex(32))  # the same key for seeding and measuring
    print(f"scale_bench: {args.applications:,} applications, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    if not args.no_seed:
        times = seed(url, args.applications, args.password, fast=not args.checked_load)
        print(f"seeded in {times['total']:.1f} s (schema {times['schema']:.1f}, demo {times['demo']:.1f}, units "
              f"{times['units']:.1f}, applications + audit {times['bulk']:.1f}, ANALYZE {times['analyze']:.1f}): "
              f"{times['communes']} communes, {times['branches']} branches, {times['users']} users, "
              f"{times['all_applications']:,} applications, {times['audit_events']:,} audit events", flush=True)
        print("states: " + ", ".join(f"{s} {c:,}" for s, c in times["states"].items()), flush=True)
    if args.seed_only:
        return
    print("\none user at a time, in process (Flask test client):", flush=True)
    print_tables(measure_in_process(args.password, args.repeat, args.budget, args.only, args.extra))
    if not args.skip_concurrent:
        print(f"\n{args.clients} concurrent clients through gunicorn (4 workers) for {args.seconds:.0f} s, mixing "
              "queue, name search, state filter and home:", flush=True)
        c = measure_concurrent(url, args.password, args.clients, args.seconds)
        print(f"answers {c['answers']} ({c['per_s']:.1f}/s), errors {c['errors']} {c['error_codes']}, "
              f"p50 {c['p50']:.0f} ms, p95 {c['p95']:.0f} ms", flush=True)


if __name__ == "__main__":
    main()

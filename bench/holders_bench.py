"""Who holds a title (issue 11, part B1): time the coverage, XHT share and digital-skills figures and the queue's list
behind them on a province of N files, most of them recognised.

Usage:
  python bench/holders_bench.py DATABASE_URL [--applications 400000] [--repeat 7] [--no-seed]
DATABASE_URL: PostgreSQL. The schema is dropped and rebuilt by the migrations, then loaded set-wise (generate_series,
as tests/test_explain.py does): one province of 99 communes and 990 branches, a CDHT campaign for 2026 (three files
in four) and one for 2025 (one in four; a third of its people also have a 2026 file, half of its recognitions made
after 02/12/2025 so they still hold on 02/12/2026), 60% of the files recognised, an ICT score (criterion 2.1,
0 to 10) for every recognised file, and an XHT campaign for 2024 and 2026 with one file per commune. Then VACUUM
ANALYZE, and p50 / p95 / max of each figure (workflow.reports.indicators, in process, each sample in a new
transaction; then the four a province's dashboard asks for, in one) and of the queue's list page for the
province (the Flask test client: view, exact count, page and rendering), for "today" 02/12/2026.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url  # noqa: E402
from bench.common import timed as _timed  # noqa: E402


def timed(label: str, fn, repeat: int) -> list[float]:
    """A new transaction for each run: nothing counted in the last one is reused."""
    return _timed(label, fn, repeat, fresh=True, width=58)

PASSWORD = "bench-password-1"






SEED = """
INSERT INTO units (id, code, name, name_folded, level, parent_id, path, area_class, valid_from)
VALUES (1, 'BT', 'Tỉnh Đo', 'tinh do', 'province', NULL, '/1/', 'ordinary', DATE '2025-07-01');
INSERT INTO units (id, code, name, name_folded, level, parent_id, path, area_class, valid_from)
SELECT c, 'X' || c, 'Xã ' || c, 'xa ' || c, 'commune', 1, '/1/' || c || '/', 'ordinary', DATE '2025-07-01'
FROM generate_series(2, 100) c;
INSERT INTO units (id, code, name, name_folded, level, parent_id, path, area_class, valid_from)
SELECT 100 + g, 'B' || (100 + g), 'Chi hội ' || g, 'chi hoi ' || g, 'branch', 2 + (g - 1) / 10,
       '/1/' || (2 + (g - 1) / 10) || '/' || (100 + g) || '/', 'ordinary', DATE '2025-07-01'
FROM generate_series(1, 990) g;
SELECT setval(pg_get_serial_sequence('units', 'id'), 2000);
INSERT INTO campaigns (id, title_code, year, province_id, rubric_id, name, opens_on, submit_deadline,
                       decision_deadline, stage_limit_days, escalate_after_days)
SELECT v.id, v.t, v.y, 1, (SELECT id FROM rubrics WHERE title_code = v.t ORDER BY id LIMIT 1), v.t || ' ' || v.y,
       make_date(v.y, 1, 1), make_date(v.y, 10, 31), make_date(v.y + 1, 1, 31), 14, 28
FROM (VALUES (1, 'CDHT', 2026), (2, 'CDHT', 2025), (3, 'XHT', 2024), (4, 'XHT', 2026)) v(id, t, y);
SELECT setval(pg_get_serial_sequence('campaigns', 'id'), 100);
-- CDHT: file g of N; g % 4 = 0 -> the 2025 campaign, else 2026. The 2025 files with g % 12 = 0 are people who
-- also have a 2026 file (the CCCD of file g + 1, a 2026 file).
INSERT INTO applications (id, campaign_id, rubric_id, unit_id, state, version, subject_key, full_name,
                          full_name_folded, citizen_id, target_level, score_total, scored_count, created_at,
                          state_changed_at, recognised_at, closed_reason)
SELECT g, s.campaign, (SELECT rubric_id FROM campaigns WHERE id = s.campaign), 101 + (g * 7) % 990, s.state, 5,
       s.cid, 'Nguyễn Văn ' || g, 'nguyen van ' || g, s.cid, 1, 90, 10, now(), now(),
       CASE WHEN s.state IN ('recognised', 'revoked') THEN
         CASE WHEN s.campaign = 1 THEN TIMESTAMPTZ '2026-01-10 03:00+00' + (g % 320) * interval '1 day'
              ELSE TIMESTAMPTZ '2025-10-15 03:00+00' + (g % 100) * interval '1 day' END END,
       CASE WHEN s.state IN ('rejected', 'revoked') THEN 'Thiếu' END
FROM generate_series(1, :n) g,
LATERAL (SELECT CASE WHEN g % 4 = 0 THEN 2 ELSE 1 END AS campaign,
                CASE WHEN g % 100 < 60 THEN 'recognised' WHEN g % 100 < 62 THEN 'revoked'
                     WHEN g % 100 < 80 THEN 'commune_appraisal' WHEN g % 100 < 90 THEN 'final_approval'
                     WHEN g % 100 < 95 THEN 'evidence_collection' WHEN g % 100 < 98 THEN 'rejected'
                     ELSE 'withdrawn' END AS state,
                lpad((CASE WHEN g % 12 = 0 THEN g + 1 ELSE g END)::text, 12, '0') AS cid) s;
INSERT INTO applications (id, campaign_id, rubric_id, unit_id, state, version, subject_key, full_name,
                          full_name_folded, target_level, score_total, scored_count, created_at, state_changed_at,
                          recognised_at)
SELECT :n + c.id * 1000 + u, c.id, c.rubric_id, u, 'recognised', 5, 'unit:' || u, 'Xã ' || u, 'xa ' || u, 1, 90,
       10, now(), now(), make_timestamptz(c.year, 11, 1 + u % 20, 3, 0, 0, 'UTC')
FROM campaigns c, generate_series(2, 100) u WHERE c.title_code = 'XHT' AND (c.year = 2024 OR u % 3 = 0);
SELECT setval(pg_get_serial_sequence('applications', 'id'), (SELECT max(id) FROM applications));
INSERT INTO scores (application_id, criterion_code, value, scored_at)
SELECT id, '2.1', id % 11, now() FROM applications WHERE state = 'recognised' AND campaign_id IN (1, 2);
"""


def seed(app, n: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from workflow.db import db
    from workflow.loader import load_reference_data
    from workflow.models import RoleGrant, User
    from workflow.passwords import hash_password

    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    with contextlib.redirect_stderr(io.StringIO()):
        upgrade(revision="heads")
    load_reference_data()
    db.session.commit()
    start = time.perf_counter()
    for statement in SEED.split(";\n"):
        if statement.strip():
            db.session.execute(text(statement), {"n": n} if ":n" in statement else {})
    user = User(username="tinh.pheduyet", full_name="Phê duyệt", password_hash=hash_password(PASSWORD))
    db.session.add(user)
    db.session.flush()
    db.session.add(RoleGrant(user_id=user.id, role="provincial_approver", unit_id=1))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    counts = db.session.execute(text("SELECT count(*), count(*) FILTER (WHERE state = 'recognised') "
                                     "FROM applications")).one()
    print(f"seeded {counts[0]:,} files, {counts[1]:,} recognised, in {time.perf_counter() - start:.0f} s",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--applications", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args(argv)
    import time_machine

    from web import create_app
    from workflow.authz import actor_of
    from workflow.db import db
    from workflow.models import Unit, User
    from workflow.reports import indicators

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(args.database_url, "holders"), "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "LOGIN_ACCOUNT_LIMIT": "1000 per minute",
                      "UPLOAD_DIR": tempfile.mkdtemp(prefix="holders-")})
    with time_machine.travel("2026-12-02 10:00:00+07:00", tick=True), app.app_context():
        if not args.no_seed:
            seed(app, args.applications)
        me = actor_of(db.session.scalar(db.select(User).filter_by(username="tinh.pheduyet")))
        province, commune, branch = (db.session.get(Unit, i) for i in (1, 7, 105))
        r = args.repeat
        for label, unit in (("province", province), ("commune", commune), ("branch", branch)):
            timed(f"coverage ({label}, with children)", lambda u=unit: indicators.coverage(me, u, 2026), r)
        timed("digital_skills (province, with children)", lambda: indicators.digital_skills(me, province, 2026), r)
        timed("xht_share (province, with children)", lambda: indicators.xht_share(me, province, 2026), r)
        timed("coverage_by_year (province, 2022-2026)",
              lambda: indicators.coverage_by_year(me, province, range(2022, 2027)), r)

        def dashboard():  # what the province's /reports asks of this module, in one request
            indicators.coverage(me, province, 2026)
            indicators.xht_share(me, province, 2026)
            indicators.digital_skills(me, province, 2026)
            indicators.coverage_by_year(me, province, range(2022, 2027))

        timed("the four together, one transaction (province)", dashboard, r)
        own, _kids = indicators.coverage(me, province, 2026)
        dig, _ = indicators.digital_skills(me, province, 2026)
        print(f"  figures: coverage {own.numerator:,} holders; digital {dig.numerator:,} of {dig.denominator:,}",
              flush=True)
        client = app.test_client()
        client.post("/login", data={"username": "tinh.pheduyet", "password": PASSWORD})
        for label, query in (("holders", "list=holders&title=CDHT&on=2026-12-02"),
                             ("digital", "list=digital&on=2026-12-02"),
                             ("holders, commune", "list=holders&title=CDHT&on=2026-12-02&unit=7")):
            response = client.get(f"/applications?{query}")
            assert response.status_code == 200, response.status_code
            timed(f"GET /applications?list={label} (province approver)",
                  lambda q=query: client.get(f"/applications?{q}"), r)


if __name__ == "__main__":
    main()

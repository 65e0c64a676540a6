"""The annual report at provincial scale (issue 11, part D): the province's annual report as XLSX and PDF, and the
coverage JSON, on the database of bench/scale_bench.py.

Usage:
  python bench/report_bench.py DATABASE_URL [--seed --applications N] [--password P] [--repeat 5] [--year Y]
DATABASE_URL: PostgreSQL. With --seed, the schema is dropped and rebuilt and bench/scale_bench.py's builder
(`scale_bench.seed`) loads the demo province with N files (default 200,000; the issue's figure is 2,000,000: the
lead runs that); without it, a database seeded before (`bench/scale_bench.py DATABASE_URL --seed-only`) is measured.
Prints, for the provincial approver "tinh.pheduyet" (one user, in process, through the Flask test client so each
figure includes the view, the authorization and the rendering): p50 / p95 / max of
- GET /reports/annual.xlsx?unit=<province>&year=Y (the issue's budget: under 5 s at two million files),
- GET /reports/annual.pdf?unit=<province>&year=Y,
- GET /api/v1/reports/coverage?unit=<province>&year=Y and GET /api/v1/reports/annual?...&format=json,
- the report's figures alone (workflow.reports.annual.build), to tell the queries from the rendering,
and the number of SQL statements one XLSX sends (the figures are read once per indicator, never per commune).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, timed  # noqa: E402

APPROVER = "tinh.pheduyet"






def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--seed", action="store_true", help="drop the schema and seed it with scale_bench.seed")
    parser.add_argument("--applications", type=int, default=200_000)
    parser.add_argument("--password", default="hoctap-demo")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--year", type=int, default=None)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    url = database_url(args.database_url, "report")
    os.environ["DATABASE_URL"] = url
    if args.seed:
        from bench import scale_bench

        t0 = time.perf_counter()
        times = scale_bench.seed(url, args.applications, args.password)
        print(f"seeded {times.get('all_applications')} files over {times.get('communes')} communes "
              f"in {time.perf_counter() - t0:.0f} s")

    import tempfile

    from sqlalchemy import event, func, select

    from web import create_app
    from workflow import clock
    from workflow.authz import actor_of
    from workflow.db import db
    from workflow.models import Application, RoleGrant, Unit, User
    from workflow.reports import annual

    app = create_app({"UPLOAD_DIR": tempfile.mkdtemp(prefix="report-bench-"), "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("report_bench measures the scale database: give a postgresql:// DATABASE_URL")
        user = db.session.scalar(select(User).where(User.username == APPROVER))
        if user is None:
            raise SystemExit(f"no user {APPROVER}: seed first (--seed, or bench/scale_bench.py --seed-only)")
        province = db.session.scalar(select(Unit).join(RoleGrant, RoleGrant.unit_id == Unit.id)
                                     .where(RoleGrant.user_id == user.id))
        year = args.year or clock.today().year
        files = db.session.scalar(select(func.count()).select_from(Application))
        communes = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.level == "commune"))
        print(f"database: {files:,} files, {communes} communes; province «{province.name}», year {year}, "
              f"{args.repeat} samples each")
        client = app.test_client()
        resp = client.post("/login", data={"username": APPROVER, "password": args.password})
        if resp.status_code != 302:
            raise SystemExit(f"login as {APPROVER} failed ({resp.status_code}): --password?")
        from web.api import auth

        headers = {"Authorization": f"Bearer {auth.issue_token(user)}"}
        q = f"unit={province.id}&year={year}"

        def get(path: str, **kw):
            def run():
                r = client.get(path, **kw)
                assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
                return r
            return run

        actor = actor_of(user)
        statements = []

        def count(_conn, _cursor, statement, *_a):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        get(f"/reports/annual.xlsx?{q}")()
        event.remove(db.engine, "before_cursor_execute", count)
        print(f"  one XLSX sent {len(statements)} SQL statements")
        timed("figures only: annual.build (province)", lambda: (annual.build(actor, province, year),
                                                                db.session.rollback()), args.repeat)
        timed("GET /reports/annual.xlsx (province)", get(f"/reports/annual.xlsx?{q}"), args.repeat)
        timed("GET /reports/annual.pdf (province)", get(f"/reports/annual.pdf?{q}"), args.repeat)
        timed("GET /api/v1/reports/coverage (province)", get(f"/api/v1/reports/coverage?{q}", headers=headers),
              args.repeat)
        timed("GET /api/v1/reports/annual?format=json (province)",
              get(f"/api/v1/reports/annual?{q}&format=json", headers=headers), args.repeat)
        size = len(get(f"/reports/annual.xlsx?{q}")().data), len(get(f"/reports/annual.pdf?{q}")().data)
        print(f"  sizes: XLSX {size[0]:,} bytes, PDF {size[1]:,} bytes")


if __name__ == "__main__":
    main()

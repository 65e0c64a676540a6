"""Signed records export at scale (issue 12, section 5): a province-year of N recognitions exported, then verified.

Usage:
  python bench/records_bench.py DATABASE_URL [--rows 100000]
DATABASE_URL: a PostgreSQL database this script may wipe (its schema is dropped and rebuilt by the migrations, as
bench/common.fresh_world does). It seeds the test province (tests.factories.build_world) and N recognised CDHT
files of its campaign in one INSERT ... SELECT generate_series (a tenth of them with a decision, one in fifty
revoked), then runs, each in its own process so that its peak memory is its own:
- `flask --app wsgi records key` (the app's start-up alone: the memory baseline);
- `flask --app wsgi records export --province ... --year ... --out FILE` (time, file size, peak RSS);
- `flask --app wsgi records verify FILE` (time, peak RSS; it reads a record at a time too);
and once in process the peak of Python memory (tracemalloc) while exporting.
The export streams (server-side cursor, yield_per): its peak RSS stays near the baseline whatever N is.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402

SEED = "be4c" * 16


def seed(n: int) -> tuple[str, int]:
    from sqlalchemy import text

    from workflow import clock
    from workflow.db import db
    from workflow.models import Decision

    world = fresh_world()
    branches = [b.id for bs in world.branches.values() for b in bs]
    decision = Decision(campaign_id=world.cdht.id, unit_id=world.province.id, number="1/QĐ-BENCH",
                        signed_on=clock.today(), signer="Bench", created_by_id=world.approver.id)
    db.session.add(decision)
    db.session.flush()
    db.session.execute(text("""
        INSERT INTO applications (campaign_id, rubric_id, unit_id, state, version, subject_key, full_name,
                                  full_name_folded, date_of_birth, citizen_id, subject_group, target_level,
                                  score_total, scored_count, closed_reason, recognised_at, decision_id,
                                  created_at, state_changed_at)
        SELECT :campaign, :rubric, (CAST(:branches AS int[]))[1 + g % cardinality(CAST(:branches AS int[]))],
               CASE WHEN g % 50 = 0 THEN 'revoked' ELSE 'recognised' END, 5,
               lpad(g::text, 12, '0'), 'Nguyễn Thị Hương ' || g, 'nguyen thi huong ' || g, date '1980-01-01',
               lpad(g::text, 12, '0'), '1', 1, 90, 9,
               CASE WHEN g % 50 = 0 THEN 'Khai báo không trung thực' END,
               now() - interval '20 days', CASE WHEN g % 10 = 0 THEN :decision END,
               now() - interval '60 days', now() - interval '10 days'
        FROM generate_series(1, :n) g"""),
        {"campaign": world.cdht.id, "rubric": world.cdht.rubric_id, "branches": branches, "n": n,
         "decision": decision.id})
    db.session.commit()
    db.session.execute(text("ANALYZE applications"))
    db.session.commit()
    return world.province.name, world.cdht.year


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of that child alone (os.wait4), its output)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", *args], cwd=ROOT,
                                env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {err.read()[-2000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().strip()


def traced_peak(province_name: str, year: int) -> None:
    """The peak of Python memory (tracemalloc) while the province-year is exported to /dev/null, in process."""
    import tracemalloc

    from workflow import records, recordskey
    from workflow.admin.units import find_province

    province = find_province(province_name)
    key = recordskey.parse_private(SEED)
    tracemalloc.start()
    size = 0
    for chunk in records.export(records.province_year_query(province.id, year),
                                records.province_scope(province, year), key, issuer="bench"):
        size += len(chunk)
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"export in process: {size / 1e6:.1f} MB written, Python memory peak {peak / 1e6:.1f} MB (tracemalloc)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    url = database_url(args.database_url, "records")
    os.environ["DATABASE_URL"] = url
    from web import create_app

    app = create_app({"RECORDS_KEY": SEED})
    with app.app_context():
        started = time.perf_counter()
        province, year = seed(args.rows)
        print(f"seeded {args.rows} recognitions in {time.perf_counter() - started:.1f} s")
        traced_peak(province, year)
    instance = tempfile.mkdtemp(prefix="records-bench-")
    env = {**os.environ, "DATABASE_URL": url, "RECORDS_KEY": SEED, "HOCTAP_INSTANCE_DIR": instance}
    out = os.path.join(instance, "records.json")
    seconds, base_mb, _ = run(["records", "key"], env)
    print(f"start-up alone (records key):  {seconds:6.1f} s   peak RSS {base_mb:6.0f} MB")
    seconds, mb, said = run(["records", "export", "--province", province, "--year", str(year), "--out", out], env)
    size = os.path.getsize(out) / 1e6
    print(f"export {args.rows} records:     {seconds:6.1f} s   peak RSS {mb:6.0f} MB   file {size:.1f} MB  ({said})")
    seconds, mb, said = run(["records", "verify", out], env)
    print(f"verify:                        {seconds:6.1f} s   peak RSS {mb:6.0f} MB   ({said})")


if __name__ == "__main__":
    main()

"""Spreadsheet import of nominees at a province's scale: 100,000 rows, end to end and phase by phase.

Builds the two-tier test province (tests.factories.World, four branches) on DATABASE_URL (default: a temporary
SQLite file), one officer acting for every branch, and a 100,000-row xlsx (and the same as csv): every row names
its branch, a share of the rows (10% by default: most files are nominations scored later) scores every
criterion. Then:
  readers:    python-calamine against openpyxl read-only, on the same xlsx (the faster one is what imports use)
  end to end: workflow.imports.start (judge the file, store it, the job row) + workflow.jobs.run (parse, validate,
              dedupe, insert + audit in 2,000-row chunks, each committed with the job's counters)
  phases:     the same steps timed one by one into a second campaign: parse, validate (declared input, rubric,
              the file's own duplicates), dedupe (live CCCDs in the campaign), insert + audit (+ scores)
Usage: DATABASE_URL=postgresql://... python bench/import_bench.py [ROWS [SCORED_SHARE]]
Aim: end to end < 30 s (PostgreSQL), 100,000 rows.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402


def make_rows(world, n: int, scored: float = 0.1) -> tuple[list[str], list[list]]:
    from workflow.imports.template import columns

    headers = [c.header for c in columns(world.cdht)]
    k = len(headers) - 6
    branches = [f"{b.name} ({c.name})" for c in world.communes for b in world.branches[c.id]]  # namesakes
    rows = []
    for i in range(n):
        scores = [7 + (i % 4)] * k if (i % 100) < scored * 100 else [None] * k
        rows.append([f"Nguyễn Văn Thứ {i}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1950 + i % 50}", f"0{i:011d}",
                     str(1 + i % 3), "", branches[i % len(branches)], *scores])
    return headers, rows


def write_xlsx(headers: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(headers)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_csv(headers: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(headers)
    w.writerows(["" if v is None else v for v in r] for r in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def readers(data: bytes) -> tuple[float, float, int]:
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    t = time.perf_counter()
    table = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    calamine = time.perf_counter() - t
    t = time.perf_counter()
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    openpyxl_s = time.perf_counter() - t
    assert len(rows) == len(table)
    return calamine, openpyxl_s, len(table) - 1


def line(label: str, n: int, seconds: float) -> None:
    print(f"  {label:<34} {seconds:7.2f} s  {n / seconds:10,.0f} rows/s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    scored = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    url = database_url(os.environ.get("DATABASE_URL"), "import_bench")
    os.environ["DATABASE_URL"] = url
    import tempfile

    from web import create_app
    from workflow import clock, imports, jobs
    from workflow.authz import actor_of
    from workflow.db import db
    from workflow.imports import reader, store
    from workflow.imports import rows as rowmod
    from workflow.models import Campaign, RoleGrant

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_FAST": True, "UPLOAD_DIR": tempfile.mkdtemp(),
                      "REDIS_URL": None, "NOTIFY_INLINE": False, "IMPORT_MAX_MB": 100})
    with app.app_context():
        world = fresh_world()
        officer = world.officer(0, 0)
        for c in world.communes:
            for b in world.branches[c.id]:
                if b.id != world.branch(0, 0).id:
                    db.session.add(RoleGrant(user=officer, role="branch_officer", unit=b))
        from tests.factories import open_deadlines

        year = clock.today().year
        second = Campaign(title_code="CDHT", year=year + 1, province=world.province, rubric_id=world.cdht.rubric_id,
                          name="CDHT 2", **open_deadlines(year))
        db.session.add(second)
        db.session.commit()
        db.session.expire_all()
        print(f"database: {db.engine.dialect.name}; {n:,} rows, {len(world.communes) * 2} branches, "
              f"{scored:.0%} of the rows scored on every criterion")

        t = time.perf_counter()
        headers, rows = make_rows(world, n, scored)
        data, text = write_xlsx(headers, rows), write_csv(headers, rows)
        print(f"  (generating the files: {time.perf_counter() - t:.1f} s; xlsx {len(data) / 1e6:.1f} MB, "
              f"csv {len(text) / 1e6:.1f} MB)")

        calamine, openpyxl_s, read_n = readers(data)
        print("readers, same xlsx:")
        line("python-calamine", read_n, calamine)
        line("openpyxl read-only", read_n, openpyxl_s)
        print(f"  calamine is {openpyxl_s / calamine:.1f}x faster")

        print("end to end (start + job run, one campaign):")
        t = time.perf_counter()
        job = imports.start(world.cdht, world.province, officer, file_name="bench.xlsx", data=data, dry_run=False)
        db.session.commit()
        started = time.perf_counter() - t
        job_id = job.id
        jobs.run(job_id)
        total = time.perf_counter() - t
        job = db.session.get(jobs.Job, job_id)
        assert job.status == "done", job.failure
        line(f"xlsx: created {job.created:,}", n, total)
        print(f"    (start, judging and storing the file: {started:.2f} s)")

        print("phases (into a second campaign, xlsx then csv parse):")
        actor = actor_of(officer)
        t = time.perf_counter()
        sheet = reader.read(data, 10 ** 7)
        line("parse xlsx (calamine)", n, time.perf_counter() - t)
        t = time.perf_counter()
        reader.read(text, 10 ** 7)
        line("parse csv", n, time.perf_counter() - t)
        ctx = rowmod.Context.build(db.session.get(Campaign, second.id), world.province, actor)
        t = time.perf_counter()
        index = rowmod.match_headers(sheet.header, ctx.campaign)
        judged = rowmod.judge_all(ctx, sheet, index, rowmod.data_rows(sheet, index))
        line("validate (declared input, rubric)", n, time.perf_counter() - t)
        valid = [j.valid for j in judged if j.valid is not None]
        assert len(valid) == n, [j.errors for j in judged if j.errors][:3]
        t = time.perf_counter()
        dups = sum(len(store.live_keys(ctx.campaign.id, [v.citizen_id for v in valid[i:i + 2000]]))
                   for i in range(0, n, 2000))
        db.session.commit()
        line(f"dedupe (live CCCDs: {dups})", n, time.perf_counter() - t)
        def write_all() -> int:
            created = 0
            for i in range(0, n, 2000):
                created += store.write_chunk(ctx, valid[i:i + 2000], actor, job_id, clock.now())
                db.session.commit()
            return created

        t = time.perf_counter()
        created = write_all()
        line(f"insert + audit + scores ({created:,})", n, time.perf_counter() - t)
        t = time.perf_counter()
        again = write_all()
        line(f"re-insert, all duplicates ({again})", n, time.perf_counter() - t)
        print(f"end to end: {total:.1f} s for {n:,} rows (aim: < 30 s)")


if __name__ == "__main__":
    main()

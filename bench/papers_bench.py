"""The decision as an official document (issue 12, section 1): how long WeasyPrint takes to print a decision of
1,000 / 10,000 / 50,000 names, how big the PDF is and how much memory the printing process needs.

Usage:
  python bench/papers_bench.py [--names 1000,10000,50000] [--chunk-pages N] [--workers N] [DATABASE_URL]
Each size runs in a fresh child process (its peak RSS is then its own): a fresh schema (SQLite in a temporary
directory by default), 20 communes of 5 branches, the names inserted set-wise into one decision, then
workflow.papers.decision.render to a file. Prints per size: names, pages, seconds (plan = the query and the
pagination; print = WeasyPrint and pypdf), names per second, PDF size, peak RSS (of the main process; with
--workers N the chunks are printed by N spawned processes of about the same size each). `--chunk-pages 100000`
prints the whole list as ONE WeasyPrint document (no chunks), for comparison.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402

FIRST = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Đỗ", "Vũ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Hữu", "Thị Thu", "Quốc", "Minh"]
LAST = ["Hằng", "Đức", "Ánh", "Yến", "Khánh", "Hương", "Trường", "Dũng", "Phương", "Thảo", "Lộc", "Nghĩa"]


def one(names: int, url: str, chunk_pages: int | None, workers: int = 1) -> None:
    from datetime import date, timedelta

    from sqlalchemy import insert

    from web import create_app
    from workflow import clock
    from workflow.db import db
    from workflow.loader import add_unit
    from workflow.models import Application, Decision
    from workflow.papers import decision as papers
    from workflow.text import fold

    if chunk_pages:
        papers.CHUNK_PAGES = chunk_pages
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "UPLOAD_DIR": tempfile.mkdtemp()})
    with app.app_context():
        world = fresh_world()
        branches = []
        for c in range(20):
            commune = add_unit(f"BC{c}", f"Phường Bắc Ninh Số {c + 1}", "commune", world.province)
            branches += [add_unit(f"BC{c}B{b}", f"Chi hội khuyến học khu phố {b + 1}", "branch", commune)
                         for b in range(5)]
        decision = Decision(campaign_id=world.cdht.id, unit_id=world.province.id, number="999/QĐ-SGDĐT",
                            signed_on=date(2026, 12, 2), signer="Nguyễn Văn Hùng", created_by_id=world.approver.id)
        db.session.add(decision)
        db.session.flush()
        past = clock.now() - timedelta(minutes=5)
        rows = []
        for i in range(names):
            name = f"{FIRST[i % 10]} {MIDDLE[i // 10 % 6]} {LAST[i // 60 % 12]}"
            rows.append({"campaign_id": world.cdht.id, "rubric_id": world.cdht.rubric_id,
                         "unit_id": branches[i % len(branches)].id, "state": "recognised", "version": 4,
                         "subject_key": str(300_000_000_000 + i), "citizen_id": str(300_000_000_000 + i),
                         "full_name": name, "full_name_folded": fold(name),
                         "date_of_birth": date(1950 + i % 50, 1 + i % 12, 1 + i % 28), "subject_group": "1",
                         "target_level": 1, "score_total": 90, "score_min": 9, "scored_count": 10,
                         "created_at": past, "state_changed_at": past, "recognised_at": past,
                         "decision_id": decision.id})
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Application.__table__), rows[start:start + 5000])
        db.session.commit()
        t0 = time.perf_counter()
        plan = papers.plan(decision)
        t1 = time.perf_counter()
        out = os.path.join(tempfile.mkdtemp(), "d.pdf")
        with open(out, "wb") as f:
            pages, _ = papers.render(decision, f, workers=workers)
        t2 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{names:>7,} names  {pages:>5} pages  {len(plan.chunks):>3} chunks  plan {t1 - t0:6.2f} s  "
              f"print {t2 - t1:7.1f} s  {names / (t2 - t0):6.0f} names/s  {os.path.getsize(out) / 1e6:6.1f} MB  "
              f"peak RSS {rss:6.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--names", default="1000,10000,50000")
    parser.add_argument("--chunk-pages", type=int)
    parser.add_argument("--workers", type=int, default=1, help="processes printing the chunks")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        one(args.child, database_url(args.url, f"papers{args.child}"), args.chunk_pages, args.workers)
        return
    for n in (int(x) for x in args.names.split(",")):
        cmd = [sys.executable, __file__, "--child", str(n)] + ([args.url] if args.url else [])
        if args.chunk_pages:
            cmd += ["--chunk-pages", str(args.chunk_pages)]
        cmd += ["--workers", str(args.workers)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()

"""Certificates (issue 12 §2): how long issuing a decision's certificates takes set-wise (10,000 / 50,000 files:
one SELECT, one counter UPDATE, one multi-row INSERT per chunk), and how fast WeasyPrint prints them (pages a
second, MB a page) for the batch sizes a branch or a commune gives, which sets CERTIFICATES_PER_PDF.

Usage: python bench/certificates_bench.py [--files 10000,50000] [--pages 100,500] [DATABASE_URL]
(SQLite in a temporary directory by default; each size in a fresh child process and schema)."""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402


def one(files: int, pages: int, url: str) -> None:
    from datetime import date, timedelta

    from sqlalchemy import insert

    from web import create_app
    from workflow import certificates, clock, engine
    from workflow.db import db
    from workflow.loader import add_unit
    from workflow.models import Application, Decision
    from workflow.papers import certificates as papers
    from workflow.text import fold

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
        rows = [{"campaign_id": world.cdht.id, "rubric_id": world.cdht.rubric_id,
                 "unit_id": branches[i % len(branches)].id, "state": "recognised", "version": 4,
                 "subject_key": str(300_000_000_000 + i), "citizen_id": str(300_000_000_000 + i),
                 "full_name": f"Nguyễn Thị Hương {i}", "full_name_folded": fold(f"Nguyễn Thị Hương {i}"),
                 "date_of_birth": date(1980, 1, 1), "subject_group": "1", "target_level": 1, "score_total": 90,
                 "score_min": 9, "scored_count": 10, "created_at": past, "state_changed_at": past,
                 "recognised_at": past, "decision_id": decision.id} for i in range(files)]
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Application.__table__), rows[start:start + 5000])
        db.session.commit()
        ids = sorted(r.id for r in db.session.query(Application.id).filter_by(decision_id=decision.id))
        t0 = time.perf_counter()
        for start in range(0, len(ids), engine.BATCH_CHUNK):  # as the decision job does: one call per chunk
            certificates.issue(decision, ids[start:start + engine.BATCH_CHUNK])
        db.session.commit()
        t1 = time.perf_counter()
        facts = certificates.of_decision(decision)[:pages]
        t2 = time.perf_counter()
        pdf, n = papers.render(facts, "https://xacminh.example.vn")
        t3 = time.perf_counter()
        print(f"{files:>7,} files: issue {t1 - t0:6.2f} s ({files / (t1 - t0):7.0f}/s)  read {t2 - t1:5.2f} s  "
              f"| {n:>4} pages: print {t3 - t2:6.1f} s ({n / (t3 - t2):5.1f} pages/s)  "
              f"{len(pdf) / 1e6:5.1f} MB ({len(pdf) / n / 1e3:4.0f} kB/page)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--files", default="10000,50000")
    parser.add_argument("--pages", default="100,500")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        files, pages = args.child
        one(files, pages, database_url(args.url, f"certs{files}"))
        return
    for files, pages in zip((int(x) for x in args.files.split(",")), (int(x) for x in args.pages.split(",")),
                            strict=False):
        cmd = [sys.executable, __file__, "--child", str(files), str(pages)] + ([args.url] if args.url else [])
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()

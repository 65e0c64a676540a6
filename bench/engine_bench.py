"""Engine speed against the physical bound, measured in the same run on the same database.

The bound is ../shared/bench/raw_bound.py: the bare SQL of one transition (UPDATE with version check + audit INSERT +
outbox INSERT, committed), one at a time and batched. We then time the engine's own paths on the same database:
  single: engine.fire(id, "approve", actor) + commit, one application at a time (adds the SELECT that loads the
          row, authorization, the shared machine and its guards);
  batch:  engine.fire_batch(ids, "approve", actor) + commit, 1,000 applications a call, each still audited.
Usage: [REDIS_URL=redis://...] python bench/engine_bench.py [DATABASE_URL]   (default: a temporary SQLite file)
Aims: single >= 0.7x the bound's one-at-a-time figure; batch >= 10,000 applications/s.
"Our SQL alone" is the floor of our own schema (its work-queue and uniqueness indexes cost the database time the
bound's bare tables do not): the engine's own overhead is the gap between that line and engine.fire.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402

RAW_BOUND = ROOT.parent / "shared" / "bench" / "raw_bound.py"
SINGLE_N, BATCH_N, BATCH_SIZE = 3000, 20000, 1000


def raw_bound(url: str) -> tuple[float, float, float | None]:
    """Run the shared bound script; return (single/s, batched/s, set-based/s or None)."""
    spec = importlib.util.spec_from_file_location("raw_bound", RAW_BOUND)
    module = importlib.util.module_from_spec(spec)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["raw_bound.py", plain]
    try:
        with contextlib.redirect_stdout(out):
            spec.loader.exec_module(module)
            module.main()
            if plain.startswith("postgresql"):
                module.set_based_pg(plain, n=20000)
    finally:
        sys.argv = argv
    text = out.getvalue()
    single, batched = (float(x) for x in re.findall(r"transitions/s=(\d+)", text)[:2])
    set_based = re.search(r"set-based.*transitions/s=(\d+)", text)
    return single, batched, float(set_based.group(1)) if set_based else None


def engine_figures(url: str) -> tuple[float, float, float]:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import text

    from tests.factories import bulk_at_appraisal
    from web import create_app
    from workflow import clock, engine, writes
    from workflow.authz import actor_of
    from workflow.db import db

    # Notifications as in production: with REDIS_URL each commit wakes the relay (one Redis round trip); without
    # it they are off here (the demo's in-process delivery would be measured instead of the engine).
    app = create_app({"PASSWORD_HASH_FAST": True, "NOTIFY_INLINE": False})
    with app.app_context():
        world = fresh_world()
        actor = actor_of(world.appraiser())
        ids = bulk_at_appraisal(world, 2 * SINGLE_N + BATCH_N)
        floor_ids, single_ids, batch_ids = ids[:SINGLE_N], ids[SINGLE_N:2 * SINGLE_N], ids[2 * SINGLE_N:]
        group = writes.Group("CDHT", "approve", "commune_appraisal", "final_approval", actor.id, actor.username,
                             None, {}, True, {})
        t = time.perf_counter()
        for i in floor_ids:  # our own SQL on our own schema, no authorization, machine or guards
            row = writes.load_rows([i], False)[0]
            writes.apply(group, [(row[0], row[2], row[7])], clock.now())
            db.session.commit()
        floor = SINGLE_N / (time.perf_counter() - t)
        for i in single_ids[:50]:  # warm caches (rubric, chain, compiled statements)
            engine.fire(i, "approve", actor)
            db.session.commit()
        t = time.perf_counter()
        for i in single_ids[50:]:
            engine.fire(i, "approve", actor)
            db.session.commit()
        single = (SINGLE_N - 50) / (time.perf_counter() - t)
        t = time.perf_counter()
        for start in range(0, BATCH_N, BATCH_SIZE):
            outcomes = engine.fire_batch(batch_ids[start:start + BATCH_SIZE], "approve", actor)
            db.session.commit()
            assert all(o.ok for o in outcomes)
        batch = BATCH_N / (time.perf_counter() - t)
        audited = db.session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'approve'"))
        assert audited == 2 * SINGLE_N + BATCH_N, audited
    return floor, single, batch


def main() -> None:
    url = database_url(sys.argv[1] if len(sys.argv) > 1 else None, "bench")
    kind = url.split(":")[0].split("+")[0]
    bound_single, bound_batched, bound_set = raw_bound(url)
    floor, single, batch = engine_figures(url)
    print(f"database: {kind}; notifications: "
          + ("woken through Redis after each commit" if os.environ.get("REDIS_URL") else "off (no REDIS_URL)"))
    print(f"bound (raw SQL):  single {bound_single:8.0f}/s   batched(500/commit) {bound_batched:8.0f}/s"
          + (f"   set-based {bound_set:8.0f}/s" if bound_set else ""))
    print(f"our SQL alone:    single {floor:8.0f}/s   (load + write on our indexed schema, no engine logic)")
    print(f"engine.fire:      single {single:8.0f}/s   = {single / bound_single:.2f}x the bound (aim >= 0.70x), "
          f"{single / floor:.2f}x our SQL alone")
    print(f"engine.fire_batch:        {batch:8.0f} applications/s, each audited (aim >= 10,000/s)")


if __name__ == "__main__":
    main()

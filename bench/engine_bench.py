"""Engine speed against the physical bound, measured in the same run on the same database.

The bound is ../shared/bench/raw_bound.py: the bare SQL of one transition (UPDATE with version check + audit INSERT +
outbox INSERT, committed) on three bare tables, one at a time, batched, and set-wise (one UPDATE and two
INSERT ... SELECT per 1,000). We then time the engine's own paths on the same database:
  single: engine.fire(id, "approve", actor) + commit, one application at a time (adds the SELECT that loads the
          row, authorization, the shared machine and its guards);
  batch:  engine.fire_batch(ids, "approve", actor) + commit, 1,000 applications a call, each still audited.
"Our SQL alone" is the floor of our own schema: the same SELECT and write statements (workflow/writes.py) without
authorization, machine or guards. Our applications table carries the work-queue, search and uniqueness indexes and
the state-count triggers that the bound's bare tables do not, and every transition changes the indexed `state`, so
no update is HOT: the gap between the bound and "our SQL alone" is the schema's, the gap between "our SQL alone" and
the engine is the engine's.
Aims (issue 10): single >= 0.5x the bound's one-at-a-time figure; batch >= 0.5x the bound's set-wise figure.
The machine is shared: use --rounds to repeat (each round measures the bound and the engine again) and quote ranges.
On PostgreSQL the run ends with paired blocks, bound and engine alternating every few hundred transitions: their
ratios are the ones to quote when other work on the machine comes and goes within a run.
--schema-costs then measures the write statement's server-side time (EXPLAIN ANALYZE, rolled back) and WAL with the
state-count trigger off and with the trigram and CCCD-prefix indexes dropped (it alters this database's schema for a
moment: a scratch database only; the next run rebuilds it anyway).
--async-commit runs every connection (bound and engine) with synchronous_commit=off: on a machine whose disk other
work keeps busy, commits then stop waiting on its flushes and the figures show CPU and round trips alone (not the
production setting; say so when quoting them).
Usage: [REDIS_URL=redis://...] python bench/engine_bench.py [DATABASE_URL] [--rounds N] [--schema-costs]
       [--async-commit]   (default: a temporary SQLite file)
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402

RAW_BOUND = ROOT.parent / "shared" / "bench" / "raw_bound.py"
SINGLE_N, BATCH_N, BATCH_SIZE = 3000, 20000, 1000
COST_SINGLE_N, COST_BATCH_N = 1000, 10000
PAIR_SINGLE, PAIR_BATCH, PAIR_BLOCKS = 250, 3000, 10

# DDL for --schema-costs: (label, apply, undo). PostgreSQL only.
SCHEMA_VARIANTS = (
    ("as built", (), ()),
    ("state-count trigger off", ("ALTER TABLE applications DISABLE TRIGGER state_counts_update",),
     ("ALTER TABLE applications ENABLE TRIGGER state_counts_update",)),
    ("trigram + CCCD-prefix indexes dropped",
     ("DROP INDEX IF EXISTS ix_applications_name_trgm", "DROP INDEX IF EXISTS ix_applications_citizen_prefix"),
     ("CREATE INDEX ix_applications_name_trgm ON applications USING gin (full_name_folded gin_trgm_ops)",
      "CREATE INDEX ix_applications_citizen_prefix ON applications (citizen_id varchar_pattern_ops)")),
)


def _raw_module():
    """The shared bound script as a module (its own main() runs only when argv names one database)."""
    spec = importlib.util.spec_from_file_location("raw_bound", RAW_BOUND)
    module = importlib.util.module_from_spec(spec)
    argv = sys.argv
    sys.argv = ["raw_bound.py"]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return module


def raw_bound(url: str) -> tuple[float, float, float | None]:
    """Run the shared bound script; return (single/s, batched/s, set-based/s or None)."""
    module = _raw_module()
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["raw_bound.py", plain]
    try:
        with contextlib.redirect_stdout(out):
            module.main()
            if plain.startswith("postgresql"):
                module.set_based_pg(plain, n=20000)
    finally:
        sys.argv = argv
    text = out.getvalue()
    single, batched = (float(x) for x in re.findall(r"transitions/s=(\d+)", text)[:2])
    set_based = re.search(r"set-based.*transitions/s=(\d+)", text)
    return single, batched, float(set_based.group(1)) if set_based else None


class Engine:
    """The application, its test province and a supply of files at commune appraisal, built once per run."""

    def __init__(self, url: str) -> None:
        os.environ["DATABASE_URL"] = url
        from web import create_app
        from workflow.authz import actor_of

        # Notifications as in production: with REDIS_URL each commit wakes the relay (one Redis round trip);
        # without it they are off here (the demo's in-process delivery would be measured instead of the engine).
        self.app = create_app({"PASSWORD_HASH_FAST": True, "NOTIFY_INLINE": False})
        self.app.app_context().push()  # one context (and session) for the whole run
        self.world = fresh_world()
        self.actor = actor_of(self.world.appraiser())
        self._ids: list[int] = []
        self.audited = 0

    def fill(self, n: int) -> None:
        """Have at least n fresh files at commune appraisal (inserted set-wise: setup, never inside a timing)."""
        from tests.factories import bulk_at_appraisal

        while len(self._ids) < n:  # at most 10,000 a call: each call's CCCDs come from its own block of 10,000
            self._ids += bulk_at_appraisal(self.world, min(n - len(self._ids), 10_000))

    def take(self, n: int) -> list[int]:
        taken, self._ids = self._ids[:n], self._ids[n:]
        assert len(taken) == n, "fill() first"
        return taken

    def floor(self, n_single: int, n_batch: int) -> tuple[float, float]:
        """Our SQL alone: (single/s, batch/s) of writes.load_row(s) + writes.apply + commit, no engine logic."""
        from workflow import clock, writes
        from workflow.db import db

        a = self.actor
        group = writes.Group("CDHT", "approve", "commune_appraisal", "final_approval", a.id, a.username, None, {},
                             True, {})
        lock = db.engine.dialect.name == "postgresql"
        singles, batch_ids = self.take(n_single), self.take(n_batch)
        t = time.perf_counter()
        for i in singles:
            cur = writes.cursor()
            row = writes.load_row(i, cur)
            writes.apply(group, [(row[0], row[2], row[7])], clock.now(), cur)
            db.session.commit()
        single = n_single / (time.perf_counter() - t)
        t = time.perf_counter()
        for start in range(0, n_batch, BATCH_SIZE):
            rows = writes.load_rows(batch_ids[start:start + BATCH_SIZE], lock)
            assert len(writes.apply(group, [(r[0], r[2], r[7]) for r in rows], clock.now())) == len(rows)
            db.session.commit()
        batch = n_batch / (time.perf_counter() - t)
        self.audited += n_single + n_batch
        return single, batch

    def figures(self) -> tuple[float, float, float, float]:
        """(our SQL alone single/s, engine.fire/s, our SQL alone batch/s, engine.fire_batch applications/s)."""
        from workflow import engine
        from workflow.db import db

        self.fill(2 * (SINGLE_N + BATCH_N))
        floor_single, floor_batch = self.floor(SINGLE_N, BATCH_N)
        single_ids = self.take(SINGLE_N)
        for i in single_ids[:50]:  # warm caches (rubric, chain, prepared statements)
            engine.fire(i, "approve", self.actor)
            db.session.commit()
        t = time.perf_counter()
        for i in single_ids[50:]:
            engine.fire(i, "approve", self.actor)
            db.session.commit()
        single = (SINGLE_N - 50) / (time.perf_counter() - t)
        batch_ids = self.take(BATCH_N)
        t = time.perf_counter()
        for start in range(0, BATCH_N, BATCH_SIZE):
            outcomes = engine.fire_batch(batch_ids[start:start + BATCH_SIZE], "approve", self.actor)
            db.session.commit()
            assert all(o.ok for o in outcomes)
        batch = BATCH_N / (time.perf_counter() - t)
        self.audited += SINGLE_N + BATCH_N
        self.check_audit()
        return floor_single, single, floor_batch, batch

    def paired(self, url: str, blocks: int) -> tuple[list[float], list[float]]:
        """Ratios from alternating blocks on PostgreSQL: PAIR_SINGLE bare transitions of the shared bound
        (raw_bound.one + commit), then PAIR_SINGLE engine.fire + commit; a set-wise bound block of PAIR_BATCH
        (raw_bound.set_based_pg), then PAIR_BATCH through engine.fire_batch. A burst of other work on the machine
        then hits both sides of a pair, not one figure of the run. Returns (single ratios, batch ratios)."""
        from workflow import engine
        from workflow.db import db

        raw = _raw_module()
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        conn, p = raw.run_pg(plain)
        cur = conn.cursor()
        self.fill(blocks * (PAIR_SINGLE + PAIR_BATCH))
        singles, batches = [], []
        for b in range(blocks):
            t = time.perf_counter()
            for i in range(b * PAIR_SINGLE + 1, (b + 1) * PAIR_SINGLE + 1):
                raw.one(cur, p, i, 0)
                conn.commit()
            bound = PAIR_SINGLE / (time.perf_counter() - t)
            ids = self.take(PAIR_SINGLE)
            t = time.perf_counter()
            for i in ids:
                engine.fire(i, "approve", self.actor)
                db.session.commit()
            singles.append(PAIR_SINGLE / (time.perf_counter() - t) / bound)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                raw.set_based_pg(plain, n=PAIR_BATCH)
            bound = float(re.search(r"transitions/s=(\d+)", out.getvalue()).group(1))
            ids = self.take(PAIR_BATCH)
            t = time.perf_counter()
            for start in range(0, PAIR_BATCH, BATCH_SIZE):
                assert all(o.ok for o in engine.fire_batch(ids[start:start + BATCH_SIZE], "approve", self.actor))
                db.session.commit()
            batches.append(PAIR_BATCH / (time.perf_counter() - t) / bound)
        conn.close()
        self.audited += blocks * (PAIR_SINGLE + PAIR_BATCH)
        self.check_audit()
        return singles, batches

    def check_audit(self) -> None:
        """Every measured transition left exactly one audit event."""
        from sqlalchemy import text

        from workflow.db import db

        audited = db.session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'approve'"))
        assert audited == self.audited, (audited, self.audited)

    def schema_costs(self, rounds: int) -> dict[str, dict[str, list[float]]]:
        """The write statement's server-side cost under each SCHEMA_VARIANTS entry, by EXPLAIN (ANALYZE, WAL) in
        rolled-back transactions (throughput on a shared machine is too noisy for differences of this size):
        {label: {"exec1", "trig1", "wal1", "exec1000", "trig1000", "wal1000": values}} in ms and bytes per row."""
        from sqlalchemy import text

        from workflow import clock, writes
        from workflow.db import db

        a = self.actor
        group = writes.Group("CDHT", "approve", "commune_appraisal", "final_approval", a.id, a.username, None, {},
                             True, {})
        self.fill(COST_BATCH_N)
        ids = self._ids[:COST_BATCH_N]  # rolled back each time: the same files serve every variant
        keys = ("exec1", "trig1", "wal1", "exec1000", "trig1000", "wal1000")
        found: dict[str, dict[str, list[float]]] = {label: {k: [] for k in keys} for label, _, _ in SCHEMA_VARIANTS}
        one_sql, many_sql = writes._pg_sql((), True, True), writes._pg_sql((), True)

        def explain(sql: str, chunk: list[int]) -> tuple[float, float, float]:
            params = writes._params(group, clock.now())
            params.update(id=chunk[0], ver=3, ids=chunk, versions=[3] * len(chunk))
            _, cur = writes.cursor()
            cur.execute("EXPLAIN (ANALYZE, WAL, FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0][0]
            db.session.rollback()
            return (plan["Execution Time"], sum(t["Time"] for t in plan.get("Triggers", ())
                                                if t["Trigger Name"].startswith("state_counts")),
                    plan["Plan"].get("WAL Bytes", 0) / len(chunk))

        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for _ in range(rounds):
                for label, apply, undo in SCHEMA_VARIANTS:
                    for ddl in apply:
                        db.session.execute(text(ddl))
                    db.session.commit()
                    auto.execute(text("VACUUM applications"))
                    for sql, size, names in ((one_sql, 1, keys[:3]), (many_sql, 1000, keys[3:])):
                        for k in range(0, COST_SINGLE_N // 5 if size == 1 else COST_BATCH_N, size):
                            for name, value in zip(names, explain(sql, ids[k:k + size]), strict=True):
                                found[label][name].append(value)
                    for ddl in undo:
                        db.session.execute(text(ddl))
                    db.session.commit()
        return found


def _span(values: list[float], fmt: str = "{:.0f}") -> str:
    """median (min-max) of repeated figures."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat bound and engine figures N times")
    parser.add_argument("--schema-costs", action="store_true",
                        help="also measure the state-count trigger and search indexes (PostgreSQL; alters schema)")
    parser.add_argument("--async-commit", action="store_true",
                        help="synchronous_commit=off for every connection (PostgreSQL; CPU and round trips alone)")
    args = parser.parse_args()
    if args.async_commit:  # libpq reads PGOPTIONS for every connection this process opens, the bound's included
        os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c synchronous_commit=off").strip()
    url = database_url(args.url, "bench")
    kind = url.split(":")[0].split("+")[0]
    bench = Engine(url)
    rounds = []
    for r in range(args.rounds):
        bound = raw_bound(url)
        rounds.append(bound + bench.figures())
        b1, _, b3, f1, s, f2, bt = rounds[-1]
        print(f"round {r + 1}: bound single {b1:.0f}/s" + (f", set-based {b3:.0f}/s" if b3 else "")
              + f"; our SQL alone {f1:.0f}/s, "
              f"batch {f2:.0f}/s; engine.fire {s:.0f}/s ({s / b1:.2f}x); fire_batch {bt:.0f}/s"
              + (f" ({bt / b3:.2f}x)" if b3 else ""), flush=True)
    col = list(zip(*rounds, strict=True))
    b_single, b_batched, b_set, f_single, single, f_batch, batch = col
    print(f"database: {kind}; notifications: "
          + ("woken through Redis after each commit" if os.environ.get("REDIS_URL") else "off (no REDIS_URL)")
          + ("; synchronous_commit=off" if args.async_commit else "")
          + f"; {args.rounds} round(s): median (min-max)")
    print(f"bound (raw SQL):   single {_span(list(b_single))}/s   batched(500/commit) {_span(list(b_batched))}/s"
          + (f"   set-based {_span(list(b_set))}/s" if b_set[0] else ""))
    print(f"our SQL alone:     single {_span(list(f_single))}/s   batch {_span(list(f_batch))}/s "
          "(load + write on our indexed schema, no engine logic)")
    ratio = [s / b for s, b in zip(single, b_single, strict=True)]
    print(f"engine.fire:       single {_span(list(single))}/s = {_span(ratio, '{:.2f}')}x the bound (aim >= 0.50x), "
          f"{_span([s / f for s, f in zip(single, f_single, strict=True)], '{:.2f}')}x our SQL alone")
    line = f"engine.fire_batch: {_span(list(batch))} applications/s, each audited"
    if b_set[0]:
        to_set = [b / s for b, s in zip(batch, b_set, strict=True)]
        line += (f" = {_span(to_set, '{:.2f}')}x the set-based bound (aim >= 0.50x), "
                 f"{_span([b / f for b, f in zip(batch, f_batch, strict=True)], '{:.2f}')}x our SQL alone")
    print(line)
    if kind == "postgresql":
        singles, batches = bench.paired(url, PAIR_BLOCKS)
        print(f"paired blocks ({PAIR_BLOCKS} x {PAIR_SINGLE} single, {PAIR_BLOCKS} x {PAIR_BATCH} batch, bound and "
              f"engine alternating): engine.fire {_span(singles, '{:.2f}')}x the bound (aim >= 0.50x), "
              f"fire_batch {_span(batches, '{:.2f}')}x the set-based bound (aim >= 0.50x)")
    if args.schema_costs:
        if kind != "postgresql":
            print("--schema-costs: PostgreSQL only")
            return
        costs = bench.schema_costs(max(args.rounds, 2))
        print("the write statement's server-side cost by schema variant (EXPLAIN ANALYZE, rolled back; median "
              "(min-max); trigger = the state-count trigger's own time):")
        for label, v in costs.items():
            print(f"  {label:40s} 1 row: {_span(v['exec1'], '{:.3f}')} ms, trigger {_span(v['trig1'], '{:.3f}')} ms, "
                  f"WAL {statistics.median(v['wal1']):.0f} B | 1,000 rows: {_span(v['exec1000'], '{:.1f}')} ms, "
                  f"trigger {_span(v['trig1000'], '{:.2f}')} ms, WAL {statistics.median(v['wal1000']):.0f} B/row")

if __name__ == "__main__":
    main()

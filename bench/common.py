"""What the benchmarks share: a database URL in the driver's spelling, a fresh schema with a test province, and
the timing of a function as p50/p95."""
from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable


def database_url(given: str | None, name: str) -> str:
    url = given or f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def fresh_world():
    """Inside an app context: drop what a previous run left, build the schema by the migrations, and seed the
    two-tier test province (tests.factories.World)."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tests.factories import build_world
    from workflow.db import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    with contextlib.redirect_stderr(io.StringIO()):
        upgrade(revision="heads")
    return build_world(tiers=2)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def timed(label: str, fn: Callable[[], object], repeat: int, *, fresh: bool = False, width: int = 52) -> list[float]:
    """Run `fn` once to warm up, then `repeat` times; print p50, p95 and max in ms and return the samples.
    `fresh`: roll the session back before each run, so nothing a previous run read is reused."""
    fn()
    samples = []
    for _ in range(repeat):
        if fresh:
            from workflow.db import db

            db.session.rollback()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<{width}} p50 {statistics.median(samples):8.1f} ms  p95 {percentile(samples, 95):8.1f} ms"
          f"  max {max(samples):8.1f} ms", flush=True)
    return samples

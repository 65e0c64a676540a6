"""Outbox-to-delivered delay with one RQ worker under a steady stream of transitions.

Starts a throwaway redis-server and an SMTP sink (aiosmtpd) on loopback, one real `flask --app wsgi worker`
process (the forking RQ Worker, or --simple for SimpleWorker), then commits approvals one at a time at a steady
rate; every commit kicks the relay. For each outbox row it measures, from the row's created_at (the transition's
time, before its commit):
  in-app: until the first in-app notice row exists (delivered_at of the notice);
  all:    until the row is marked delivered (its e-mails accepted by the SMTP server too).
Usage: python bench/delivery_bench.py [DATABASE_URL] [--rate 20] [--seconds 30] [--simple]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import database_url, fresh_world  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def aware(value):
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--rate", type=float, default=20.0, help="transitions per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--simple", action="store_true", help="SimpleWorker instead of the forking Worker")
    args = parser.parse_args()
    url = database_url(args.url, "delivery_bench")
    os.environ["DATABASE_URL"] = url

    from sqlalchemy import func, select

    from tests.factories import bulk_at_appraisal
    from tests.notif_services import RedisServer, SmtpSink, _descendants
    from web import create_app
    from workflow import engine
    from workflow.authz import actor_of
    from workflow.db import db
    from workflow.models import Notification, OutboxMessage

    redis, sink = RedisServer(appendonly=True), SmtpSink()
    redis.start()
    sink.start()
    app = create_app({"PASSWORD_HASH_FAST": True, "REDIS_URL": redis.url, "SMTP_HOST": "127.0.0.1",
                      "SMTP_PORT": sink.port, "NOTIFY_INLINE": False})
    worker = None
    try:
        with app.app_context():
            world = fresh_world()
            actor = actor_of(world.appraiser())
            n = int(args.rate * args.seconds)
            ids = bulk_at_appraisal(world, n)
            env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis.url, SMTP_HOST="127.0.0.1",
                       SMTP_PORT=str(sink.port), SECRET_KEY="bench")
            flask = str(Path(sys.executable).with_name("flask"))
            log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w")  # noqa: SIM115 - lives with the worker
            worker = subprocess.Popen([flask, "--app", "wsgi", "worker", *(["--simple"] if args.simple else [])],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            from rq import Worker

            from notifications import queue as nq

            deadline = time.monotonic() + 30
            while not Worker.all(connection=nq.connection()):
                if time.monotonic() > deadline:
                    raise SystemExit("the worker did not start")
                time.sleep(0.1)
            time.sleep(1.0)  # let it settle (scheduler started, first tick scheduled)

            interval, start = 1.0 / args.rate, time.monotonic()
            for i, app_id in enumerate(ids):
                pause = start + i * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                engine.fire(app_id, "approve", actor)
                db.session.commit()  # the commit kicks the relay
            sent_for = time.monotonic() - start

            deadline = time.monotonic() + 300
            pending = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
            while db.session.scalar(pending):
                db.session.rollback()
                if time.monotonic() > deadline:
                    raise SystemExit("deliveries did not finish within 5 minutes")
                time.sleep(0.2)
            rows = db.session.execute(
                select(OutboxMessage.created_at, OutboxMessage.delivered_at,
                       select(func.min(Notification.delivered_at))
                       .where(Notification.outbox_id == OutboxMessage.id, Notification.channel == "inapp")
                       .scalar_subquery())
                .where(OutboxMessage.application_id.in_(ids))).all()
            inapp = [(aware(r[2]) - aware(r[0])).total_seconds() * 1000 for r in rows]
            full = [(aware(r[1]) - aware(r[0])).total_seconds() * 1000 for r in rows]
            kind = db.engine.dialect.name
        print(f"database: {kind}; one {'SimpleWorker' if args.simple else 'forking Worker'}; "
              f"{len(ids)} transitions at {len(ids) / sent_for:.1f}/s for {sent_for:.0f} s; "
              f"{len(sink.messages)} e-mails received")
        for label, values in (("outbox -> in-app notice:", inapp), ("outbox -> all delivered:", full)):
            print(f"{label:26} median {statistics.median(values):7.1f} ms   p95 {percentile(values, 95):7.1f} ms"
                  f"   max {max(values):7.1f} ms")
        print("(all delivered = the in-app notices and two e-mails per transition accepted by the SMTP server)")
    finally:
        if worker is not None:
            for pid in [*_descendants(worker.pid), worker.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            worker.wait(10)
        sink.stop()
        redis.cleanup()


if __name__ == "__main__":
    main()

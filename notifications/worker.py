"""`flask --app wsgi worker`: an RQ worker with the scheduler, bound to the app.

The default Worker forks a work horse per job; appctx.job disposes the inherited SQLAlchemy pool in the horse and
gives each job its own app context, so the engine's connections are always made after the fork. --simple runs jobs
in the worker process itself (about three times the throughput for small jobs; one bad job can then take the
worker down, and a job timeout cannot kill it). Several workers on several machines can share one Redis: each
listens to the same queues, and the scheduler role is taken by one of them at a time (RQ's scheduler lock)."""
from __future__ import annotations

import logging
from datetime import date

from flask import Flask
from rq import SimpleWorker, Worker

from workflow.errors import WorkflowError

from . import appctx, relay, schedule
from . import queue as q


def warm_caches() -> None:
    """Load the approval chains before forking, so that no work horse reloads them; then close every pooled
    connection, so that none is inherited by a horse."""
    from workflow import chains
    from workflow.db import db

    try:
        chains.chain_for("CDHT", 0, date.today())
    except WorkflowError:
        pass
    db.session.remove()
    db.engine.dispose()


def run(app: Flask, burst: bool = False, simple: bool = False, queues: tuple[str, ...] = q.QUEUES,
        with_scheduler: bool = True) -> bool:
    """Start working; return whether any job ran (burst mode returns when the queues are empty)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    appctx.bind(app)
    conn = q.connection()
    schedule.ensure()
    relay.on_worker_start()  # what is pending goes now, not at the next tick (Redis may have lost its data)
    warm_caches()
    cls = SimpleWorker if simple else Worker
    worker = cls([q.queue(name, conn) for name in queues], connection=conn, serializer=q.SERIALIZER)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")

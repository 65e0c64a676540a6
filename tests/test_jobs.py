"""Jobs (workflow/jobs.py, notifications/jobs.py): an import job launched after commit runs synchronously
(JOBS_INLINE_SYNC, tests), in a background thread with its own app context (no Redis: the demo, whose page polls
the row), or on the RQ queue "hoctap-jobs" that the notifications worker listens to, run here by a real RQ
SimpleWorker on a throwaway redis-server."""
from __future__ import annotations

import time

import pytest
from rq import SimpleWorker

from notifications import jobs as notification_jobs
from notifications import queue as nq
from workflow import jobs
from workflow.db import db
from workflow.models import Application, Job

from .test_imports_files import person, start, xlsx

pytest_plugins = ["tests.notif_fixtures"]  # redis_server: a throwaway redis-server of the test's own


@pytest.fixture
def config(app):
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "JOBS_INLINE_SYNC")}
    yield app.config
    app.config.update(saved)
    nq.reset_clients()


def fresh(job_id: int) -> Job:
    db.session.rollback()  # a new snapshot: see what the job committed
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_launch_inline_sync(config, world):
    config.update(REDIS_URL=None, JOBS_INLINE_SYNC=True)
    job = start(world, xlsx([person(1), person(2)]))
    notification_jobs.launch(job.id)
    job = fresh(job.id)
    assert (job.status, job.created) == ("done", 2)


def test_launch_in_a_thread_without_redis(config, world):
    config.update(REDIS_URL=None, JOBS_INLINE_SYNC=False)
    job = start(world, xlsx([person(i) for i in range(300)]))
    job_id = job.id
    notification_jobs.launch(job_id)
    deadline = time.monotonic() + 60
    while fresh(job_id).status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
    job = fresh(job_id)
    assert (job.status, job.done, job.created) == ("done", 300, 300), job.failure
    assert db.session.query(Application).count() == 300


def test_rq_worker_runs_the_import(config, world, redis_server):
    config.update(REDIS_URL=redis_server.url, JOBS_INLINE_SYNC=False)
    nq.reset_clients()
    job = start(world, xlsx([person(i) for i in range(40)] + [person(99, born="x")]), dry_run=True)
    job_id = job.id
    notification_jobs.launch(job_id)
    queue = nq.queue(nq.JOBS)
    assert queue.count == 1 and fresh(job_id).status == "queued"  # enqueued, not run
    worker = SimpleWorker([nq.queue(name) for name in nq.QUEUES], connection=nq.connection(),
                          serializer=nq.SERIALIZER)
    assert worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    preview = fresh(job_id)
    assert (preview.status, preview.total, preview.created, preview.error_count) == ("done", 41, 0, 1)
    assert jobs.status(preview)["valid"] == 40
    from workflow import imports

    real = imports.confirm(preview, world.officer(0, 0))
    db.session.commit()
    notification_jobs.launch(real.id)
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    real = fresh(real.id)
    assert (real.status, real.created) == ("done", 40)
    assert db.session.query(Application).count() == 40


def test_the_worker_listens_to_the_jobs_queue():
    assert nq.JOBS == notification_jobs.JOBS_QUEUE == "hoctap-jobs"
    assert nq.JOBS in nq.QUEUES and nq.QUEUES[-1] == nq.JOBS  # after audit, notices and maintenance


def test_a_failed_job_is_marked_and_can_run_again(config, world):
    config.update(REDIS_URL=None, JOBS_INLINE_SYNC=True)
    job = start(world, xlsx([person(1)]))
    job_id = job.id
    import os

    from flask import current_app

    path = os.path.join(current_app.config["UPLOAD_DIR"], "imports", job.params["sha256"])
    data = open(path, "rb").read()
    os.remove(path)  # the stored file is gone: the job fails with the reason, nothing written
    from workflow import imports

    imports._recent.clear()  # as in a worker process, which reads the stored file (not the copy `start` read)
    notification_jobs.launch(job_id)
    job = fresh(job_id)
    assert job.status == "failed" and job.failure.startswith("nominees_file_gone")
    assert jobs.status(job)["finished_at"] is not None
    with open(path, "wb") as f:
        f.write(data)
    notification_jobs.launch(job_id)
    job = fresh(job_id)
    assert (job.status, job.created, job.failure) == ("done", 1, None)

"""Redis and RQ in one place: the connection, the queues, and how a job is started.

With REDIS_URL set, jobs go to RQ queues (JSON serializer: jobs get ids, never objects). Without it (the demo's
`make run`), NOTIFY_INLINE runs the same job functions in process, each in a fresh app context so it never touches
the session that is committing. Redis is a delivery vehicle only: the outbox table stays the source of truth, so a
failure to reach Redis is reported to the caller (RedisUnavailable) and the rows simply wait."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

NOTICES, AUDIT, MAINTENANCE = "hoctap-notices", "hoctap-audit", "hoctap-maintenance"
QUEUES = (AUDIT, NOTICES, MAINTENANCE)  # a worker listens to all three, audit first
JOBS = "hoctap-jobs"  # long work (issue 9, imports: notifications.jobs.launch), listened to last
QUEUES = (*QUEUES, JOBS)
SERIALIZER = JSONSerializer

_clients: dict[str, Redis] = {}
_down_until: dict[str, float] = {}


class RedisUnavailable(Exception):
    """Redis could not take the job now; the outbox rows stay pending and the sweep retries."""


def redis_url() -> str | None:
    return current_app.config.get("REDIS_URL") or None


def connection(url: str | None = None) -> Redis:
    """One client per URL and process. Short timeouts: a down Redis must cost an action milliseconds, not seconds.
    No decode_responses (RQ stores pickled/JSON bytes and breaks with it)."""
    url = url or redis_url()
    if url is None:
        raise RedisUnavailable("REDIS_URL is not set")
    client = _clients.get(url)
    if client is None:
        client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=5, health_check_interval=30)
        _clients[url] = client
    return client


def reset_clients() -> None:
    """Forget pooled connections (after a fork, or when a test restarts Redis)."""
    for client in _clients.values():
        try:
            client.connection_pool.disconnect()
        except Exception:  # noqa: BLE001 - closing a dead socket may fail; nothing to do
            pass
    _clients.clear()
    _down_until.clear()


def inline() -> bool:
    """Run jobs in process: no Redis configured and NOTIFY_INLINE on (the default outside tests)."""
    return redis_url() is None and bool(current_app.config.get("NOTIFY_INLINE"))


def queue(name: str, conn: Redis | None = None) -> Queue:
    return Queue(name, connection=conn or connection(), serializer=SERIALIZER)


def recently_down() -> bool:
    """True for a few seconds after Redis refused us: saves every commit a doomed connection attempt."""
    url = redis_url()
    return url is not None and _down_until.get(url, 0.0) > time.monotonic()


def mark_down() -> None:
    url = redis_url()
    if url is not None:
        _down_until[url] = time.monotonic() + float(current_app.config.get("NOTIFY_REDIS_BACKOFF", 2.0))


def mark_up() -> None:
    _down_until.pop(redis_url() or "", None)


def retry_policy() -> Retry:
    intervals = list(current_app.config.get("NOTIFY_RETRY_INTERVALS", [10, 60, 300, 900]))
    return Retry(max=len(intervals), interval=intervals)


def enqueue_many(name: str, func: Callable[..., Any], args_list: Sequence[tuple], *, retry: bool = True,
                 job_ids: Sequence[str | None] | None = None) -> list[str]:
    """Enqueue one job per argument tuple in one round trip; return the job ids. Raises RedisUnavailable."""
    try:
        q = queue(name)
        data = [Queue.prepare_data(func, args=args, retry=retry_policy() if retry else None,
                                   job_id=job_ids[i] if job_ids else None, result_ttl=3600, failure_ttl=30 * 86400)
                for i, args in enumerate(args_list)]
        jobs = q.enqueue_many(data)
    except RedisError as exc:
        mark_down()
        raise RedisUnavailable(str(exc)) from exc
    mark_up()
    return [j.id for j in jobs]


def wake(*wakeups: tuple[str, str, Callable[..., Any]], ttl_seconds: float = 10.0) -> int:
    """For each (flag, queue name, job function): queue the job unless a run of it is already queued and not yet
    started. The flag is set when a job is queued and cleared by the job as it starts (`started`), so a commit
    either finds a waiting job (which will see its rows) or queues one: no wake-up is lost, and a busy system
    runs one job per burst of commits, not one per commit. All flags go in one Redis round trip; the ttl only
    bounds a lost job (the periodic tick catches up). Returns how many jobs were queued."""
    if redis_url() is None or recently_down():
        return 0
    queued = 0
    try:
        conn = connection()
        pipe = conn.pipeline(transaction=False)
        for flag, _name, _func in wakeups:
            pipe.set(flag, b"1", nx=True, px=int(ttl_seconds * 1000))
        for was_set, (flag, name, func) in zip(pipe.execute(), wakeups, strict=True):
            if was_set:
                try:
                    enqueue_many(name, func, [()])
                except RedisUnavailable:
                    conn.delete(flag)
                    raise
                queued += 1
    except (RedisError, RedisUnavailable):
        mark_down()
    return queued


def nothing_in_flight() -> bool:
    """No delivery job is queued, running or waiting for a retry (one Redis round trip). Unknown: False."""
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    try:
        conn = connection()
        notices = queue(NOTICES, conn)
        pipe = conn.pipeline(transaction=False)
        pipe.llen(notices.key)
        pipe.zcard(StartedJobRegistry(queue=notices).key)
        pipe.zcard(ScheduledJobRegistry(queue=notices).key)
        return not any(pipe.execute())
    except RedisError:
        return False


def started(flag: str) -> None:
    """Called by a woken job before it looks at the database: commits from now on queue the next run."""
    if redis_url() is not None:
        try:
            connection().delete(flag)
        except RedisError:
            pass


def run_inline(func: Callable[..., Any], *args: Any) -> Any:
    """Run a job function now, in its own app context (own session), as a worker would."""
    app = current_app._get_current_object()
    with app.app_context():
        try:
            return func(*args)
        except Exception:  # a failed inline job leaves its outbox row pending for the next sweep
            log.exception("inline job %s failed", getattr(func, "__name__", func))
            return None

"""gunicorn for production: `gunicorn -c python:web.gunicorn_conf wsgi:app` (docs/deployment.md).

Every setting can be changed from the environment. Pages answer in well under a second and long work runs in RQ
jobs, so a short timeout catches a stuck worker without cutting off real work."""
from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # longer than the slowest page, far shorter than a hang
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))  # recycle workers: bounds slow leaks
max_requests_jitter = max_requests // 10  # ...but not all at once
preload_app = os.environ.get("GUNICORN_PRELOAD", "0") == "1"  # shares the import cost; pools are reset below
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
# X-Forwarded-* are read by the app itself (TRUSTED_PROXIES, werkzeug's ProxyFix), not by gunicorn.


def post_fork(server, worker) -> None:
    """A preloaded app was built in the master: make this worker open its own database and Redis connections."""
    if not preload_app:
        return
    from notifications import queue
    from workflow.db import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
    queue._clients.clear()

"""Jobs run inside the Flask app, wherever they run: a forked RQ work horse, a SimpleWorker, or in process.

A forked horse inherits the parent's SQLAlchemy pool and Redis sockets; using them from two processes corrupts
both. So in a worker process every job gets a fresh app context (a fresh session) and, when the process id changed
since the pool was made, the engine is disposed without closing the parent's connections."""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, has_app_context

from workflow.db import db

F = TypeVar("F", bound=Callable[..., Any])

_worker_app: Flask | None = None
_pool_pid: int = os.getpid()


def bind(app: Flask) -> None:
    """Called by `flask worker`: jobs of this process run in this app."""
    global _worker_app
    _worker_app = app


def _after_fork() -> None:
    global _pool_pid
    pid = os.getpid()
    if pid != _pool_pid:
        db.engine.dispose(close=False)  # leave the parent's connections alone; make new ones here
        from . import queue

        queue._clients.clear()  # the parent's sockets: drop, don't close
        _pool_pid = pid


def job(fn: F) -> F:
    """Decorate an RQ job function so it runs in the app with a session of its own."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = _worker_app
        if app is None:
            if has_app_context():  # SimpleWorker inside the app (tests) or an inline run
                return fn(*args, **kwargs)
            from .app import create_app

            app = create_app()
            bind(app)
        with app.app_context():
            _after_fork()
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper  # type: ignore[return-value]

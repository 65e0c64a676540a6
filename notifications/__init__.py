"""Delivery after commit: the outbox relay, RQ jobs for notices and audit sealing, reminders. It reads the outbox
and the models and never changes an application's state. See docs/notifications.md."""
from __future__ import annotations

import json
import os

from flask import Flask

DEFAULTS = {
    "SMTP_HOST": None,  # unset: e-mails are written to the log (the demo)
    "SMTP_PORT": 25,
    "SMTP_TIMEOUT": 20,
    "MAIL_FROM": "hoctap@localhost",
    "NOTIFY_BATCH": 50,  # outbox rows per delivery job
    "NOTIFY_SEND_LEASE": 120,  # seconds an e-mail stays claimed by one sender
    "NOTIFY_ABANDON_MINUTES": 10,  # handed but undelivered for this long: re-handed by the sweep
    "NOTIFY_MAX_HANDS": 10,  # then left to an admin
    "NOTIFY_RETRY_INTERVALS": [10, 60, 300, 900],  # RQ Retry backoff, seconds
    "NOTIFY_TICK_SECONDS": 60,
    "NOTIFY_REMINDER_HOUR": 7,  # Vietnam time
    "NOTIFY_REDIS_BACKOFF": 2.0,  # after Redis refused, skip the after-commit kick for this many seconds
}


def _from_env(key: str, default):
    raw = os.environ.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(default, bool):
        return raw == "1"
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):
        return json.loads(raw)
    return raw


def init_app(app: Flask) -> None:
    """Configuration (environment first), the after-commit kick, and the CLI commands.

    NOTIFY_INLINE (default: on unless testing) runs the jobs in process when REDIS_URL is unset, so `make run`
    delivers notices without Redis; tests that want it turn it on themselves."""
    for key, default in DEFAULTS.items():
        app.config.setdefault(key, _from_env(key, default))
    app.config.setdefault("NOTIFY_INLINE", _from_env("NOTIFY_INLINE", not app.testing))

    from . import cli, hooks

    hooks.install()
    cli.register(app)

"""Fixtures for the notification tests (load with `pytest_plugins = ["tests.notif_fixtures"]`): a real
redis-server, a real SMTP sink, and the app pointed at both for one test."""
from __future__ import annotations

import pytest

from notifications import queue as nq

from .notif_services import RedisServer, SmtpSink


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    if sink.handler.gate is not None:
        sink.handler.gate.set()
    sink.stop()


@pytest.fixture
def notif_app(app, redis_server, smtp_sink):
    """The session's app pointed at this test's Redis and SMTP sink; everything restored afterwards."""
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "SMTP_HOST", "SMTP_PORT", "NOTIFY_INLINE",
                                            "NOTIFY_RETRY_INTERVALS", "NOTIFY_SEND_LEASE")}
    app.config.update(REDIS_URL=redis_server.url, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port,
                      NOTIFY_INLINE=False, NOTIFY_RETRY_INTERVALS=[0, 0], NOTIFY_SEND_LEASE=1)
    nq.reset_clients()
    yield app
    nq.reset_clients()
    app.config.update(saved)



"""A live server over the test database, and headless Chromium driven by Playwright.

The server is a second app over the same database as the `app` fixture, with CSRF protection ON (as in
production), served by werkzeug in a thread on a free 127.0.0.1 port. Test data is committed (the conftest empties
the tables before each test); the server's connections are closed after each test so the next wipe finds none.
Chromium is Debian's (CHROMIUM_PATH or `chromium` on PATH); `playwright install` is never needed."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from web import create_app
from workflow.db import db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def live_app(app):
    return create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "WTF_CSRF_ENABLED": True,
                       "SECRET_KEY": "browser-tests", "PASSWORD_HASH_FAST": True,
                       "UPLOAD_DIR": app.config["UPLOAD_DIR"]})


class _InFlight:
    """Counts the requests the server is answering, so that a test's teardown can wait for the last one (a lazy
    image a closing page asked for) before the next test's wipe replaces the database file under it."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.count, self.lock = wsgi_app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
        try:
            return list(self.wsgi_app(environ, start_response))
        finally:
            with self.lock:
                self.count -= 1

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture(scope="session")
def live_server(live_app):
    live_app.wsgi_app = live_app.extensions["in_flight"] = _InFlight(live_app.wsgi_app)
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def live(live_app, live_server):
    """The base URL; after the test, the server's pooled connections are closed before the next wipe."""
    yield live_server
    live_app.extensions["in_flight"].wait_idle()
    with live_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is required for the browser tests (apt-get install chromium)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live):
    """Open a fresh browser context (its own cookies) per user; all closed after the test, before the live server's
    teardown waits for what they were still asking."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

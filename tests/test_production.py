"""A production start that is real (hardening issue): gunicorn workers share one secret key, a production process
refuses to invent keys, readiness and liveness endpoints, HSTS behind HTTPS, and a worker app without the web's
views."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from web import create_app
from workflow import config
from workflow.db import db

from .factories import PASSWORD
from .notif_services import free_port
from .test_login_limits import wait_ready

ROOT = Path(__file__).resolve().parents[1]


def test_gunicorn_workers_without_a_configured_key_share_one(app, world, tmp_path):
    """No SECRET_KEY: the key is made once in the instance folder, so a cookie signed by one of four workers is
    accepted by the others (before, each drew its own key and a login lasted until the next worker answered)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], PASSWORD_HASH_FAST="1",
               HOCTAP_INSTANCE_DIR=str(tmp_path), GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="4",
               GUNICORN_ACCESSLOG="", AUDIT_KEY="test-audit-key-for-gunicorn")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "python:web.gunicorn_conf",
                             "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc)
        key_file = tmp_path / config.SECRET_FILE_NAME
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        with requests.Session() as browser:
            form = browser.get(f"{base}/login", timeout=10).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            resp = browser.post(f"{base}/login", data={"csrf_token": token, "username": world.officer().username,
                                                       "password": PASSWORD}, allow_redirects=False, timeout=10)
            assert resp.status_code == 302, resp.text
            for _ in range(20):  # new connections: every worker gets its turn
                browser.close()
                page = browser.get(f"{base}/", allow_redirects=False, timeout=10)
                assert page.status_code == 200, page.headers.get("Location")
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_instance_key_is_made_once_and_kept(tmp_path):
    first = config.secret_key(str(tmp_path), {})
    assert config.secret_key(str(tmp_path), {}) == first
    assert config.secret_key(str(tmp_path), {"SECRET_KEY": "from-env"}) == "from-env"
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert config.secret_key(str(other), {}) != first


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY", "AUDIT_KEY"])
def test_production_refuses_to_start_without_its_keys(tmp_path, missing):
    env = {"HOCTAP_ENV": "production", "DATABASE_URL": "postgresql://app@db/hoctap", "SECRET_KEY": "s" * 40,
           "AUDIT_KEY": "a" * 64}
    del env[missing]
    with pytest.raises(config.ConfigError, match=missing):
        config.from_env(str(tmp_path), env)
    env[missing + "_FILE" if missing != "DATABASE_URL" else missing] = str(tmp_path / "k")
    (tmp_path / "k").write_text("k" * 64)
    assert config.from_env(str(tmp_path), env)["SQLALCHEMY_DATABASE_URI"]


def test_a_production_process_without_keys_does_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "AUDIT_KEY", "SECRET_KEY_FILE",
                                                            "AUDIT_KEY_FILE")}
    env.update(HOCTAP_ENV="production", HOCTAP_INSTANCE_DIR=str(tmp_path), DATABASE_URL="sqlite:///x.db")
    done = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert b"HOCTAP_ENV=production needs SECRET_KEY, AUDIT_KEY" in done.stderr
    assert not (tmp_path / config.SECRET_FILE_NAME).exists()


def test_liveness_and_readiness(app, client, tmp_path):
    assert client.get("/health/live").get_json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"
    assert client.get("/health").status_code == 200
    for url in (f"sqlite:///{tmp_path}/missing-dir/none.db", f"sqlite:///{tmp_path}/empty.db"):
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
        try:
            c = other.test_client()
            assert c.get("/health/live").status_code == 200  # the process is fine...
            resp = c.get("/health/ready")  # ...but it must not get traffic
            assert resp.status_code == 503 and resp.get_json()["status"] == "error"
        finally:
            with other.app_context():
                db.engine.dispose()


def test_hsts_only_when_cookies_are_secure(app, client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_worker_app_loads_no_web_module():
    code = ("import sys; from notifications.app import create_app; app = create_app(); "
            "print(sorted(m for m in sys.modules if m == 'web' or m.startswith('web.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, SECRET_KEY="test", AUDIT_KEY="test-audit-key"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    listed = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "notifications.app", "--help"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, SECRET_KEY="test", AUDIT_KEY="test-audit-key"))
    assert "worker" in listed.stdout and "audit" in listed.stdout


def test_the_app_takes_its_start_up_objects_out_of_the_collectors_reach(app):
    """web.create_app ends with gc.freeze(): a full collection then walks only what requests made (the p95 spikes
    of bench/scale_bench.py were full passes over the start-up objects)."""
    import gc

    assert gc.get_freeze_count() > 10_000

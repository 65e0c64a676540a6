"""Login throttling (findings 4-6 of the hardening issue): Flask-Limiter counters shared by every process through
Redis, per account and per address, a known device passing the account lock, login still working while Redis is
down, and the same password-check cost for unknown, inactive and real accounts."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from web import create_app
from workflow import accounts, passwords
from workflow.db import db

from .factories import PASSWORD, make_user
from .notif_services import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"


def login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def account_limit(app) -> int:
    return int(app.config["LOGIN_ACCOUNT_LIMIT"].split()[0])


@pytest.fixture
def other_app(app):
    """A second app (another process, as far as the limiter knows) on the same database; configured per test."""
    made = []

    def make(**overrides):
        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                  "PASSWORD_HASH_FAST": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                  "AUDIT_KEY": app.config["AUDIT_KEY"], **overrides}
        made.append(create_app(config))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def test_an_attacker_cannot_lock_the_real_user_out_of_a_known_device(app, client, world):
    officer = world.officer()
    assert login(client, officer.username, PASSWORD).status_code == 302  # the officer's own office computer
    client.post("/logout")
    attacker = app.test_client()
    for _ in range(account_limit(app)):
        assert login(attacker, officer.username, "guess", "203.0.113.7").status_code == 401
    assert login(attacker, officer.username, PASSWORD, "203.0.113.7").status_code == 429  # locked for strangers
    stranger = app.test_client()
    locked = login(stranger, officer.username, PASSWORD, "198.51.100.2")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Đăng nhập sai quá nhiều lần" in locked.get_data(as_text=True)
    assert login(client, officer.username, PASSWORD).status_code == 302  # ...but not for the officer


def test_pages_and_api_count_the_same_failures_of_an_account(app, client, world):
    officer = world.officer()
    for _ in range(account_limit(app)):
        assert client.post(f"{API}/tokens", json={"username": officer.username, "password": "x"}).status_code == 401
    assert login(client, officer.username, PASSWORD, "198.51.100.9").status_code == 429


def test_one_address_cannot_spray_many_usernames(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", "6 per 5 minutes")
    for n in range(6):
        assert login(client, f"guess-{n}", "x", "192.0.2.50").status_code == 401
    assert login(client, world.officer().username, PASSWORD, "192.0.2.50").status_code == 429
    assert client.post(f"{API}/tokens", json={"username": "another", "password": "x"},
                       environ_base={"REMOTE_ADDR": "192.0.2.50"}).status_code == 429
    assert login(client, world.officer().username, PASSWORD, "192.0.2.51").status_code == 302  # another address


def test_successful_logins_are_not_counted(app, client, world):
    officer = world.officer()
    for _ in range(account_limit(app) + 2):
        assert login(client, officer.username, PASSWORD).status_code == 302
        client.post("/logout")


def test_login_works_while_redis_is_down(other_app, world):
    port = free_port()  # nothing listens here: Redis is down
    down = other_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert down.config["RATELIMIT_STORAGE_URI"] == f"failover+redis://127.0.0.1:{port}/0"
    client = down.test_client()
    officer = world.officer()
    assert login(client, officer.username, "wrong").status_code == 401
    assert login(client, officer.username, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    api = client.post(f"{API}/tokens", json={"username": officer.username, "password": PASSWORD})
    assert api.status_code == 200
    other, stranger = world.officer(1), down.test_client()  # the limits still hold, in this process's memory
    for _ in range(account_limit(down)):
        assert login(stranger, other.username, "wrong", "198.51.100.3").status_code == 401
    assert login(stranger, other.username, PASSWORD, "198.51.100.3").status_code == 429


def test_behind_a_trusted_proxy_each_client_is_its_own_address(other_app, world):
    proxied = other_app(TRUSTED_PROXIES=1, LOGIN_ADDRESS_LIMIT="3 per 5 minutes")
    plain = other_app(LOGIN_ADDRESS_LIMIT="3 per 5 minutes")
    for app_, second_client_status in ((proxied, 401), (plain, 429)):
        client = app_.test_client()
        for n in range(3):
            client.post("/login", data={"username": f"x{n}", "password": "x"},
                        headers={"X-Forwarded-For": "192.0.2.10"})
        resp = client.post("/login", data={"username": "y", "password": "x"},
                           headers={"X-Forwarded-For": "192.0.2.11"})
        assert resp.status_code == second_client_status


@pytest.fixture
def spy_checks(monkeypatch):
    """Every password hash verification made, with the hash it was made against."""
    seen: list[str] = []
    real = passwords.check_password

    def spy(stored: str, password: str) -> bool:
        seen.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "check_password", spy)
    return seen


def _params(stored: str) -> str:
    return stored.rsplit("$", 2)[0]  # "$argon2id$v=19$m=...,t=...,p=..." (the cost), without salt and hash


@pytest.mark.parametrize("how", ["page", "api"])
def test_unknown_and_inactive_accounts_cost_the_same_hash_check(client, world, spy_checks, how):
    officer = world.officer()
    inactive = make_user("branch_officer", world.branch())
    accounts.set_active(inactive, False)
    db.session.commit()

    def attempt(username: str, password: str) -> int:
        if how == "page":
            return login(client, username, password).status_code
        return client.post(f"{API}/tokens", json={"username": username, "password": password}).status_code

    for username in (officer.username, "nobody-" + officer.username, inactive.username):
        spy_checks.clear()
        assert attempt(username, "wrong-password") == 401
        assert len(spy_checks) == 1, username
        assert _params(spy_checks[0]) == _params(officer.password_hash), username


def test_limits_are_shared_by_every_gunicorn_worker(app, world, tmp_path):
    """Three real gunicorn workers, one Redis: an account gets its limit of failures in all, not per process."""
    redis = RedisServer()
    redis.start()
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis.url,
               SECRET_KEY="test", PASSWORD_HASH_FAST="1", HOCTAP_INSTANCE_DIR=str(tmp_path),
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="3", GUNICORN_ACCESSLOG="")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "-c", "python:web.gunicorn_conf", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc)
        officer = world.officer()
        statuses = []
        for _ in range(3 * account_limit(app)):
            with requests.Session() as s:  # a new connection each time: any worker may answer
                r = s.post(f"{base}{API}/tokens", json={"username": officer.username, "password": "wrong"},
                           timeout=10)
                statuses.append(r.status_code)
        limit = account_limit(app)
        assert statuses == [401] * limit + [429] * (len(statuses) - limit), statuses
        keys = redis_keys(redis.url)
        assert any("hoctap-limit" in k and "login-account" in k for k in keys), keys  # counted in Redis
    finally:
        proc.terminate()
        proc.wait(20)
        redis.cleanup()


def wait_ready(base: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {proc.stderr.read().decode()}")
        try:
            if requests.get(f"{base}/health/ready", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or a worker still booting on a busy machine
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not become ready")


def redis_keys(url: str) -> list[str]:
    from redis import Redis

    client = Redis.from_url(url)
    try:
        return [k.decode() for k in client.keys("*")]
    finally:
        client.close()


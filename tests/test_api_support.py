"""Helpers shared by the API tests, and the tests of the API's authentication: token exchange, bearer checks,
expiry, revocation on password change, and the failed-login limit."""
from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from web.api import auth
from workflow.db import db
from workflow.passwords import hash_password

from .factories import PASSWORD

API = "/api/v1"


def bearer(user, lang: str | None = None) -> dict[str, str]:
    """Headers for a user; the token is issued directly (logging in through the API is tested below)."""
    headers = {"Authorization": f"Bearer {auth.issue_token(user)}"}
    if lang:
        headers["Accept-Language"] = lang
    return headers


def error_of(resp) -> dict:
    """The error object of a JSON error response (and proof that it is JSON)."""
    assert resp.is_json, (resp.status_code, resp.data[:200])
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return body["error"]


def files_under(path: str) -> set[str]:
    found = set()
    for root, _dirs, names in os.walk(path):
        found.update(os.path.join(root, n) for n in names)
    return found


@pytest.fixture(autouse=True)
def _fresh_throttle():
    auth.reset_throttle()
    yield
    auth.reset_throttle()


def test_token_exchange_and_use(client, world):
    officer = world.officer()
    resp = client.post(f"{API}/tokens", json={"username": officer.username, "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["user"]["roles"] == [{"role": "branch_officer", "unit_id": world.branch().id}]
    listed = client.get(f"{API}/campaigns", headers={"Authorization": f"Bearer {body['token']}"})
    assert listed.status_code == 200
    assert {c["title"] for c in listed.get_json()["items"]} == {"CDHT", "XHT"}


@pytest.mark.parametrize("credentials", [
    {"username": "nobody", "password": PASSWORD},
    {"username": "WRONG-PASSWORD", "password": "not-it"},
])
def test_bad_credentials_are_401_in_both_languages(client, world, credentials):
    if credentials["username"] == "WRONG-PASSWORD":
        credentials = {**credentials, "username": world.officer().username}
    vi = error_of(client.post(f"{API}/tokens", json=credentials))
    en_resp = client.post(f"{API}/tokens", json=credentials, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert en_resp.status_code == 401
    en = error_of(en_resp)
    assert vi["code"] == en["code"] == "invalid_credentials"
    assert vi["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert en["message"] == "Wrong username or password."


def test_token_request_validation(client, world):
    resp = client.post(f"{API}/tokens", json={"username": 5})
    assert resp.status_code == 422
    fields = error_of(resp)["fields"]
    assert set(fields) == {"username", "password"}
    malformed = client.post(f"{API}/tokens", data="{username:", content_type="application/json")
    assert malformed.status_code == 400 and error_of(malformed)["code"] == "bad_json"
    not_object = client.post(f"{API}/tokens", json=["a", "b"])
    assert not_object.status_code == 400 and error_of(not_object)["code"] == "bad_body"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwdw==", "Token abc"])
def test_missing_or_invalid_token_is_401(client, world, header):
    headers = {"Authorization": header} if header else {}
    resp = client.get(f"{API}/applications", headers=headers)
    assert resp.status_code == 401
    assert error_of(resp)["code"] in {"unauthorized", "invalid_token"}
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(app, client, world, time_machine):
    time_machine.move_to(datetime.now(UTC), tick=False)
    headers = bearer(world.officer())
    time_machine.shift(auth.max_age() - 60)
    assert client.get(f"{API}/campaigns", headers=headers).status_code == 200
    time_machine.shift(120)
    resp = client.get(f"{API}/campaigns", headers=headers)
    assert resp.status_code == 401 and error_of(resp)["code"] == "invalid_token"


def test_password_change_and_deactivation_end_tokens(client, world):
    officer = world.officer()
    headers = bearer(officer)
    assert client.get(f"{API}/campaigns", headers=headers).status_code == 200
    officer.password_hash = hash_password("a-new-password")
    db.session.commit()
    assert client.get(f"{API}/campaigns", headers=headers).status_code == 401
    headers = bearer(officer)
    officer.active = False
    db.session.commit()
    assert client.get(f"{API}/campaigns", headers=headers).status_code == 401


def test_token_signed_with_another_key_is_refused(app, client, world):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not-the-key", salt=auth.SALT).dumps({"uid": world.admin.id, "pw": "x"})
    resp = client.get(f"{API}/campaigns", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401


def test_failed_logins_are_limited(app, client, world):
    officer = world.officer()
    for _ in range(int(app.config["LOGIN_ACCOUNT_LIMIT"].split()[0])):
        assert client.post(f"{API}/tokens", json={"username": officer.username, "password": "x"}).status_code == 401
    resp = client.post(f"{API}/tokens", json={"username": officer.username, "password": PASSWORD},
                       headers={"Accept-Language": "en"})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert error_of(resp)["message"].startswith("Too many failed logins")
    other = world.officer(1)  # another account is not locked out by someone guessing this one
    assert client.post(f"{API}/tokens", json={"username": other.username, "password": PASSWORD}).status_code == 200

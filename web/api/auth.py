"""Bearer tokens for the API: signed, expiring, stateless (itsdangerous over SECRET_KEY), so no table is needed.

A token names the user and a fingerprint of the password hash: changing a password or deactivating the user ends
every token issued before. Cookies are never accepted here, so the API needs no CSRF token. Failed logins are
limited per username and client address, in process (the pages have their own limiter)."""
from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict, deque

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from workflow.authz import Actor, actor_of
from workflow.db import db
from workflow.models import User
from workflow.passwords import check_password, hash_password

from . import bp, public
from .errors import ApiError, FieldErrors
from .util import json_body, string_field

SALT = "hoctap-api-token-v1"
DEFAULT_MAX_AGE = 8 * 3600
FAILED_LIMIT = 10  # failed logins per window, per (username, address)
FAILED_WINDOW = 300  # seconds

_failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
_failures_lock = threading.Lock()
_dummy_hash: str | None = None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def max_age() -> int:
    return int(current_app.config.get("API_TOKEN_MAX_AGE", DEFAULT_MAX_AGE))


def issue_token(user: User) -> str:
    """A token for this user, valid for API_TOKEN_MAX_AGE seconds (default 8 hours: one working day)."""
    return _serializer().dumps({"uid": user.id, "pw": _fingerprint(user)})


def user_from_token(token: str) -> User:
    try:
        data = _serializer().loads(token, max_age=max_age())
    except (SignatureExpired, BadSignature) as exc:
        raise ApiError(401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("pw") != _fingerprint(user):
        raise ApiError(401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return user


def authenticate() -> None:
    """Run before every protected endpoint: set g.api_user / g.actor from the bearer token, or refuse with 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    g.api_user = user_from_token(token.strip())
    g.actor = actor_of(g.api_user)


def current_actor() -> Actor:
    return g.actor


def current_user() -> User:
    return g.api_user


def _throttle_key(username: str) -> tuple[str, str]:
    return username.casefold(), request.remote_addr or "-"


def _check_throttle(key: tuple[str, str]) -> None:
    now = time.monotonic()
    with _failures_lock:
        window = _failures[key]
        while window and window[0] < now - FAILED_WINDOW:
            window.popleft()
        if len(window) >= FAILED_LIMIT:
            retry = int(window[0] + FAILED_WINDOW - now) + 1
            raise ApiError(429, "too_many_attempts", retry_after=retry, headers={"Retry-After": str(retry)})


def _record_failure(key: tuple[str, str]) -> None:
    with _failures_lock:
        _failures[key].append(time.monotonic())


def reset_throttle() -> None:
    """Forget failed attempts (tests; an operator after an incident)."""
    with _failures_lock:
        _failures.clear()


def _spend_time_like_a_check(password: str) -> None:
    """An unknown username costs the same hash check as a wrong password, so timing does not reveal users."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-real-password")
    check_password(_dummy_hash, password)


@bp.post("/tokens")
@public
def create_token():
    """Exchange a username and password for a bearer token."""
    body = json_body()
    errors = FieldErrors()
    username = string_field(body, "username", errors, max_len=80)
    password = string_field(body, "password", errors, max_len=1024, strip=False, any_char=True)
    errors.raise_if_any()
    key = _throttle_key(username)
    _check_throttle(key)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _spend_time_like_a_check(password)
    if user is None or not user.active or not check_password(user.password_hash, password):
        _record_failure(key)
        raise ApiError(401, "invalid_credentials")
    return {"token": issue_token(user), "token_type": "Bearer", "expires_in": max_age(),
            "user": {"id": user.id, "username": user.username, "full_name": user.full_name,
                     "roles": [{"role": gr.role, "unit_id": gr.unit_id} for gr in user.grants]}}

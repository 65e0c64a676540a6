"""Bearer tokens for the API: signed, expiring, stateless (itsdangerous over SECRET_KEY), so no table is needed.

A token names the user, a fingerprint of the password hash and the user's session epoch: a password change,
deactivation, a revoked grant or a logout on the pages (workflow/accounts.py) ends every token issued before.
Cookies are never accepted here, so the API needs no CSRF token. Failed logins are throttled by the same shared
limits as the pages (web/ratelimit.py: per account and per address, in Redis when configured)."""
from __future__ import annotations

import hashlib

from flask import current_app, g, request
from flask_limiter.errors import RateLimitExceeded
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from workflow.admin.inputs import InvalidInput, parse
from workflow.authz import Actor, actor_of
from workflow.db import db
from workflow.declared import TokenInput
from workflow.models import User
from workflow.passwords import check_login

from .. import ratelimit
from . import bp, public
from .errors import ApiError, FieldErrors
from .openapi import declare
from .util import json_body

SALT = "hoctap-api-token-v1"
DEFAULT_MAX_AGE = 8 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def max_age() -> int:
    return int(current_app.config.get("API_TOKEN_MAX_AGE", DEFAULT_MAX_AGE))


def issue_token(user: User) -> str:
    """A token for this user, valid for API_TOKEN_MAX_AGE seconds (default 8 hours: one working day)."""
    return _serializer().dumps({"uid": user.id, "pw": _fingerprint(user), "ep": user.session_epoch})


def user_from_token(token: str) -> User:
    try:
        data = _serializer().loads(token, max_age=max_age())
    except (SignatureExpired, BadSignature) as exc:
        raise ApiError(401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    uid = data.get("uid") if isinstance(data, dict) else None
    user = db.session.get(User, uid) if isinstance(uid, int) and not isinstance(uid, bool) else None
    if (user is None or not user.active or data.get("pw") != _fingerprint(user)
            or data.get("ep") != user.session_epoch):
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


def reset_throttle() -> None:
    """Forget failed attempts (tests; an operator after an incident)."""
    ratelimit.reset()


def _too_many(exc: RateLimitExceeded):
    """A breached login limit, in the API's error format."""
    from .errors import _api_error

    retry = ratelimit.retry_after(exc.limit)
    return _api_error(ApiError(429, "too_many_attempts", retry_after=retry, headers={"Retry-After": str(retry)}))


bp.register_error_handler(RateLimitExceeded, _too_many)


@bp.post("/tokens")
@public
@declare(json=TokenInput, operation_id="createToken")
def create_token():
    """Exchange a username and password for a bearer token."""
    errors = FieldErrors()
    try:
        given = parse(TokenInput, json_body())
    except InvalidInput as exc:
        errors.absorb(exc)
    errors.raise_if_any()
    user = db.session.scalar(select(User).where(User.username == given.username))
    if not check_login(user, given.password):
        raise ApiError(401, "invalid_credentials")
    return {"token": issue_token(user), "token_type": "Bearer", "expires_in": max_age(),
            "user": {"id": user.id, "username": user.username, "full_name": user.full_name,
                     "roles": [{"role": gr.role, "unit_id": gr.unit_id} for gr in user.grants]}}

"""Login throttling with Flask-Limiter, shared by the pages and the API.

Counters live in Redis when REDIS_URL is set (RATELIMIT_STORAGE_URI overrides), so every gunicorn process and
machine counts the same failures; while Redis is unreachable each process counts in its own memory (the same
limits, per process) and logins keep working. Only failed logins (401) are counted, in two scopes:
- per account: LOGIN_ACCOUNT_LIMIT failures, whatever the address. A browser where this account logged in before
  carries a signed device cookie and is exempt, so an attacker guessing a password cannot lock the real user out
  of their own office computer;
- per address: LOGIN_ADDRESS_LIMIT failures over any usernames (spraying).
Behind a reverse proxy set TRUSTED_PROXIES (ProxyFix) or every user is the proxy's address (docs/deployment.md)."""
from __future__ import annotations

import json
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit
from itsdangerous import BadSignature, URLSafeSerializer
from limits.storage import MemoryStorage, RedisStorage

DEVICE_COOKIE = "hoctap_device"
DEVICE_MAX_USERS = 8  # a shared office computer remembers the last few accounts that logged in on it
DEVICE_DAYS = 180


class FailoverRedisStorage(RedisStorage):
    """`failover+redis://...`: Redis, shared by every process; while it does not answer, this process's memory.
    Flask-Limiter's own fallback swaps in a separate list of limits, not the ones of each view, so the login
    limits would lapse while Redis is down; this keeps them (per process) and never fails a request. After a
    failure Redis is left alone for RETRY_SECONDS, so a dead Redis costs one connect timeout, not one per call."""

    STORAGE_SCHEME = ["failover+redis", "failover+rediss"]
    RETRY_SECONDS = 5.0

    def __init__(self, uri: str, **options) -> None:
        super().__init__(uri.removeprefix("failover+"), **options)
        self.memory = MemoryStorage()
        self._down_until = 0.0

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except self.base_exceptions:
                self._down_until = time.monotonic() + self.RETRY_SECONDS
        return getattr(self.memory, name)(*args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def get_expiry(self, *args, **kwargs):
        return self._call("get_expiry", *args, **kwargs)

    def clear(self, *args, **kwargs):
        return self._call("clear", *args, **kwargs)

    def acquire_entry(self, *args, **kwargs):
        return self._call("acquire_entry", *args, **kwargs)

    def get_moving_window(self, *args, **kwargs):
        return self._call("get_moving_window", *args, **kwargs)

    def check(self) -> bool:
        return True  # always answers: from Redis or from memory

    def reset(self) -> int | None:
        self.memory.reset()
        try:
            return super().reset()
        except self.base_exceptions:
            return None


def storage_uri(redis_url: str | None) -> str:
    return "failover+" + redis_url if redis_url else "memory://"


def client_address() -> str:
    return request.remote_addr or "-"


def attempted_username() -> str:
    """The username a login request names (form field on the pages, JSON field on the API), case-folded."""
    if request.is_json:
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except (ValueError, RecursionError):
            body = None
        value = body.get("username") if isinstance(body, dict) else None
    else:
        value = request.form.get("username")
    return value.strip().casefold()[:80] if isinstance(value, str) else ""


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hoctap-known-device")


def known_users() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        names = _device_serializer().loads(raw)
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def known_device() -> bool:
    """This browser logged in as the named account before (the per-account limit does not apply)."""
    name = attempted_username()
    return bool(name) and name in known_users()


def remember_device(response: Response, username: str) -> Response:
    """After a successful page login: remember this account on this browser."""
    names = [username.casefold()] + [n for n in known_users() if n != username.casefold()]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(names[:DEVICE_MAX_USERS]),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _failed(response: Response) -> bool:
    return response.status_code == 401


LIMITED_LOGINS = ("auth.login", "api.create_token")  # the page and the API share both scopes


def _limit_logins(app: Flask, limiter: Limiter) -> None:
    """Wrap the login views of this app (one limiter per app, so test apps and processes never share one)."""
    per_account = limiter.shared_limit(lambda: current_app.config["LOGIN_ACCOUNT_LIMIT"], scope="login-account",
                                       key_func=attempted_username, deduct_when=_failed, exempt_when=known_device,
                                       methods=["POST"])
    per_address = limiter.shared_limit(lambda: current_app.config["LOGIN_ADDRESS_LIMIT"], scope="login-address",
                                       key_func=client_address, deduct_when=_failed, methods=["POST"])
    for endpoint in LIMITED_LOGINS:
        app.view_functions[endpoint] = per_address(per_account(app.view_functions[endpoint]))


def _limit_verify(app: Flask, limiter: Limiter) -> None:
    """The public certificate check (issue 12 §2): every request counts, per address (VERIFY_LIMIT), so codes
    cannot be tried in bulk; a person scanning a few papers never meets it."""
    app.config.setdefault("VERIFY_LIMIT", "30 per minute")
    endpoint = "verify.verify"
    if endpoint in app.view_functions:
        limit = limiter.shared_limit(lambda: current_app.config["VERIFY_LIMIT"], scope="verify",
                                     key_func=client_address)
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])


def retry_after(limit: RequestLimit | None) -> int:
    """Seconds until the breached window lets the next attempt through."""
    if limit is None:
        return 60
    try:
        return max(1, int(limit.reset_at - time.time()))
    except Exception:  # noqa: BLE001 - the storage may be down; any positive answer will do
        return 60


def init_app(app: Flask) -> None:
    """Call after every blueprint is registered: the login views are wrapped here."""
    app.config.setdefault("LOGIN_ACCOUNT_LIMIT", "5 per 5 minutes")
    app.config.setdefault("LOGIN_ADDRESS_LIMIT", "30 per 5 minutes")
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config.get("REDIS_URL")))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 1})
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # whatever a store does, never a 500 at login
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter = Limiter(key_func=client_address, app=app, strategy="moving-window", key_prefix="hoctap-limit")
    app.extensions["hoctap_limiter"] = limiter
    _limit_logins(app, limiter)
    _limit_verify(app, limiter)


def reset() -> None:
    """Forget every counter of this app (tests; an operator after an incident)."""
    current_app.extensions["hoctap_limiter"].reset()

"""Login attempt limiting: failures are counted per (username, address) in a fixed window. Redis holds the
counters when REDIS_URL is set (shared by every gunicorn process); otherwise an in-process dict does, which is
enough for the one-process demo."""
from __future__ import annotations

import threading
import time

from flask import Flask, current_app


class MemoryCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, float]] = {}

    def count(self, key: str) -> int:
        with self._lock:
            n, until = self._hits.get(key, (0, 0.0))
            return n if until > time.monotonic() else 0

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            now = time.monotonic()
            n, until = self._hits.get(key, (0, 0.0))
            if until <= now:
                n, until = 0, now + window
            self._hits[key] = (n + 1, until)
            if len(self._hits) > 100_000:  # forget expired keys now and then
                self._hits = {k: v for k, v in self._hits.items() if v[1] > now}
            return n + 1

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._r = redis.Redis.from_url(url)

    def count(self, key: str) -> int:
        return int(self._r.get(f"login:{key}") or 0)

    def hit(self, key: str, window: int) -> int:
        n = int(self._r.incr(f"login:{key}"))
        if n == 1:  # the first failure opens the window
            self._r.expire(f"login:{key}", window)
        return n

    def clear(self, key: str) -> None:
        self._r.delete(f"login:{key}")


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["login_counter"] = RedisCounter(url) if url else MemoryCounter()


def _limits() -> tuple[int, int]:
    attempts, window = current_app.config["LOGIN_ATTEMPTS"].split("/")
    return int(attempts), int(window)


def _key(username: str, address: str | None) -> str:
    return f"{(username or '').strip().lower()}|{address or '-'}"


def blocked(username: str, address: str | None) -> bool:
    attempts, _ = _limits()
    return current_app.extensions["login_counter"].count(_key(username, address)) >= attempts


def failed(username: str, address: str | None) -> None:
    _, window = _limits()
    counter = current_app.extensions["login_counter"]
    counter.hit(_key(username, address), window)
    counter.hit(_key("*", address), window)


def succeeded(username: str, address: str | None) -> None:
    current_app.extensions["login_counter"].clear(_key(username, address))


def blocked_address(address: str | None) -> bool:
    """One address guessing many usernames is limited too, at five times the per-name limit."""
    attempts, _ = _limits()
    return current_app.extensions["login_counter"].count(_key("*", address)) >= 5 * attempts

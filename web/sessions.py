"""Web sessions that end: each session carries the user's session epoch, the time it began and the time it was
last used. It is refused when the epoch moved (logout anywhere, password change or reset, deactivation, a revoked
grant: workflow/accounts.py), after SESSION_IDLE_MINUTES without a request, or SESSION_MAX_HOURS after login
(defaults: 30 minutes and 10 hours, for a shared office computer). The cookie is signed, so none of the three
values can be forged; the check costs no query beyond loading the user."""
from __future__ import annotations

import time

from flask import current_app, session

from workflow.models import User

EPOCH, BEGAN, SEEN = "_ep", "_t0", "_ts"
TOUCH_EVERY = 60  # seconds: the last-use stamp is rewritten at most this often (fewer cookie changes)


def begin(user: User) -> None:
    now = int(time.time())
    session[EPOCH], session[BEGAN], session[SEEN] = user.session_epoch, now, now


def valid(user: User) -> bool:
    """This session still belongs to `user` and has not timed out; refresh its last-use stamp."""
    now = int(time.time())
    began, seen = session.get(BEGAN), session.get(SEEN)
    if session.get(EPOCH) != user.session_epoch or not isinstance(began, int) or not isinstance(seen, int):
        return False
    idle = 60 * int(current_app.config["SESSION_IDLE_MINUTES"])
    lifetime = 3600 * float(current_app.config["SESSION_MAX_HOURS"])
    if now - seen > idle or now - began >= lifetime:
        return False
    if now - seen >= TOUCH_EVERY:
        session[SEEN] = now
    return True


def clear() -> None:
    """Forget everything but the language choice."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def init_app(app) -> None:
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SESSION_MAX_HOURS", 10)

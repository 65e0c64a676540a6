"""Login and logout with Flask-Login. `load_user` is shared with the JSON API's bearer-token authentication."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import func, select

from workflow.db import db
from workflow.models import User
from workflow.passwords import check_password

from . import ratelimit

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def load_user(user_id: int | str) -> User | None:
    """The active user with this id, or None (Flask-Login and the API's token check both use it)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


login_manager.user_loader(load_user)


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction; translated when flashed
    return text


login_manager.login_message = N_("Please log in to continue.")
login_manager.localize_callback = _  # translated per request, so it follows the language switch


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL an attacker chose."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    error, status = None, 200
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        address = request.remote_addr
        if ratelimit.blocked(username, address) or ratelimit.blocked_address(address):
            error, status = _("Too many failed attempts. Please wait a few minutes and try again."), 429
        else:
            user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
            if user is not None and user.active and check_password(user.password_hash, password):
                ratelimit.succeeded(username, address)
                lang = session.get("lang")
                session.clear()  # no session fixation across the login boundary
                if lang:
                    session["lang"] = lang
                login_user(user)
                return redirect(safe_next(request.args.get("next")))
            ratelimit.failed(username, address)
            error, status = _("Wrong username or password."), 401
    return render_template("login.html", error=error, username=username), status


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


def _fresh_user() -> None:
    """Load the user from this request's session, never from a `g` left by an earlier request."""
    g.pop("_login_user", None)


def init_app(app: Flask) -> None:
    app.before_request(_fresh_user)
    login_manager.init_app(app)
    app.register_blueprint(bp)

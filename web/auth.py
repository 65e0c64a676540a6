"""Login, logout and password change with Flask-Login. Sessions end on logout, password change, deactivation and
revoked grants (web/sessions.py); failed logins are throttled per account and per address (web/ratelimit.py)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_login.utils import login_url
from sqlalchemy import func, select

from workflow import accounts
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import User
from workflow.passwords import check_login

from . import ratelimit, sessions
from .i18n import locale

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def load_user(user_id: int | str) -> User | None:
    """The active user with this id, or None (the pages' session check and the API's token check use it)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError, OverflowError):
        return None
    return user if user is not None and user.active else None


@login_manager.user_loader
def _session_user(user_id: str) -> User | None:
    user = load_user(user_id)
    if user is None or not sessions.valid(user):
        sessions.clear()
        g.session_ended = True
        return None
    return user


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction; translated when flashed
    return text


login_manager.login_message = N_("Please log in to continue.")
login_manager.localize_callback = _  # translated per request, so it follows the language switch


@login_manager.unauthorized_handler
def _unauthorized():
    if g.get("session_ended"):
        flash(_("Your session has ended. Please log in again."), "info")
    else:
        flash(_(login_manager.login_message), "info")
    return redirect(login_url(login_manager.login_view, next_url=request.url))


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
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if check_login(user, password):
            sessions.clear()  # no session fixation across the login boundary
            login_user(user)
            sessions.begin(user)
            return ratelimit.remember_device(redirect(safe_next(request.args.get("next"))), user.username)
        error, status = _("Wrong username or password."), 401
    return render_template("login.html", error=error, username=username), status


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded):
    response = render_template("login.html", username=(request.form.get("username") or "").strip(),
                               error=_("Too many failed attempts. Please wait a few minutes and try again."))
    return response, 429, {"Retry-After": str(ratelimit.retry_after(exc.limit))}


@bp.post("/logout")
def logout():
    """Ends this session and every other session and token of the user (a copied cookie dies too)."""
    if current_user.is_authenticated:
        accounts.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    sessions.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """A user's own password change: every session (this one too) and token ends; log in again."""
    error = None
    if request.method == "POST":
        new = request.form.get("new_password") or ""
        if new != (request.form.get("confirm_password") or ""):
            error = _("The two new passwords differ.")
        else:
            try:
                accounts.change_password(current_user._get_current_object(),
                                         request.form.get("current_password") or "", new)
            except WorkflowError as exc:
                db.session.rollback()
                error = exc.message(locale())
            else:
                db.session.commit()
                logout_user()
                sessions.clear()
                flash(_("Your password was changed. Please log in with the new one."), "info")
                return redirect(url_for("auth.login"))
    return render_template("password.html", error=error, min_length=accounts.MIN_PASSWORD), 422 if error else 200


def _fresh_user() -> None:
    """Load the user from this request's session, never from a `g` left by an earlier request."""
    g.pop("_login_user", None)


def init_app(app: Flask) -> None:
    sessions.init_app(app)
    app.before_request(_fresh_user)
    login_manager.init_app(app)
    app.register_blueprint(bp)

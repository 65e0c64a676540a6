"""Pages of the administration. Officers: users, role grants, one-time set-password links, the officers spreadsheet.
Views only read and call workflow.admin; they never write by themselves. The public page that spends a
set-password link (/password/set/<token>) lives here too, on a blueprint of its own outside /admin."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import accounts
from workflow.admin import ADMIN, officers
from workflow.admin.inputs import InvalidInput, parse
from workflow.authz import visible_units_clause
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Unit
from workflow.vocabulary import ROLES

from ..i18n import locale
from .common import ID, actor, paginate, roles_required

bp = Blueprint("admin_officers", __name__, url_prefix="/admin/users")
public = Blueprint("set_password", __name__)
FORM_FIELDS = ("username", "full_name", "email", "phone", "role", "unit")
MAX_FILE = 5 * 1024 * 1024


@bp.record_once
def _register_public(state) -> None:
    """The set-password page must be reachable without login and outside /admin: its own blueprint, registered
    with this one."""
    state.app.register_blueprint(public)


def _units():
    """Units the admin may grant roles at (inside their admin grants), in tree order."""
    return db.session.scalars(select(Unit).where(visible_units_clause(actor(), Unit.path, ADMIN))
                              .order_by(Unit.path)).all()


def _field_errors(exc: InvalidInput) -> dict[str, str]:
    out = {}
    for name, message in exc.field_messages(locale()).items():
        out[{"grants.0.role": "role", "grants.0.unit": "unit", "grants": "role"}.get(name, name)] = message
    return out


@bp.get("/")
@roles_required(*ADMIN)
def index():
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(officers.users_query(actor(), q or None), per_page=25)
    return render_template("admin_officers_index.html", page=page, q=q)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ADMIN)
def new():
    form = {k: (request.form.get(k) or "").strip() for k in FORM_FIELDS}
    errors: dict[str, str] = {}
    error = None
    if request.method == "POST":
        data = {"username": form["username"], "full_name": form["full_name"], "email": form["email"] or None,
                "phone": form["phone"] or None, "grants": [{"role": form["role"], "unit": form["unit"]}]}
        try:
            user, link = officers.create_user(actor(), parse(officers.UserIn, data))
        except InvalidInput as exc:
            db.session.rollback()
            errors = _field_errors(exc)
        except WorkflowError as exc:
            db.session.rollback()
            error = exc.message(locale())
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.full_name), "success")
            if link:
                return render_template("admin_officers_link.html", user=user, link=link)
            flash(_("A set-password link was sent to %(email)s.", email=user.email), "info")
            return redirect(url_for(".user", user_id=user.id))
    return render_template("admin_officers_new.html", form=form, errors=errors, error=error, units=_units(),
                           roles=ROLES), 422 if (errors or error) else 200


@bp.get(f"/<{ID}:user_id>")
@roles_required(*ADMIN)
def user(user_id: int):
    target = officers.visible_user(actor(), user_id)
    return render_template("admin_officers_user.html", user=target, units=_units(), roles=ROLES,
                           grants=sorted(target.grants, key=lambda g: g.id))


def _confirmed() -> bool:
    if request.form.get("confirm") != "1":
        flash(_("Tick the confirmation box to go ahead."), "error")
        return False
    return True


def _back(user_id: int):
    return redirect(url_for(".user", user_id=user_id))


def _apply(change, success: str) -> None:
    """One change of a user's page: commit and say so, or roll back and say why (a 404 stays a 404)."""
    try:
        change()
    except InvalidInput as exc:
        db.session.rollback()
        flash("; ".join(exc.field_messages(locale()).values()), "error")
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message(locale()), "error")
    else:
        db.session.commit()
        flash(success, "success")


@bp.post(f"/<{ID}:user_id>/grants")
@roles_required(*ADMIN)
def add_grant(user_id: int):
    target = officers.visible_user(actor(), user_id)
    _apply(lambda: officers.add_grant(actor(), target, parse(officers.GrantIn, {
        "role": request.form.get("role") or "", "unit": request.form.get("unit") or ""})), _("Role granted."))
    return _back(user_id)


@bp.post(f"/<{ID}:user_id>/grants/<{ID}:grant_id>/revoke")
@roles_required(*ADMIN)
def revoke_grant(user_id: int, grant_id: int):
    target = officers.visible_user(actor(), user_id)
    if _confirmed():
        _apply(lambda: officers.revoke_grant(actor(), target, grant_id),
               _("Role revoked; the user's sessions have ended."))
    return _back(user_id)


@bp.post(f"/<{ID}:user_id>/active")
@roles_required(*ADMIN)
def set_active(user_id: int):
    target = officers.visible_user(actor(), user_id)
    active = request.form.get("active") == "1"
    if active or _confirmed():
        _apply(lambda: officers.set_active(actor(), target, active),
               _("Account reactivated.") if active else _("Account deactivated; its sessions have ended."))
    return _back(user_id)


@bp.post(f"/<{ID}:user_id>/reset")
@roles_required(*ADMIN)
def reset(user_id: int):
    target = officers.visible_user(actor(), user_id)
    if not _confirmed():
        return _back(user_id)
    try:
        link = officers.reset_link(actor(), target)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return _back(user_id)
    db.session.commit()
    if link:
        return render_template("admin_officers_link.html", user=target, link=link)
    flash(_("A set-password link was sent to %(email)s.", email=target.email), "info")
    return _back(user_id)


@bp.get("/import")
@roles_required(*ADMIN)
def bulk():
    return render_template("admin_officers_import.html", rows=None, errors=None)


@bp.get("/import/template.xlsx")
@roles_required(*ADMIN)
def template():
    return Response(officers.template_xlsx(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=mau-can-bo.xlsx"})


def _import_page(rows, errors, status: int = 200):
    return render_template("admin_officers_import.html", rows=rows, errors=errors,
                           rows_json=json.dumps(rows, ensure_ascii=False) if rows else ""), status


@bp.post("/import")
@roles_required(*ADMIN)
def bulk_preview():
    """Read and check the file; nothing is stored yet. The checked rows go back in the form to be imported."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file first."), "error")
        return redirect(url_for(".bulk"))
    content = upload.read(MAX_FILE + 1)
    try:
        if len(content) > MAX_FILE:
            abort(413)
        rows = officers.read_sheet(upload.filename, content)
        _inputs, errors = officers.check_rows(actor(), rows)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return redirect(url_for(".bulk"))
    db.session.rollback()
    if errors:
        return _import_page(rows, [e.message(locale()) for e in errors], 422)
    return _import_page(rows, [])


@bp.post("/import/confirm")
@roles_required(*ADMIN)
def bulk_import():
    """All or nothing: every row is checked again, then every user created in one transaction."""
    try:
        rows = json.loads(request.form.get("rows") or "[]")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError
    except ValueError:
        abort(400)
    rows = [{k: (str(r.get(k)) if r.get(k) is not None else None) for k in officers.COLUMNS} for r in rows]
    try:
        created = officers.import_rows(actor(), rows)
    except officers.ImportRefused as exc:
        db.session.rollback()
        return _import_page(rows, [e.message(locale()) for e in exc.errors], 422)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return redirect(url_for(".bulk"))
    db.session.commit()
    flash(_("%(n)s users created.", n=len(created)), "success")
    return render_template("admin_officers_imported.html", created=created)


@public.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Spend a one-time link: choose a password (twice); every session ends; then log in."""
    try:
        target = officers.user_from_set_password_token(token)
    except WorkflowError as exc:
        return render_template("admin_officers_set_password.html", refused=exc.message(locale()),
                               min_length=accounts.MIN_PASSWORD), exc.status
    error = None
    if request.method == "POST":
        new = request.form.get("new_password") or ""
        if new != (request.form.get("confirm_password") or ""):
            error = _("The two new passwords differ.")
        else:
            try:
                officers.set_password_with_link(token, new)
            except WorkflowError as exc:
                db.session.rollback()
                error = exc.message(locale())
            else:
                db.session.commit()
                flash(_("Your password is set. Please log in."), "success")
                return redirect(url_for("auth.login"))
    return render_template("admin_officers_set_password.html", refused=None, user=target, error=error,
                           min_length=accounts.MIN_PASSWORD), 422 if error else 200

"""Citizens across years and places (issue 9, section 2): the history of one CCCD (Lịch sử công dân), the list of
files flagged as live in another province too (Hồ sơ trùng tỉnh khác), and the flag banner of the detail page.

Only appraisers, approvers, auditors and admins (workflow.citizens.HISTORY_ROLES) use these pages: anyone else
gets 403 whatever CCCD they type, so the answer says nothing about the citizen. Within those roles a CCCD without a
file in one's units is 404, the same page whether it has files elsewhere or none at all."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from workflow import citizens
from workflow.errors import GuardRefused, NotFound
from workflow.inputs import canonical_citizen_id
from workflow.models import Application

from ..i18n import locale
from .common import actor, paginate, roles_required

bp = Blueprint("citizens", __name__)


@bp.get("/citizens")
@roles_required(*citizens.HISTORY_ROLES)
def lookup():
    """The small form; a typed CCCD is checked here so a mistyped one is explained, not just 'not found'."""
    raw = request.args.get("cccd")
    if raw is None:
        return render_template("citizens_lookup.html", cccd="", error=None)
    try:
        citizen_id = canonical_citizen_id(raw)
    except GuardRefused as exc:
        return render_template("citizens_lookup.html", cccd=raw, error=exc.message(locale())), 422
    return redirect(url_for("citizens.history", cccd=citizen_id))


@bp.get("/citizens/flagged")
@roles_required(*citizens.HISTORY_ROLES)
def flagged():
    """Files of my units whose CCCD is live in another province's campaign of the same title and year."""
    page = paginate(citizens.flagged_query(actor()), per_page=25, max_per_page=200)
    twins = {a.id: citizens.flags(a, actor()) for a in page.items}
    return render_template("citizens_flagged.html", page=page, twins=twins)


@bp.get("/citizens/<cccd>")
@roles_required(*citizens.HISTORY_ROLES)
def history(cccd: str):
    try:
        citizen_id, items = citizens.history(cccd, actor())
    except GuardRefused as exc:
        return render_template("citizens_lookup.html", cccd=cccd, error=exc.message(locale())), 422
    except NotFound as exc:
        return render_template("citizens_lookup.html", cccd=cccd, error=exc.message(locale())), 404
    return render_template("citizens_history.html", citizen_id=citizen_id, items=items)


@bp.app_template_global()
def citizen_flags(app: Application) -> list[dict[str, Any]]:
    """The detail page's warnings (templates/citizens_flags.html), for readers the rule is meant for."""
    if not current_user.is_authenticated:
        return []
    return citizens.flags(app, actor())


@bp.app_template_global()
def citizen_history_link(app: Application) -> str | None:
    """The address of the history of this file's citizen, when the reader may open it."""
    if not current_user.is_authenticated or app.citizen_id is None:
        return None
    if not actor().covers(app.unit.path, citizens.HISTORY_ROLES):
        return None
    return url_for("citizens.history", cccd=app.citizen_id)

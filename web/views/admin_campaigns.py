"""Pages of the administration. Campaigns: open, edit (extensions with a reason), close; their deadlines.
Views only read and call workflow.admin; they never write by themselves."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import clock, deadlines
from workflow.admin import campaigns as ops
from workflow.admin.inputs import InvalidInput, parse
from workflow.authz import province_of
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Campaign, Rubric, TitleType, Unit

from ..i18n import locale
from .common import ID, actor, roles_required

bp = Blueprint("admin_campaigns", __name__, url_prefix="/admin/campaigns")
DATE_FIELDS = ("opens_on", "submit_deadline", "scoring_deadline", "appraisal_deadline", "decision_deadline")
NUMBER_FIELDS = ("year", "province_id", "rubric_id", "stage_limit_days", "escalate_after_days")


@bp.record_once
def _short_address(state) -> None:
    """/campaigns/new, the address the issue names, leads to the page of this blueprint."""
    state.app.add_url_rule("/campaigns/new", "campaigns_new", lambda: redirect(url_for("admin_campaigns.new")))


def _provinces() -> list[Unit]:
    """Provinces where the user holds an admin grant over the whole province."""
    ids = {province_of(g.unit_path) for g in actor().grants if g.role == "admin" and g.unit_level == "province"}
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name))) if ids else []


def _campaign(campaign_id: int) -> Campaign:
    try:
        return ops.campaign_of(actor(), campaign_id)
    except WorkflowError as exc:
        abort(exc.status)


def _form_data(fields: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    """The raw form (to show again) and what goes to the declared input: blanks left out (a required field is
    then "required", an optional one unset), numbers only when typed as ASCII digits."""
    from workflow.inputs import parse_int

    raw = {k: (request.form.get(k) or "").strip() for k in fields}
    data: dict[str, Any] = {}
    for k, v in raw.items():
        if not v:
            continue
        if k in NUMBER_FIELDS:
            number = parse_int(v, minimum=0)
            data[k] = v if number is None else number  # a non-number stays text: the model says "integer"
        else:
            data[k] = v
    return raw, data


def _choices() -> dict[str, Any]:
    return {"provinces": _provinces(), "titles": list(db.session.scalars(select(TitleType).order_by(TitleType.code))),
            "rubrics": list(db.session.scalars(select(Rubric).order_by(Rubric.title_code, Rubric.id.desc()))),
            "lang": "en" if locale().startswith("en") else "vi"}


@bp.get("/")
@roles_required("admin")
def index():
    """Campaigns of the admin's provinces, newest year first, with their deadlines and state."""
    provinces = _provinces()
    rows = list(db.session.scalars(select(Campaign).where(Campaign.province_id.in_([p.id for p in provinces]))
                                   .order_by(Campaign.year.desc(), Campaign.title_code))) if provinces else []
    today = clock.today()
    return render_template("admin_campaigns_index.html", rows=rows, today=today,
                           next_deadline=deadlines.next_deadline, nominations_open=deadlines.nominations_open)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new():
    choices = _choices()
    if not choices["provinces"]:
        abort(403)
    fields = ("title", "year", "province_id", "name", "rubric_id", *DATE_FIELDS, "stage_limit_days",
              "escalate_after_days")
    errors: dict[str, str] = {}
    if request.method == "POST":
        raw, data = _form_data(fields)
        try:
            campaign = ops.open_campaign(actor(), parse(ops.CampaignIn, data))
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.field_messages(locale())
        except WorkflowError as exc:
            db.session.rollback()
            if exc.status == 404:
                abort(404)
            errors = {"_": exc.message(locale())}
        else:
            db.session.commit()
            flash(_("Campaign «%(name)s» opened.", name=campaign.name), "success")
            return redirect(url_for("admin_campaigns.index"))
    else:
        year = clock.today().year
        raw = {"year": str(year), "stage_limit_days": "14", "escalate_after_days": "28"}
    return render_template("admin_campaigns_form.html", campaign=None, form=raw, errors=errors,
                           **choices), 422 if errors else 200


def _dmy_form(campaign: Campaign) -> dict[str, str]:
    out = {k: deadlines.dmy(v) if (v := getattr(campaign, k)) is not None else "" for k in DATE_FIELDS}
    return out | {"name": campaign.name, "rubric_id": str(campaign.rubric_id),
                  "stage_limit_days": str(campaign.stage_limit_days),
                  "escalate_after_days": str(campaign.escalate_after_days), "reason": ""}


@bp.route(f"/<{ID}:campaign_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(campaign_id: int):
    """Change dates, name or rubric; moving a deadline later is an extension and needs a reason."""
    campaign = _campaign(campaign_id)
    errors: dict[str, str] = {}
    form = _dmy_form(campaign)
    if request.method == "POST":
        raw, data = _form_data(("name", "rubric_id", *DATE_FIELDS, "stage_limit_days", "escalate_after_days",
                                "reason"))
        for optional in ("scoring_deadline", "appraisal_deadline"):  # a cleared optional deadline is removed
            if optional not in data:
                data[optional] = None
        form = raw
        try:
            ops.update_campaign(actor(), campaign, parse(ops.CampaignPatch, data))
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.field_messages(locale())
        except WorkflowError as exc:
            db.session.rollback()
            errors = {"_": exc.message(locale())}
        else:
            db.session.commit()
            flash(_("Campaign «%(name)s» saved.", name=campaign.name), "success")
            return redirect(url_for("admin_campaigns.index"))
        campaign = _campaign(campaign_id)
    choices = _choices() | {"rubrics": [r for r in _choices()["rubrics"] if r.title_code == campaign.title_code]}
    return render_template("admin_campaigns_form.html", campaign=campaign, form=form, errors=errors,
                           **choices), 422 if errors else 200


@bp.route(f"/<{ID}:campaign_id>/close", methods=["GET", "POST"])
@roles_required("admin")
def close(campaign_id: int):
    """Asks first; closing ends nominations (files under way still finish)."""
    campaign = _campaign(campaign_id)
    error = None
    if request.method == "POST":
        try:
            ops.close_campaign(actor(), campaign, request.form.get("reason"))
        except WorkflowError as exc:
            db.session.rollback()
            error = exc.message(locale())
        else:
            db.session.commit()
            flash(_("Campaign «%(name)s» closed: it takes no more nominations.", name=campaign.name), "success")
            return redirect(url_for("admin_campaigns.index"))
        campaign = _campaign(campaign_id)
    return render_template("admin_campaigns_close.html", campaign=campaign, error=error), 422 if error else 200

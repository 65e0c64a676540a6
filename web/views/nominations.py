"""The applicant side: create a nomination, upload evidence per criterion, score, download evidence."""
from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from workflow import operations
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.declared import NominationInput, ScoreSheetInput, person_missing, typed_form
from workflow.definitions import definition
from workflow.errors import WorkflowError
from workflow.inputs import parse_int
from workflow.models import Campaign, Unit
from workflow.rubrics import spec

from .. import uploads
from ..i18n import locale
from .common import ID, actor, version_arg
from .home import acting_states

bp = Blueprint("nominations", __name__)


def _creator_units(campaign: Campaign) -> list[Unit]:
    """Units where the user may open a file for this campaign: their grants' units at the first stage's level,
    and (for a grant above that level) the units below it at that level."""
    first = definition(campaign.title_code).stages[0]
    units: dict[int, Unit] = {}
    for grant in actor().grants:
        if first not in acting_states(grant, campaign):
            continue
        units[grant.unit_id] = db.session.get(Unit, grant.unit_id)
    return sorted(units.values(), key=lambda u: u.name)


def _residences(units: list[Unit]) -> list[Unit]:
    """Where a nominee may live: the creating units' commune, its villages (thôn, tổ dân phố) and its branches."""
    from sqlalchemy import or_, select

    parents = {u.parent_id for u in units if u.parent_id} | {u.id for u in units}
    rows = db.session.scalars(select(Unit).where(or_(Unit.id.in_(parents), Unit.parent_id.in_(parents)))
                              .order_by(Unit.path))
    me = actor()  # the engine's own rule (operations.residence_allowed) decides what may be offered
    return [r for r in rows if any(operations.residence_allowed(u, r, me) for u in units)]


def _page_message(field: str, code: str) -> str | None:
    """The page's own wording for a declared input's code on this form (None: the shared field message)."""
    if field == "full_name":
        if code in ("required", "empty"):
            return _("Enter the full name.")
        if code == "name_chars":
            return _("The name contains characters that are not allowed: hidden format characters (such as "
                     "direction overrides or zero-width spaces) or too many accent marks on one letter.")
    if field == "date_of_birth" and code in ("required", "iso_date", "date"):
        return _("Enter a valid date of birth.")
    if field == "citizen_id":
        if code == "citizen_id_ascii":
            return _("The citizen ID takes the digits 0-9 only (not full-width, Arabic-Indic or other digits).")
        if code in ("required", "empty", "citizen_id", "too_long"):
            return _("The citizen ID has exactly 12 digits.")
    if field == "target_level":
        return _("Choose a target level.")
    return None


def _declared_nomination(campaign: Campaign, unit: Unit | None, form: dict[str, str], person: bool,
                         errors: dict[str, str]) -> NominationInput | None:
    """The form judged by the same declared input as the API and the import (workflow/declared.py): a bad value
    gets the same code everywhere; the page words it next to its field, in the user's language."""
    fields = ("full_name", "date_of_birth", "citizen_id", "subject_group") if person else ()
    data = typed_form({k: form[k] for k in (*fields, "target_level")}, ints={"target_level"},
                      dates={"date_of_birth"})
    data.update(campaign=campaign.id, unit=unit.id if unit is not None else 0)
    try:
        nomination = parse(NominationInput, data)
        return nomination.require_person() if person else nomination
    except InvalidInput as refused:
        exc = refused
        if person and "required" not in {code for code, _p in exc.fields.values()}:  # every missing field at once
            exc = InvalidInput({**exc.fields, **person_missing(data, already=exc.fields)})
        messages = exc.field_messages(locale())
        for field, (code, _params) in exc.fields.items():
            if field in ("campaign", "unit"):
                continue  # the unit is chosen from a list: "Choose a unit." is already said
            errors.setdefault(field, _page_message(field, code) or messages[field])
        return None


@bp.route(f"/campaigns/<{ID}:campaign_id>/applications/new", methods=["GET", "POST"])
@login_required
def new(campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    units = _creator_units(campaign)
    if not units:
        abort(403)
    rubric = spec(campaign.rubric_id)
    form = {k: (request.form.get(k) or "").strip() for k in
            ("full_name", "date_of_birth", "citizen_id", "subject_group", "unit_id", "target_level", "residence_id")}
    residences = _residences(units)
    errors: dict[str, str] = {}
    if request.method == "POST":
        unit = next((u for u in units if str(u.id) == form["unit_id"]), None)
        if unit is None:
            errors["unit_id"] = _("Choose a unit.")
        person = campaign.title_code != "XHT"
        nomination = _declared_nomination(campaign, unit, form, person, errors)
        if person:
            if rubric.frameworks and form["subject_group"] not in rubric.frameworks:
                errors.setdefault("subject_group", _("Choose a subject group."))
            residence = next((r for r in residences if str(r.id) == form["residence_id"]), None)
            if residence is None:
                errors["residence_id"] = _("Choose the place of residence.")
        if not errors:
            try:
                app = operations.create_application(
                    campaign, unit, actor(), full_name=nomination.full_name, date_of_birth=nomination.date_of_birth,
                    citizen_id=nomination.citizen_id, subject_group=nomination.subject_group,
                    residence_unit=residence if person else None, target_level=nomination.target_level)
            except WorkflowError as exc:
                db.session.rollback()
                if exc.status != 422:
                    raise
                errors["_"] = exc.message(locale())
            else:
                db.session.commit()
                flash(_("The application was created. Now upload the evidence for each criterion."), "success")
                return redirect(url_for("review.detail", application_id=app.id))
    status = 422 if errors else 200
    lang = "en" if locale().startswith("en") else "vi"
    groups = {f["code"]: f["name"][lang] for f in campaign.rubric.definition.get("frameworks", [])}
    return render_template("new_application.html", campaign=campaign, units=units, rubric=rubric, form=form,
                           errors=errors, subject_groups=groups, residences=residences), status


@bp.post(f"/applications/<{ID}:application_id>/evidence")
@login_required
def upload(application_id: int):
    app = operations.get_visible(application_id, actor())
    criterion = request.form.get("criterion") or ""
    file = request.files.get("file")
    limit = current_app.config.get("UPLOAD_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"]
    try:
        if file is None:
            raise uploads.UploadRejected("empty")
        checked = uploads.check(file.filename, file.read(limit + 1), limit)
    except uploads.UploadRejected as exc:
        return _detail_error(app, exc.message(locale()), 422)
    version = version_arg()
    try:
        operations.add_evidence(app, actor(), criterion_code=criterion, original_name=checked.original_name,
                                size=checked.size, sha256=checked.sha256, media_type=checked.media_type,
                                version=version)
        uploads.store(current_app.config["UPLOAD_DIR"], checked)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _detail_error(operations.get_visible(application_id, actor()), exc.message(locale()), exc.status)
    db.session.commit()
    flash(_("Evidence «%(name)s» uploaded for criterion %(code)s.", name=checked.original_name, code=criterion),
          "success")
    return redirect(url_for("review.detail", application_id=app.id, _anchor="evidence"))


def _detail_error(app, message: str, status: int):
    from .review import render_detail

    return render_detail(app, error=message, status=status)


@bp.get(f"/evidence/<{ID}:evidence_id>")
@login_required
def download(evidence_id: int):
    from workflow.evidence import visible_file  # evidence in bulk: a removed file is gone except for auditors

    item = visible_file(evidence_id, actor())
    path = uploads.path_of(current_app.config["UPLOAD_DIR"], item.sha256)
    if not os.path.exists(path):
        abort(404)
    response = send_file(path, mimetype=item.media_type, as_attachment=True, max_age=0,
                         download_name=uploads.named_as(item.original_name, item.media_type))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route(f"/applications/<{ID}:application_id>/scores", methods=["GET", "POST"])
@login_required
def scores(application_id: int):
    app = operations.get_visible(application_id, actor())
    rubric = spec(app.rubric_id)
    criteria = rubric.criteria_for(app.target_level)
    current = {s.criterion_code: s.value for s in app.scores}
    adjusting = app.state in operations.ADJUST_STATES
    error, values = None, {c.code: current.get(c.code) for c in criteria}
    if request.method == "POST":
        raw = {c.code: (request.form.get(f"score-{c.code}") or "").strip() for c in criteria}
        values = {code: parse_int(v) if v else None for code, v in raw.items()}
        bad = [code for code, v in raw.items() if v and values[code] is None]
        entered = {code: v for code, v in values.items() if v is not None}
        if bad:
            error = _("Scores are whole numbers; check criteria %(codes)s.", codes=", ".join(bad))
        elif not entered:
            error = _("Enter at least one score.")
        else:
            changed = {code: v for code, v in entered.items() if current.get(code) != v}
            try:  # the same declared input as PUT /api/v1/applications/<id>/scores
                sheet = parse(ScoreSheetInput, {"scores": changed or entered, "version": version_arg(),
                                                "reason": request.form.get("reason") or None})
                operations.set_scores(app, actor(), sheet.scores, reason=sheet.reason, version=sheet.version)
            except WorkflowError as exc:
                db.session.rollback()
                if exc.status == 404:
                    raise
                app = operations.get_visible(application_id, actor())
                error = exc.message(locale())
                return render_template("scores.html", app=app, rubric=rubric, criteria=criteria, values=values,
                                       adjusting=adjusting, error=error), exc.status
            db.session.commit()
            flash(_("Scores saved: total %(total)s.", total=app.score_total), "success")
            return redirect(url_for("review.detail", application_id=app.id, _anchor="scores"))
        return render_template("scores.html", app=app, rubric=rubric, criteria=criteria, values=values,
                               adjusting=adjusting, error=error), 422
    return render_template("scores.html", app=app, rubric=rubric, criteria=criteria, values=values,
                           adjusting=adjusting, error=error)

"""The applicant side: create a nomination, upload evidence per criterion, score, download evidence."""
from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required
from itsdangerous import BadSignature, URLSafeSerializer

from workflow import clock, operations, subjects
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.declared import NominationInput, ScoreSheetInput, person_missing, typed_form
from workflow.definitions import for_campaign
from workflow.errors import WorkflowError
from workflow.models import Application, Campaign, Unit
from workflow.rubrics import spec
from workflow.score_trail import score_trail
from workflow.vocabulary import COLLECTIVE_KINDS

from .. import uploads
from ..i18n import locale
from ..wording import explain
from .common import ID, actor, version_arg
from .home import acting_states

bp = Blueprint("nominations", __name__)


def _creator_units(campaign: Campaign) -> list[Unit]:
    """Units where the user may open a file for this campaign: their grants' units at the first stage's level,
    and (for a grant above that level) the units below it at that level."""
    first = for_campaign(campaign).stages[0]
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


# The engine's refusals name a field; the form shows the message beside it (issue 13), not at the top.
_FIELD_OF = {"full_name": "full_name", "date_of_birth": "date_of_birth", "citizen_id": "citizen_id",
             "subject_group": "subject_group", "residence_unit": "residence_id", "target_level": "target_level",
             "unit": "unit_id"}


def _page_message(field: str, code: str) -> str | None:
    """The page's own wording for a declared input's code on this form (None: the shared field message)."""
    if field == "full_name":
        if code in ("required", "empty"):
            return _("Enter the full name.")
        if code == "name_chars":
            return _("The name contains characters that are not allowed: hidden format characters (such as "
                     "direction overrides or zero-width spaces) or too many accent marks on one letter.")
    if field == "date_of_birth" and code in ("required", "iso_date", "date", "day"):
        return _("Enter the date of birth as dd/mm/yyyy, for example 17/05/1980.")
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
            ("full_name", "date_of_birth", "citizen_id", "subject_group", "unit_id", "target_level", "residence_id",
             "subject_id")}
    kind = subjects.kind_of(campaign.title_code)
    person = kind == "person"
    residences = _residences(units) if person else []
    choices = _subject_choices(kind, units)  # issue 14: the households, clans, organisations or villages
    errors: dict[str, str] = {}
    if request.method == "POST":
        unit = next((u for u in units if str(u.id) == form["unit_id"]), None)
        if unit is None:
            errors["unit_id"] = _("Choose a unit.")
        nomination = _declared_nomination(campaign, unit, form, person, errors)
        chosen = next((c for c in choices or () if str(c.id) == form["subject_id"]), None)
        if choices is not None and chosen is None:
            errors["subject_id"] = _("Choose who is nominated.")
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
                    residence_unit=residence if person else None, target_level=nomination.target_level,
                    collective=chosen if kind in COLLECTIVE_KINDS else None,
                    subject_unit=chosen if kind == "village" else None)
            except WorkflowError as exc:
                db.session.rollback()
                if exc.status != 422:
                    raise
                repeated = _repeated_submit(exc, campaign, unit, nomination.citizen_id if person else None)
                if repeated is not None:  # issue 13: a double click on "Tạo hồ sơ" leads to the file it created
                    flash(_("The application has been created. Now upload the evidence for each criterion."),
                          "success")
                    return redirect(url_for("review.detail", application_id=repeated.id))
                field = ("citizen_id" if exc.code == "duplicate_subject" else "subject_id" if exc.code in
                         ("duplicate_collective", "wrong_subject", "subject_required")
                         else _FIELD_OF.get(str(exc.params.get("field")), "_"))
                errors[field] = exc.message(locale())
            else:
                db.session.commit()
                flash(_("The application was created. Now upload the evidence for each criterion."), "success")
                return redirect(url_for("review.detail", application_id=app.id))
    status = 422 if errors else 200
    lang = "en" if locale().startswith("en") else "vi"
    groups = {f["code"]: f["name"][lang] for f in campaign.rubric.definition.get("frameworks", [])}
    return render_template("new_application.html", campaign=campaign, units=units, rubric=rubric, form=form,
                           errors=errors, subject_groups=groups, residences=residences, kind=kind,
                           choices=choices, levels=rubric.levels, form_token=_form_token(campaign)), status


def _subject_choices(kind: str, units: list[Unit]) -> list | None:
    """What a nomination of this title may name, across the creating units' communes (None: a person or the
    commune itself, typed or implied)."""
    if kind in COLLECTIVE_KINDS:
        found = {c.id: c for u in units for c in subjects.collectives_of(kind, u)}
    elif kind == "village":
        found = {v.id: v for u in units for v in subjects.villages_of(u)}
    else:
        return None
    return sorted(found.values(), key=lambda c: c.name_folded)


# Issue 13: the nomination form carries a signed token saying who opened it, for which campaign and when. A second
# submit of the same form (a double click, a reload of the post) meets the file the first one created, as the
# duplicate rule refuses it: when that file was created by the same officer after the form was opened, the officer
# is led to it ("Hồ sơ đã được tạo") instead of a duplicate error. Nothing is stored: the token is signed, and the
# file itself (creator, creation time) says whether it came from this form.
_TOKEN_SALT = "nomination-form"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def _form_token(campaign: Campaign) -> str:
    """The posted token when it is this officer's for this campaign (kept across a corrected form), else a new one."""
    posted = request.form.get("form_token") or ""
    if posted and _token_opened(posted, campaign) is not None:
        return posted
    return _signer().dumps({"u": actor().id, "c": campaign.id, "t": clock.now().timestamp(),
                            "n": secrets.token_hex(4)})


def _token_opened(token: str, campaign: Campaign) -> datetime | None:
    """When this officer opened this campaign's form, from a valid token; None for any other token."""
    try:
        data = _signer().loads(token)
        if data["u"] != actor().id or data["c"] != campaign.id:
            return None
        return datetime.fromtimestamp(float(data["t"]), UTC)
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _repeated_submit(exc: WorkflowError, campaign: Campaign, unit: Unit | None,
                     citizen_id: str | None) -> Application | None:
    """The file a duplicate refusal points at, when this very form created it (see above)."""
    if exc.code not in ("duplicate_subject", "duplicate_commune") or unit is None:
        return None
    opened = _token_opened(request.form.get("form_token") or "", campaign)
    twin = operations.live_file(campaign, unit, citizen_id) if opened is not None else None
    if twin is None or twin.created_by_id != actor().id:
        return None
    created = twin.created_at if twin.created_at.tzinfo else twin.created_at.replace(tzinfo=UTC)
    return twin if created >= opened else None


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
        return _detail_error(operations.get_visible(application_id, actor()), explain(exc), exc.status)
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
    field_errors: dict[str, str] = {}

    def sheet(status: int = 200):
        trail = score_trail(app) if adjusting else None  # the branch's scores and the adjustments so far
        return render_template("scores.html", app=app, rubric=rubric, criteria=criteria, values=values,
                               adjusting=adjusting, error=error, field_errors=field_errors, trail=trail), status

    if request.method == "POST":
        raw = {c.code: (request.form.get(f"score-{c.code}") or "").strip() for c in criteria}
        entered: dict[str, int] = {}
        for code, text in raw.items():
            if not text:
                continue
            try:  # the rubric's own rule (bounds, whole points, step), the same the API's values meet
                entered[code] = rubric.read_value(code, text)
            except WorkflowError as exc:
                field_errors[code] = exc.message(locale())
        values = {code: entered.get(code, text or None) for code, text in raw.items()}
        if field_errors:
            error = _("Check the scores marked below.")
        elif not entered:
            error = _("Enter at least one score.")
        else:
            changed = {code: v for code, v in entered.items() if current.get(code) != v}
            try:  # the same declared input as PUT /api/v1/applications/<id>/scores
                parsed = parse(ScoreSheetInput, {"scores": changed or entered, "version": version_arg(),
                                                 "reason": request.form.get("reason") or None})
                operations.set_scores(app, actor(), parsed.scores, reason=parsed.reason, version=parsed.version)
            except WorkflowError as exc:
                db.session.rollback()
                if exc.status == 404:
                    raise
                app = operations.get_visible(application_id, actor())
                error = explain(exc)  # a conflict: who changed the file, when and what
                return sheet(exc.status)
            db.session.commit()
            flash(_("Scores saved: total %(total)s.", total=app.score_total), "success")
            return redirect(url_for("review.detail", application_id=app.id, _anchor="scores"))
        return sheet(422)
    return sheet()

"""Evidence in bulk, the pages: several files (or a zip by criterion) to one application in one request, the page
of one file (preview, remove, replace), the inline preview, and the zip of folders by citizen ID for a campaign
("Đính kèm minh chứng hàng loạt"). Judging and writing happen in workflow.evidence; the view stores the bytes of
the files kept, then commits once."""
from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required

from workflow import evidence as ev
from workflow import operations
from workflow.authz import province_of
from workflow.db import db
from workflow.definitions import for_application, for_campaign
from workflow.errors import WorkflowError
from workflow.models import Campaign

from .. import uploads
from ..i18n import ACTION_LABELS, locale
from ..wording import explain
from .common import ID, actor, version_arg
from .home import acting_states

bp = Blueprint("evidence", __name__)

# The history and the audit pages name these events like the others.
ACTION_LABELS.setdefault("evidence_remove", _l("Remove evidence"))
ACTION_LABELS.setdefault("evidence_replace", _l("Replace evidence"))
RESULT_KEY = "evidence_result"  # what the last upload, removal or replacement did, shown once in the evidence section


BULK_ENDPOINTS = {"evidence.several", "evidence.replace", "evidence.campaign_upload", "api.upload_evidence_batch",
                  "api.replace_evidence", "api.campaign_evidence_zip"}


@bp.record_once
def _bulk_request_limit(state) -> None:
    """Requests carrying several files or an archive may be larger than one upload: raise their limit before any
    hook reads the form (CSRF and the control-character check do, before the view runs)."""
    def hook() -> None:
        if request.endpoint in BULK_ENDPOINTS:
            request.max_content_length = uploads.bulk_limits(current_app.config)["request"]

    state.app.before_request_funcs.setdefault(None, []).insert(0, hook)


def _limits() -> dict[str, int]:
    limits = uploads.bulk_limits(current_app.config)
    request.max_content_length = limits["request"]  # this request may carry several files or an archive
    return limits


def _store(by_label: dict[str, uploads.Checked], outcomes: list[ev.FileOutcome]) -> None:
    """Write the bytes of the files the operation kept (a refused file leaves nothing on disk)."""
    directory = current_app.config["UPLOAD_DIR"]
    for o in outcomes:
        if o.ok and (c := by_label.get(o.label)) is not None:
            uploads.store(directory, c)


def collect(app, limits: dict[str, int]):
    """The files of the upload form: the criteria's rows (`evidence-<code>`, one or more files each), rows added by
    the script (file-N with criterion-N), one multiple input (`files`, criterion read from each name) and a zip
    (`zip`, entries named by criterion code). Returns the items for
    workflow.evidence.add_several and the bytes to store by label."""
    codes = ev.criteria_codes(app)
    items, to_store = [], {}

    def add(pair):
        item, checked = pair
        if item.label in to_store or any(i.label == item.label for i in items):  # two files of one name
            item = dataclasses.replace(item, label=f"{item.label} ({len(items) + 1})")
        items.append(item)
        if checked is not None:
            to_store[item.label] = checked

    chosen = [(f, code, False) for code in codes for f in request.files.getlist(f"evidence-{code}") if f.filename]
    chosen += [(f, (request.form.get(f"criterion-{i}") or "").strip(), False)
               for i in range(limits["files"]) if (f := request.files.get(f"file-{i}")) is not None and f.filename]
    chosen += [(f, "", True) for f in request.files.getlist("files") if f.filename]
    if len(chosen) > limits["files"]:
        raise uploads.UploadRejected("zip_too_many", max=limits["files"])
    for file, criterion, by_name in chosen:
        add(uploads.judge_file(file.filename, file.filename, file.read(limits["file"] + 1), limits["file"],
                               (ev.criterion_of(file.filename, codes) or "") if by_name else criterion))
    archive = request.files.get("zip")
    if archive is not None and archive.filename:
        data = archive.read(limits["zip"] + 1)
        if len(data) > limits["zip"]:
            raise uploads.UploadRejected("too_large", limit_mb=limits["zip"] // (1024 * 1024))
        entries = uploads.read_zip(data, file_limit=limits["file"], max_entries=limits["entries"],
                                   max_total=limits["total"])
        for pair in uploads.judge_zip_entries(entries, codes):
            add(pair)
    return items, to_store


def _detail_error(application_id: int, message: str, status: int):
    from .review import render_detail

    return render_detail(operations.get_visible(application_id, actor()), error=message, status=status)


@bp.post(f"/applications/<{ID}:application_id>/evidence/several")
@login_required
def several(application_id: int):
    limits = _limits()
    app = operations.get_visible(application_id, actor())
    try:
        items, to_store = collect(app, limits)
    except uploads.UploadRejected as exc:
        return _detail_error(application_id, exc.message(locale()), 422)
    try:
        outcomes = ev.add_several(app, actor(), items, version=version_arg())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _detail_error(application_id, explain(exc), exc.status)
    _store(to_store, outcomes)
    db.session.commit()
    _remember_upload(app.id, outcomes, set(ev.criteria_codes(app)))
    return redirect(url_for("review.detail", application_id=app.id, _anchor="evidence-result"))


def _remember(application_id: int, summary: list[tuple[str, str]], rows: dict[str, list] | None = None) -> None:
    """Keep what was done for the detail page the redirect leads to: shown once, in the evidence section (next to
    the rows it concerns), not at the top of the page where the officer no longer is."""
    session[RESULT_KEY] = {"app": application_id, "summary": [list(p) for p in summary], "rows": rows or {}}


def _remember_upload(application_id: int, outcomes: list[ev.FileOutcome], codes: set[str]) -> None:
    """Each file's outcome beside its criterion's row (a file whose criterion is unknown: in the summary)."""
    kept = [o for o in outcomes if o.ok]
    summary: list[tuple[str, str]] = []
    rows: dict[str, list] = {}
    if kept:
        summary.append(("success", _("%(n)s evidence files uploaded.", n=len(kept))))
    refused = [o for o in outcomes if not o.ok]
    if refused:
        summary.append(("error", ngettext("%(num)s file was not uploaded; the reason is given below.",
                                          "%(num)s files were not uploaded; the reasons are given below.",
                                          len(refused))))
    for o in outcomes:
        if o.criterion in codes:
            text = _("Uploaded «%(name)s».", name=o.label) if o.ok else f"«{o.label}»: {o.message(locale())}"
            rows.setdefault(o.criterion, []).append((o.ok, text))
        if not o.ok and o.criterion not in codes:
            summary.append(("error", f"«{o.label}»: {o.message(locale())}"))
    _remember(application_id, summary, rows)


@bp.app_template_global()
def evidence_result(application_id: int) -> dict | None:
    """What the last evidence request did on this application (once: it is taken out of the session)."""
    result = session.get(RESULT_KEY)
    if not result or result.get("app") != application_id:
        return None
    session.pop(RESULT_KEY, None)
    return result


def _can_change(app) -> bool:
    from .review import _acts_at

    return app.state in operations.EVIDENCE_STATES and _acts_at(app, for_application(app).stages[0])


@bp.get(f"/evidence/<{ID}:evidence_id>/manage")
@login_required
def manage(evidence_id: int):
    item = ev.visible_file(evidence_id, actor())
    app = operations.get_visible(item.application_id, actor())
    return render_template("evidence_manage.html", item=item, app=app, can_change=_can_change(app),
                           preview=item.media_type in uploads.INLINE and item.removed_at is None)


def _manage_error(item, message: str, status: int):
    app = operations.get_visible(item.application_id, actor())
    return render_template("evidence_manage.html", item=item, app=app, can_change=_can_change(app), error=message,
                           preview=item.media_type in uploads.INLINE), status


@bp.post(f"/evidence/<{ID}:evidence_id>/remove")
@login_required
def remove(evidence_id: int):
    item = ev.visible_file(evidence_id, actor())
    app = operations.get_visible(item.application_id, actor())
    if request.form.get("confirm") != "yes":
        return _manage_error(item, _("Tick the box to confirm the removal."), 422)
    name = item.original_name
    try:
        ev.remove(app, actor(), item.id, version=version_arg())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _manage_error(ev.visible_file(evidence_id, actor()), exc.message(locale()), exc.status)
    db.session.commit()
    _remember(app.id, [("success", _("Evidence «%(name)s» removed from the file (kept in the history).", name=name))])
    return redirect(url_for("review.detail", application_id=app.id, _anchor="evidence-result"))


@bp.post(f"/evidence/<{ID}:evidence_id>/replace")
@login_required
def replace(evidence_id: int):
    limits = _limits()
    item = ev.visible_file(evidence_id, actor())
    app = operations.get_visible(item.application_id, actor())
    file = request.files.get("file")
    if file is None or not file.filename:
        return _manage_error(item, _("Choose the new file."), 422)
    new, checked = uploads.judge_file(file.filename, file.filename, file.read(limits["file"] + 1), limits["file"],
                                      item.criterion_code)
    if checked is None:
        return _manage_error(item, new.message(locale()), 422)
    old_name = item.original_name
    try:
        row = ev.replace(app, actor(), item.id, new, version=version_arg())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _manage_error(ev.visible_file(evidence_id, actor()), exc.message(locale()), exc.status)
    uploads.store(current_app.config["UPLOAD_DIR"], checked)
    db.session.commit()
    _remember(app.id, [("success", _("Evidence «%(old)s» replaced by «%(new)s».", old=old_name,
                                     new=row.original_name))])
    return redirect(url_for("review.detail", application_id=app.id, _anchor="evidence-result"))


@bp.get(f"/evidence/<{ID}:evidence_id>/inline")
@login_required
def inline(evidence_id: int):
    response = uploads.inline_response(current_app.config["UPLOAD_DIR"], ev.visible_file(evidence_id, actor()))
    if response is None:
        abort(404)
    return response


# The zip of folders by citizen ID, for a campaign -------------------------------------------------------------------

def _branch_side(campaign: Campaign) -> bool:
    first = for_campaign(campaign).stages[0]
    return any(first in acting_states(g, campaign) for g in actor().grants)


@bp.route(f"/campaigns/<{ID}:campaign_id>/evidence-zip", methods=["GET", "POST"])
@login_required
def campaign_upload(campaign_id: int):
    limits = _limits()
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    if campaign.province_id not in {province_of(g.unit_path) for g in actor().grants} or not _branch_side(campaign):
        abort(403)
    report, error, status = None, None, 200
    if request.method == "POST":
        archive = request.files.get("file")
        if archive is None or not archive.filename:
            error, status = _("Choose a zip file."), 422
        else:
            try:
                report = uploads.attach_campaign_zip(campaign, actor(), archive.read(limits["zip"] + 1), limits,
                                                     current_app.config["UPLOAD_DIR"])
            except uploads.UploadRejected as exc:
                db.session.rollback()
                error, status = exc.message(locale()), 422
            else:
                db.session.commit()
                attached = sum(1 for o in report if o.ok)
                flash(_("%(ok)s files attached, %(bad)s not attached.", ok=attached, bad=len(report) - attached),
                      "success" if attached else "error")
    return render_template("evidence_zip.html", campaign=campaign, report=report, error=error, limits=limits,
                           mb=1024 * 1024), status

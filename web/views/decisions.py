"""Recognition decisions, the pages (issue 10, section 3): a decision may recognise 50,000 citizens.

/decisions/new lists the candidates a page at a time (keyset along the id: page 2,000 costs what page 1 does),
filtered by commune and by name or CCCD, with their exact count; the approver ticks files on the page or "every
file matching the filter", which the server resolves itself (workflow.decisions), and confirms on a page that
states how many files the decision recognises. Up to workflow.decisions.SYNC_LIMIT files the decision is issued
within the request; beyond, it is stored with a job (kind "decision") launched after the commit, and the decision's
page shows its progress (static/jobs.js polls status.json) with "Resume" for a failed or stalled job. The
decision's page lists its files a page at a time; the CSV streams from a server-side cursor and the XLSX is written
in openpyxl's write-only mode to a temporary file, so neither holds the list in memory.

The routes stay on the review blueprint (review.decision, review.decision_csv, ...), as templates and links
name them."""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import Response, abort, flash, redirect, render_template, request, send_file, stream_with_context, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import Select, select

from notifications.jobs import launch
from workflow import clock, jobs, queries
from workflow import decisions as ops
from workflow.db import db
from workflow.errors import GuardRefused, WorkflowError
from workflow.inputs import MAX_INT, parse_date
from workflow.models import Application, Campaign, Decision, Job, Unit

from ..i18n import locale
from .common import ID, actor, csv_safe, int_arg, int_list, keyset, roles_required
from .home import acting_states, campaigns_of
from .review import bp

PER_PAGE, MAX_PER_PAGE = 25, 200  # the candidate list
LIST_PER_PAGE = 50  # the decision's own list
SHOWN_ERRORS = 20
STREAM_ROWS = 2000  # rows fetched per round trip by the exports
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _decision_campaign() -> Campaign:
    campaign = db.session.get(Campaign, int_arg("campaign") or 0)
    if campaign is None:
        options = [c for c in campaigns_of() if _final_units(c)]
        if not options:
            abort(403)
        campaign = options[0]
    return campaign


def _final_units(campaign: Campaign) -> list[Unit]:
    return [db.session.get(Unit, g.unit_id) for g in actor().grants if "final_approval" in acting_states(g, campaign)]


def _filter(communes: list[Unit]) -> ops.Filter:
    """The candidate filter from the query string or the form: a commune among the choices (anything else is no
    commune filter) and a name or CCCD prefix."""
    chosen = int_arg("commune")
    q = (request.values.get("q") or "").strip()[:200] or None
    return ops.Filter(chosen if any(c.id == chosen for c in communes) else None, q)


def _as_of() -> datetime:
    """When the confirmation counted the files (a hidden field); now if absent or malformed, never later."""
    now = clock.now()
    try:
        value = datetime.fromisoformat((request.form.get("as_of") or "").strip())
    except ValueError:
        return now
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return min(value, now)


def _new_page(campaign: Campaign, unit: Unit, communes: list[Unit], flt: ops.Filter, form: dict[str, str],
              error: str | None = None, status: int = 200):
    stmt = ops.candidates(campaign, unit, actor(), flt)
    # Counted exactly up to a cap (10,000; 1,000 for a name or CCCD search), read along the newest-first index:
    # a province's 500,000 candidates counted exactly cost half a second, the capped count tens of milliseconds.
    # The confirmation counts the files exactly.
    cap = queries.SEARCH_CAP if flt.q else queries.COUNT_CAP
    total, capped = queries.capped_count(stmt.order_by(None).order_by(Application.id.desc())
                                         .with_only_columns(Application.id), cap)
    page = keyset(stmt, Application.id, total, per_page=PER_PAGE, max_per_page=MAX_PER_PAGE)
    parents = {a.unit.parent_id for a in page.items if a.unit.level != "commune" and a.unit.parent_id}
    above = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(parents)))} if parents else {}
    commune_of = {a.id: (a.unit if a.unit.level == "commune" else above.get(a.unit.parent_id)) for a in page.items}
    return render_template("decision_new.html", campaign=campaign, unit=unit, communes=communes, flt=flt, page=page,
                           commune_of=commune_of,
                           total=total, capped=capped, form=form, error=error, campaigns=campaigns_of(),
                           picked=set(int_list("ids")), every=request.form.get("all") == "1",
                           sync_limit=ops.SYNC_LIMIT), status


@bp.route("/decisions/new", methods=["GET", "POST"])
@roles_required("district_approver", "provincial_approver")
def new_decision():
    campaign = _decision_campaign()
    units = _final_units(campaign)
    if not units:
        abort(403)
    unit = units[0]
    communes = ops.communes(unit)
    flt = _filter(communes)
    form = {k: (request.form.get(k) or "").strip() for k in ("number", "signed_on", "signer")}
    if request.method == "GET":
        return _new_page(campaign, unit, communes, flt, form)
    signed_on: date | None = parse_date(form["signed_on"])  # dd/mm/yyyy as typed (YYYY-MM-DD read too)
    every, ids = request.form.get("all") == "1", int_list("ids")
    if not every and not ids:  # said first: the number, date and signer typed stay in the form
        return _new_page(campaign, unit, communes, flt, form, _(
            "Nothing to decide: tick the files this decision recognises, or «Select all files matching the "
            "filter»."), 422)
    if not form["number"] or not form["signer"] or signed_on is None:
        return _new_page(campaign, unit, communes, flt, form,
                         _("Enter the decision number, the signing date and the signer."), 422)
    if not every and len(ids) > ops.SYNC_LIMIT:
        return _new_page(campaign, unit, communes, flt, form, _(
            "Too many files ticked: choose «every file matching the filter» instead."), 422)
    as_of = _as_of()
    chosen = (ops.candidates(campaign, unit, actor(), flt, as_of) if every else
              ops.candidates(campaign, unit, actor()).where(Application.id.in_(ids)))
    try:
        number, signer = ops.check_header(campaign, unit, actor(), form["number"], signed_on, form["signer"])
        counts = ops.by_state(chosen)
        n = sum(counts.values())
        if not n:
            raise GuardRefused("nothing_to_decide")
        if request.form.get("confirm") != "yes":
            return render_template("decision_confirm.html", campaign=campaign, unit=unit, form=form,
                                   signed_on=signed_on, n=n, counts=counts, every=every, ids=ids, flt=flt,
                                   commune=next((c for c in communes if c.id == flt.commune_id), None),
                                   as_of=as_of.isoformat(), in_background=every and n > ops.SYNC_LIMIT,
                                   chunk=ops.CHUNK)
        if every and n > ops.SYNC_LIMIT:
            decision, job = ops.start_job(campaign, unit, actor(), number, signed_on, signer, flt, as_of)
            db.session.commit()
            launch(job.id)
            flash(_("Decision %(number)s is being issued: %(n)s files, recognised in the background.",
                    number=decision.number, n=job.total), "success")
            return redirect(url_for("review.decision", decision_id=decision.id))
        picked = ops.matching_ids(campaign, unit, actor(), flt, as_of, ops.SYNC_LIMIT) if every else ids
        decision, outcomes = ops.create_decision(campaign, unit, actor(), number, signed_on, signer, picked)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _new_page(campaign, unit, communes, flt, form, exc.message(locale()), 422)
    db.session.commit()
    refused = [o for o in outcomes if not o.ok]
    flash(_("Decision %(number)s recognises %(n)s applications.", number=decision.number,
            n=len(outcomes) - len(refused)), "success")
    for o in refused[:SHOWN_ERRORS]:
        flash(f"#{o.id}: {o.error.message(locale()) if o.error else ''}", "error")
    return redirect(url_for("review.decision", decision_id=decision.id))


def _decision_or_404(decision_id: int) -> Decision:
    decision = db.session.get(Decision, decision_id) or abort(404)
    unit = db.session.get(Unit, decision.unit_id)
    if not actor().covers(unit.path):
        abort(404)
    return decision


def _decision_visible_or_404(decision_id: int) -> Decision:
    """Issue 12 §4: a decision whoever covers its unit opens whole, and a branch or commune officer opens for its
    own units' rows (read-only); anyone else gets 404. The whole list (and its papers) stays _decision_or_404."""
    decision = db.session.get(Decision, decision_id) or abort(404)
    if not ops.may_open(decision, actor()):
        abort(404)
    return decision


@bp.get("/decisions")
@login_required
def decisions():
    me = actor()
    rows = list(db.session.scalars(select(Decision).join(Unit, Unit.id == Decision.unit_id)
                                   .where(ops.visible_clause(me))  # issue 12: also those recognising my units
                                   .order_by(Decision.signed_on.desc(), Decision.id.desc()).limit(200)))
    return render_template("decisions.html", rows=rows, can_create=bool(me.roles() & {"district_approver",
                                                                                      "provincial_approver"}))


@dataclass
class ListPage:
    """A page of the decision's list for the `pager` macro: numbered pages, since the printed list's numbers
    (STT) are what people look up; each page costs an index walk of its offset (workflow.decisions.members_page)."""

    items: list[Application]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _list_page(decision: Decision) -> ListPage:
    total = ops.scoped_size(decision, actor())  # issue 12: a lower level counts its own rows only
    per_page = int_arg("per_page", LIST_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)
    raw = (request.args.get("page") or "").strip()
    number = int_arg("page", None, minimum=1)
    if number is None:  # a number too large to be a page is "the end"; anything else the first
        number = MAX_INT if raw.isascii() and raw.isdigit() and raw.lstrip("0") else 1
    number = min(number, max(1, -(-total // per_page)))
    items = ops.scoped_page(decision, actor(), (number - 1) * per_page, per_page) if total else []
    return ListPage(items=items, total=total, page=number, per_page=per_page)


def _percent(job: Job) -> int:
    return min(100, int(job.done * 100 / job.total)) if job.total else (100 if job.status == "done" else 0)


@bp.get(f"/decisions/<{ID}:decision_id>")
@login_required
def decision(decision_id: int):
    decision = _decision_visible_or_404(decision_id)
    page = _list_page(decision)
    job = ops.issuing_job(decision) if ops.covers_whole(decision, actor()) else None  # issuing: the issuer's
    state = jobs.status(job, locale()) if job is not None else None
    running = job is not None and job.status in ("queued", "running") and not state["stalled"]
    resumed = job is not None and request.args.get("resumed") == "1" and job.status == "failed"
    resumable = job is not None and jobs.resumable(job) and not resumed
    return render_template("decision.html", decision=decision, page=page,
                           campaign=db.session.get(Campaign, decision.campaign_id), job=job, s=state,
                           running=running or resumed, resumable=resumable,
                           errors=(state["errors"][:SHOWN_ERRORS] if state else []),
                           percent=_percent(job) if job is not None else 100,
                           whole=ops.covers_whole(decision, actor()))


def _issuing(decision_id: int) -> Job:
    decision = _decision_or_404(decision_id)
    job = ops.issuing_job(decision)
    if job is None:
        abort(404)
    return jobs.visible_job(job.id, actor())


@bp.get(f"/decisions/<{ID}:decision_id>/status.json")
@login_required
def decision_status(decision_id: int):
    """What static/jobs.js polls while the decision is being issued (the fields of workflow.jobs.status)."""
    job = _issuing(decision_id)
    state = jobs.status(job, locale())
    state["errors"] = state["errors"][:SHOWN_ERRORS]
    state["percent"] = _percent(job)
    return state, 200, {"Cache-Control": "no-store"}


@bp.post(f"/decisions/<{ID}:decision_id>/resume")
@roles_required("district_approver", "provincial_approver")
def decision_resume(decision_id: int):
    """Run a failed or stalled decision job again from its committed cursor: files already in the decision are
    not recognised twice."""
    job = _issuing(decision_id)
    try:
        jobs.require_resumable(job)
    except WorkflowError as exc:
        flash(exc.message(locale()), "error")
        return redirect(url_for("review.decision", decision_id=decision_id))
    launch(job.id)
    flash(_("Issuing the decision continues: %(done)s of %(total)s files done so far.", done=job.done,
            total=job.total), "success")
    return redirect(url_for("review.decision", decision_id=decision_id, resumed=1))


def _header() -> list[str]:
    return [_("No."), _("Full name"), _("Date of birth"), _("Citizen ID"), _("Unit"), _("Total score"),
            _("Decision"), _("Signed on")]


def _rows(decision: Decision) -> Iterator[list[object]]:
    """The decision's list, row by row, read STREAM_ROWS at a time (a server-side cursor on PostgreSQL)."""
    number, signed = decision.number, decision.signed_on.strftime("%d/%m/%Y")
    stmt: Select = ops.listing(decision, actor()).execution_options(yield_per=STREAM_ROWS)
    for i, (_id, name, born, cccd, unit, score) in enumerate(db.session.execute(stmt), 1):
        yield [i, name, born.strftime("%d/%m/%Y") if born else "", cccd or "", unit, score, number, signed]


@bp.get(f"/decisions/<{ID}:decision_id>.csv")
@login_required
def decision_csv(decision_id: int):
    decision = _decision_visible_or_404(decision_id)  # rows: ops.listing, scoped to the actor's units
    header = _header()

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([csv_safe(v) for v in header])
        yield "\ufeff" + buf.getvalue()  # BOM: Excel then reads the Vietnamese text as UTF-8
        buf.seek(0)
        buf.truncate()
        for i, row in enumerate(_rows(decision), 1):
            writer.writerow([csv_safe(v) for v in row])
            if i % STREAM_ROWS == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="quyet-dinh-{decision.id}.csv"'})


@bp.get(f"/decisions/<{ID}:decision_id>.xlsx")
@login_required
def decision_xlsx(decision_id: int):
    from openpyxl import Workbook

    decision = _decision_visible_or_404(decision_id)  # rows: ops.listing, scoped to the actor's units
    wb = Workbook(write_only=True)  # rows go to disk as they are appended
    ws = wb.create_sheet("Danh sach")
    for col, width in zip("ABCDEFGH", (6, 28, 14, 16, 40, 10, 16, 12), strict=True):
        ws.column_dimensions[col].width = width
    ws.append([_("Recognition decision %(number)s, signed %(date)s by %(signer)s", number=decision.number,
                 date=format_date(decision.signed_on, "short"), signer=decision.signer)])
    ws.append([csv_safe(v) for v in _header()])
    for row in _rows(decision):
        ws.append([v if isinstance(v, int) else csv_safe(v) for v in row])
    out = tempfile.TemporaryFile()  # removed when the response closes it
    wb.save(out)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True,
                     download_name=f"quyết-định-{decision.number.replace('/', '-')}.xlsx")

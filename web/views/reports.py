"""The dashboards at /reports (issue 11, section 3): a unit's headline figures against the plan's targets, charts
each beside its data table, drill-down province -> commune -> branch, CSV and XLSX of every table.

The figures come from workflow.reports (indicators, flow, targets); this module only lays them out. Every table
is built once (`tables`) and the page, the CSV and the XLSX all render that one object, so an export carries the
numbers the page shows. A number that counts files links to the queue filtered by the figure's own list
(`Figure.list_name/list_args`), so it opens exactly the files it counts. The charts are drawn by
web/static/reports.js from JSON in the page; without JavaScript the tables are the page."""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import clock
from workflow.authz import Actor
from workflow.db import db
from workflow.definitions import for_campaign
from workflow.models import Campaign, Unit
from workflow.reports import Figure, flow, indicator_defs, indicators, targets
from workflow.text import fold

from ..i18n import STATE_LABELS, locale
from .common import ID, actor, csv_rows, int_arg, roles_required

bp = Blueprint("reports", __name__)

REPORT_ROLES = ("branch_officer", "commune_appraiser", "district_approver", "provincial_approver", "auditor",
                "admin")
HOME_ROLES = ("commune_appraiser", "district_approver", "provincial_approver", "auditor", "admin")
HISTORY_YEARS = 8  # the coverage-by-year chart goes back at most this many years before the chosen one
HORIZON = 2030  # the plans' horizon: the chart's x axis reaches it so the 2030 target shows
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the table model: one object for the page, the CSV and the XLSX ----------------------------------------------

@dataclass
class Cell:
    """One cell. kind: "int" (a count), "pct" (a percentage), "text". `href`: the list or the drill-down."""

    value: Any
    kind: str = "text"
    href: str | None = None

    def shown(self) -> str:
        if self.value is None or self.value == "":
            return "–"
        if self.kind == "int":
            return format_decimal(self.value)
        if self.kind == "pct":
            return format_decimal(self.value, format="#,##0.0") + " %"
        return str(self.value)

    def raw(self) -> Any:
        """The value as an export holds it: numbers as numbers, nothing as an empty cell."""
        return "" if self.value is None else self.value


@dataclass
class Table:
    key: str  # the export's file name part, also the element ids ("coverage-years")
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    counts: str = ""  # what the numbers count (indicators.json "counts") and where the denominator comes from
    chart: dict[str, Any] | None = None  # what reports.js draws (labels and series, display names only)
    row_header: int = 0  # the column that names the row (a screen reader reads it before each number)


TABLE_KEYS = ("headline", "coverage-years", "ranking", "funnel", "weekly", "stages", "lateness")


# --- scope --------------------------------------------------------------------------------------------------------

def _report_grants(me: Actor):
    return [g for g in me.grants if g.role in REPORT_ROLES]


def top_unit(me: Actor) -> Unit | None:
    """The highest unit the actor reports on (the shortest path among their grants; ties by id)."""
    grants = sorted(_report_grants(me), key=lambda g: (g.unit_path.count("/"), g.unit_id))
    return db.session.get(Unit, grants[0].unit_id) if grants else None


def visible_unit(me: Actor, unit_id: int) -> Unit:
    """The unit, if it lies within one of the actor's report grants; else not found (never "forbidden")."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not me.covers(unit.path, REPORT_ROLES):
        abort(404)
    return unit


def _trail(me: Actor, unit: Unit) -> list[Unit]:
    """The unit's ancestors the actor may open (for drill-up), province first, then the unit itself."""
    ids = [int(p) for p in unit.path.strip("/").split("/")]
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [units[i] for i in ids if i in units and me.covers(units[i].path, REPORT_ROLES)]


def _province_id(unit: Unit) -> int:
    return int(unit.path.strip("/").split("/")[0])


# --- arguments ----------------------------------------------------------------------------------------------------

def _year() -> int:
    today = clock.today()
    return int_arg("year", today.year, minimum=2000, maximum=today.year) or today.year


def _campaigns(unit: Unit) -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).where(Campaign.province_id == _province_id(unit))
                                   .order_by(Campaign.year.desc(), Campaign.title_code, Campaign.id)))


def _campaign(campaigns: Sequence[Campaign], year: int) -> Campaign | None:
    """The campaign asked for (?campaign=, one of the province's, not after the year shown), else the year's CDHT
    campaign, else the latest campaign of the year or before (a year changed in the form takes its own campaign)."""
    wanted = int_arg("campaign")
    for c in campaigns:
        if c.id == wanted and c.year <= year:
            return c
    for title in ("CDHT", "XHT"):
        for c in campaigns:
            if c.title_code == title and c.year <= year:
                return c
    return campaigns[0] if campaigns else None


def _years(campaigns: Sequence[Campaign], year: int) -> list[int]:
    first = min((c.year for c in campaigns if c.year <= year), default=year)
    return list(range(max(first, year - HISTORY_YEARS), year + 1))


# --- figures ------------------------------------------------------------------------------------------------------

def _safe(fn, *args):
    """A figure whose module is not there yet (its part still a stub) is shown as "not available", not a 500."""
    try:
        return fn(*args)
    except NotImplementedError:
        return None


def queue_link(fig: Figure | None) -> str | None:
    """The queue filtered to exactly the files a figure counts (its registered list)."""
    if fig is None or not fig.list_name:
        return None
    args = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in (fig.list_args or {}).items()}
    args.setdefault("unit", fig.unit_id)
    return url_for("review.queue", list=fig.list_name, **args)


def _count(fig: Figure | None) -> Cell:
    return Cell(None if fig is None else fig.numerator, "int", queue_link(fig))


def _pct(value: float | None) -> Cell:
    return Cell(value, "pct")


def _sentences(*parts: str) -> str:
    """Join texts as sentences (indicators.json's "counts" end without a full stop)."""
    out = [p.strip() for p in parts if p and p.strip()]
    return " ".join(p if p[-1] in ".!?)" else p + "." for p in out)


def _defs_text(code: str, key: str) -> str:
    d = indicator_defs().get(code, {}).get(key)
    if isinstance(d, dict):
        return d.get(locale(), d.get("vi", ""))
    return d or ""


def denominator_note(unit: Unit, code: str, year: int, fig: Figure | None = None) -> str:
    """Where a figure's denominator comes from; demo figures say so, a province's sum says what it lacks."""
    kind = indicator_defs().get(code, {}).get("denominator")
    if not kind:
        return _("Denominator: the Learning Citizens counted in the coverage figure.")
    den = _safe(targets.denominator, unit, kind, year)
    if (den is None or den.value is None) and kind == "communes" and unit.level == "commune":
        return _("Denominator: the commune itself (one commune).")
    if den is None or den.value is None:
        if fig is not None and fig.denominator is not None and fig.denominator_note:
            return _("Denominator: %(source)s.", source=fig.denominator_note)
        return _("Denominator: no figure recorded for %(year)s.", year=year)
    parts = [_("Denominator: %(source)s.", source=den.source) if den.source else _("Denominator recorded.")]
    if den.is_demo and "demo" not in (den.source or "").lower():
        parts.append("số liệu mẫu (demo)")
    if den.missing:
        parts.append(_("%(num)s communes have no figure yet.", num=den.missing))
    return " ".join(parts)


def target_note(fig: Figure | None, unit: Unit, code: str, year: int) -> tuple[float | None, str]:
    """The target and its plan's citation (the figure's own, else targets.target_for)."""
    if fig is not None and fig.target is not None:
        return fig.target, fig.target_plan or ""
    ref = _safe(targets.target_for, unit, code, year)
    if ref is None:
        return None, _("No target set for %(year)s.", year=year)
    if ref.value is None:
        return None, _("The plan leaves %(year)s's target to be set: %(plan)s.", year=year, plan=ref.plan_citation)
    return ref.value, ref.plan_citation


@dataclass
class Headline:
    code: str
    name: str
    figure: Figure | None
    target: float | None
    plan: str
    counts: str
    denominator: str
    href: str | None


def _indicator_name(code: str) -> str:
    return _defs_text(code, "name")


def headlines(me: Actor, unit: Unit, year: int) -> tuple[list[Headline], dict[str, list[Figure]]]:
    """The unit's headline figures (coverage, XHT share, digital skills) and each one's per-child figures."""
    out, children = [], {}
    wanted = [("cdht_coverage", indicators.coverage), ("xht_share", indicators.xht_share),
              ("digital_skills", indicators.digital_skills)]
    for code, fn in wanted:
        if code == "xht_share" and unit.level == "branch":
            continue  # a branch holds no Xã học tập files: the commune's figure is the commune's page
        got = _safe(fn, me, unit, year)
        fig, kids = got if got else (None, [])
        children[code] = kids
        target, plan = target_note(fig, unit, code, year)
        out.append(Headline(code, _indicator_name(code), fig, target, plan, _defs_text(code, "counts"),
                            denominator_note(unit, code, year, fig), queue_link(fig)))
    return out, children


# --- the tables ---------------------------------------------------------------------------------------------------

def _names(ids: Iterable[int]) -> dict[int, Unit]:
    ids = list(set(ids))
    return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def _headline_table(heads: list[Headline], year: int) -> Table:
    t = Table("headline", _("Headline figures, %(year)s", year=year),
              [_("Indicator"), _("Counted"), _("Out of"), _("Share"), _("Target"), _("Plan")])
    for h in heads:
        f = h.figure
        t.rows.append([Cell(h.name), _count(f), Cell(None if f is None else f.denominator, "int"),
                       _pct(None if f is None else f.value), _pct(h.target), Cell(h.plan)])
    return t


def _coverage_table(me: Actor, unit: Unit, years: list[int]) -> Table:
    figs = _safe(indicators.coverage_by_year, me, unit, years) or []
    by_year = {f.year: f for f in figs}
    goals = _safe(targets.targets_by_year, unit, "cdht_coverage") or {}
    t = Table("coverage-years", _("Coverage against target by year"),
              [_("Year"), _("Learning Citizens"), _("Adults (15+)"), _("Coverage"), _("Target"), _("Plan")],
              counts=_defs_text("cdht_coverage", "counts"))
    axis = sorted(set(years) | {y for y in goals if years[0] <= y <= HORIZON})
    for y in axis:
        f, goal = by_year.get(y), goals.get(y)
        t.rows.append([Cell(str(y)), _count(f), Cell(None if f is None else f.denominator, "int"),
                       _pct(None if f is None else f.value), _pct(goal.value if goal else None),
                       Cell(goal.plan_citation if goal else "")])
    horizon = goals.get(HORIZON)
    if not any(f.value is not None for f in figs) and any(f.numerator for f in figs):
        # no adult figure for this unit (a branch): the chart shows the holders themselves, the table the rest
        t.counts = _sentences(t.counts, _("No adult figures are recorded for this unit: the chart shows the number "
                                          "of Learning Citizens."))
        shown = [y for y in axis if y in by_year and y <= clock.today().year]
        t.chart = {"type": "coverage", "labels": [str(y) for y in shown], "series": [
            {"label": _("Learning Citizens"), "kind": "bar", "data": [by_year[y].numerator for y in shown]}]}
        return t
    t.chart = {"type": "coverage", "labels": [str(y) for y in axis], "percent": True, "series": [
        {"label": _("Coverage"), "kind": "bar", "data": [by_year[y].value if y in by_year else None for y in axis]},
        {"label": _("Target by year"), "kind": "line",
         "data": [goals[y].value if y in goals else None for y in axis]},
    ] + ([{"label": _("Target for %(year)s", year=HORIZON), "kind": "horizon",
           "data": [horizon.value for _y in axis]}] if horizon and horizon.value is not None else [])}
    return t


def _ranking_table(unit: Unit, year: int, children: dict[str, list[Figure]]) -> Table | None:
    kids = [f for f in children.get("cdht_coverage") or [] if f.unit_id != unit.id]  # a branch lists itself
    if not kids:
        return None
    units = _names(f.unit_id for f in kids)
    digital = {f.unit_id: f for f in children.get("digital_skills") or []}
    xht = {f.unit_id: f for f in children.get("xht_share") or []}
    levels = {u.level for u in units.values()}
    kind = _("Districts") if levels == {"district"} else _("Branches") if levels == {"branch"} else _("Communes")
    headers = [_("Rank"), kind, _("Learning Citizens"), _("Adults (15+)"), _("Coverage")]
    if digital:
        headers.append(_("With digital skills"))
    if xht:
        headers.append(_("Learning Commune"))
    t = Table("ranking", _("%(kind)s ranked by coverage, %(year)s", kind=kind, year=year), headers,
              counts=_defs_text("cdht_coverage", "counts"), row_header=1)
    ranked = sorted(kids, key=lambda f: (-(f.value if f.value is not None else -1), -f.numerator,
                                         units[f.unit_id].name if f.unit_id in units else ""))
    for n, f in enumerate(ranked, 1):
        u = units.get(f.unit_id)
        row = [Cell(n, "int"), Cell(u.name if u else "", href=url_for("reports.dashboard", unit_id=f.unit_id,
                                                                       year=year)),
               _count(f), Cell(f.denominator, "int"), _pct(f.value)]
        if digital:
            row.append(_count(digital.get(f.unit_id)))
        if xht:
            x = xht.get(f.unit_id)
            row.append(Cell(x.numerator if x else None, "int", queue_link(x)))
        t.rows.append(row)
    if any(r[4].value is not None for r in t.rows):
        t.chart = {"type": "ranking", "labels": [r[1].value for r in t.rows], "percent": True, "horizontal": True,
                   "series": [{"label": _("Coverage"), "kind": "bar", "data": [r[4].value for r in t.rows]}]}
    else:  # no adult figures for these units (a commune's branches): compare the holders themselves
        t.counts = _sentences(t.counts, _("No adult figures are recorded for these units: they are ranked by the "
                                          "number of Learning Citizens."))
        t.chart = {"type": "ranking", "labels": [r[1].value for r in t.rows], "horizontal": True,
                   "series": [{"label": _("Learning Citizens"), "kind": "bar", "data": [r[2].value for r in t.rows]}]}
    return t


def _state_of(fig: Figure) -> str:
    args = fig.list_args or {}
    return str(args.get("in_state") or args.get("state") or args.get("stage") or fig.indicator)


def _stage_label(fig: Figure) -> str:
    if fig.indicator == "late_recognised":
        return _("Recognised after the decision deadline")
    return str(STATE_LABELS.get(_state_of(fig), _state_of(fig)))


def _funnel_table(me: Actor, unit: Unit, campaign: Campaign) -> Table:
    figs = _safe(flow.funnel, me, unit, campaign)
    t = Table("funnel", _("Files by state: %(campaign)s", campaign=campaign.name), [_("State"), _("Files")],
              counts=_("Every file of the campaign at this unit and below, by its current state."))
    for f in figs or []:
        t.rows.append([Cell(str(STATE_LABELS.get(_state_of(f), _state_of(f)))), _count(f)])
    if figs is not None:
        t.chart = {"type": "funnel", "labels": [r[0].value for r in t.rows], "horizontal": True,
                   "series": [{"label": _("Files"), "kind": "bar", "data": [r[1].value for r in t.rows]}]}
    return t


def _weekly_table(me: Actor, unit: Unit, campaign: Campaign) -> Table:
    weeks = _safe(flow.weekly_progress, me, unit, campaign)
    t = Table("weekly", _("Progress through the campaign's weeks"),
              [_("Week from"), _("Files nominated (to date)"), _("Recognised (to date)")],
              counts=_("Cumulative: files created, and files recognised, by the end of each week."))
    for w in weeks or []:
        monday = w["week"]
        t.rows.append([Cell(monday.strftime("%d/%m/%Y") if isinstance(monday, date) else str(monday)),
                       Cell(w.get("nominated"), "int", queue_link(w.get("nominated_figure"))),
                       Cell(w.get("recognised"), "int", queue_link(w.get("recognised_figure")))])
    if weeks is not None:
        t.chart = {"type": "weekly", "labels": [r[0].value for r in t.rows], "series": [
            {"label": _("Files nominated (to date)"), "kind": "line", "data": [r[1].value for r in t.rows]},
            {"label": _("Recognised (to date)"), "kind": "line", "data": [r[2].value for r in t.rows]}]}
    return t


def _stages_table(me: Actor, unit: Unit, campaign: Campaign) -> Table:
    rates = _safe(flow.stage_rates, me, unit, campaign)
    t = Table("stages", _("Pass and return rates by stage"),
              [_("Stage"), _("Reached"), _("Passed"), _("Returned"), _("Rejected"), _("Pass rate"),
               _("Return rate")],
              counts=_("Files that left each stage: passed on, returned for completion, or rejected; rates over "
                       "the files that reached the stage."))
    for r in rates or []:
        t.rows.append([Cell(str(STATE_LABELS.get(r["stage"], r["stage"]))), _count(r.get("reached")),
                       _count(r.get("passed")),
                       _count(r.get("returned")), _count(r.get("rejected")), _pct(r.get("pass_rate")),
                       _pct(r.get("return_rate"))])
    if rates is not None:
        t.chart = {"type": "stages", "labels": [r[0].value for r in t.rows], "percent": True, "series": [
            {"label": _("Pass rate"), "kind": "bar", "data": [r[5].value for r in t.rows]},
            {"label": _("Return rate"), "kind": "bar", "data": [r[6].value for r in t.rows]}]}
    return t


def _lateness_table(me: Actor, unit: Unit, campaign: Campaign, on: date) -> Table:
    figs = _safe(flow.lateness, me, unit, campaign, on)
    t = Table("lateness", _("Files past their stage's deadline on %(day)s", day=on.strftime("%d/%m/%Y")),
              [_("Stage"), _("Late files")],
              counts=_("Files still in a stage whose deadline has passed (and recognised after the decision "
                       "deadline)."))
    for f in figs or []:
        t.rows.append([Cell(_stage_label(f)), _count(f)])
    if figs is not None and not any(r[1].value for r in t.rows):
        # an empty chart says nothing the table does not
        t.counts = _sentences(t.counts, _("No file is late on this day."))
    elif figs is not None:
        t.chart = {"type": "lateness", "labels": [r[0].value for r in t.rows],
                   "series": [{"label": _("Late files"), "kind": "bar", "data": [r[1].value for r in t.rows]}]}
    return t


@dataclass
class Dashboard:
    unit: Unit
    year: int
    campaign: Campaign | None
    campaigns: list[Campaign]
    heads: list[Headline]
    tables: dict[str, Table]
    as_of: date


def build(me: Actor, unit: Unit, year: int, only: str | None = None) -> Dashboard:
    """Everything the page shows (or, with `only`, what one export needs)."""
    campaigns = _campaigns(unit)
    campaign = _campaign(campaigns, year)
    heads, children = ([], {})
    tables: dict[str, Table] = {}
    if only in (None, "headline", "ranking"):
        heads, children = headlines(me, unit, year)
        tables["headline"] = _headline_table(heads, year)
        ranking = _ranking_table(unit, year, children)
        if ranking is not None:
            tables["ranking"] = ranking
    if only in (None, "coverage-years"):
        tables["coverage-years"] = _coverage_table(me, unit, _years(campaigns, year))
    if campaign is not None and only in (None, "funnel", "weekly", "stages", "lateness"):
        on = clock.today()
        builders = {"funnel": lambda: _funnel_table(me, unit, campaign),
                    "weekly": lambda: _weekly_table(me, unit, campaign),
                    "stages": lambda: _stages_table(me, unit, campaign),
                    "lateness": lambda: _lateness_table(me, unit, campaign, on)}
        for key, make in builders.items():
            if only in (None, key):
                tables[key] = make()
    as_of = _safe(indicators.as_of, year) or min(clock.today(), date(year, 12, 31))
    return Dashboard(unit, year, campaign, campaigns, heads, tables, as_of)


# --- views --------------------------------------------------------------------------------------------------------

@bp.get("/reports")
@roles_required(*REPORT_ROLES)
def index():
    unit = top_unit(actor())
    if unit is None:
        abort(404)
    kept = {k: request.args[k] for k in ("year", "campaign") if request.args.get(k)}
    return redirect(url_for("reports.dashboard", unit_id=unit.id, **kept))


@bp.get(f"/reports/<{ID}:unit_id>")
@roles_required(*REPORT_ROLES)
def dashboard(unit_id: int):
    me = actor()
    unit = visible_unit(me, unit_id)
    year = _year()
    board = build(me, unit, year)
    years = list(range(clock.today().year, max(2000, clock.today().year - HISTORY_YEARS) - 1, -1))
    return render_template("reports.html", board=board, trail=_trail(me, unit), years=years,
                           order=[k for k in TABLE_KEYS if k in board.tables and k != "headline"],
                           states=for_campaign(board.campaign).states if board.campaign else ())


def _filename(unit: Unit, key: str, year: int, ext: str) -> str:
    slug = "-".join(fold(unit.name).split()) or str(unit.id)
    return f"bao-cao-{key}-{slug}-{year}.{ext}"


@bp.get(f"/reports/<{ID}:unit_id>/<key>.<ext>")
@roles_required(*REPORT_ROLES)
def export(unit_id: int, key: str, ext: str):
    if key not in TABLE_KEYS or ext not in ("csv", "xlsx"):
        abort(404)
    me = actor()
    unit = visible_unit(me, unit_id)
    year = _year()
    table = build(me, unit, year, only=key).tables.get(key)
    if table is None:
        abort(404)
    name = _filename(unit, key, year, ext)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if ext == "csv":
        return Response(csv_rows(table_rows(table, unit)), mimetype="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(table, unit), mimetype=XLSX, headers=headers)


def table_rows(table: Table, unit: Unit) -> list[list[Any]]:
    """The header row, then the data rows as raw values (the CSV; the XLSX writes the same rows)."""
    return [table.headers] + [[c.raw() for c in row] for row in table.rows]


def to_xlsx(table: Table, unit: Unit) -> bytes:
    """One sheet: the header row, the rows (numbers as numbers, percentages with one decimal), then the caption,
    the unit and what the figures count below, so a pasted-on sheet still says what it is."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .common import csv_safe

    wb = Workbook()
    ws = wb.active
    ws.title = table.key[:31]
    ws.append(table.headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([c.raw() if c.kind in ("int", "pct") else csv_safe(c.raw()) for c in row])
        for c, xl in zip(row, ws[ws.max_row], strict=True):
            if c.kind == "pct" and c.value is not None:
                xl.number_format = "0.0"
    ws.append([])
    for line in (table.caption, unit.name, table.counts):
        if line:
            ws.append([csv_safe(line)])
    for col, header in zip("ABCDEFGHIJ", table.headers, strict=False):
        ws.column_dimensions[col].width = max(12, min(48, len(header) + 4))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- the home page's headline figures (web/views/home.py) ---------------------------------------------------------

def home_unit() -> Unit | None:
    """The top unit of a provincial or commune officer, whose headline figures the home page shows."""
    me = actor()
    grants = sorted((g for g in me.grants if g.role in HOME_ROLES and g.unit_level in ("province", "district",
                                                                                          "commune")),
                    key=lambda g: (g.unit_path.count("/"), g.unit_id))
    return db.session.get(Unit, grants[0].unit_id) if grants else None


@bp.get("/reports/headline")
@roles_required(*REPORT_ROLES)
def home_headline():
    """The home page's headline figures, as a fragment the page fetches (counting a province's holders takes a
    few hundred milliseconds at two million files: the home page itself does not wait for it)."""
    got = home_headlines()
    if got is None:
        abort(404)
    return render_template("_home_headline.html", headline=got, today=clock.today())


def home_headlines() -> tuple[Unit, list[Headline]] | None:
    """Coverage and the XHT share of the top unit of a provincial or commune officer, for the home page."""
    me = actor()
    unit = home_unit()
    if unit is None:
        return None
    year = clock.today().year
    out = []
    for code, fn in (("cdht_coverage", indicators.coverage), ("xht_share", indicators.xht_share)):
        got = _safe(fn, me, unit, year)
        fig = got[0] if got else None
        target, plan = target_note(fig, unit, code, year)
        out.append(Headline(code, _indicator_name(code), fig, target, plan, _defs_text(code, "counts"),
                            denominator_note(unit, code, year, fig), queue_link(fig)))
    return unit, out

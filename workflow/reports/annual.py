"""The annual report (báo cáo kết quả xây dựng xã hội học tập) of a province or a commune for a year: one row per
indicator (workflow/data/indicators.json) for the unit and, for a province, per commune, each against the target
that applies to it (targets.target_for) with its plan cited; rendered as XLSX (openpyxl) and PDF (WeasyPrint, from
the HTML template annual_report_pdf.html beside this module).

Where each number comes from:
- computed indicators (cdht_coverage, xht_share, digital_skills): workflow.reports.indicators, called ONCE per
  indicator for the unit; the same call gives every child unit's figure, so a province's 99 communes cost three
  calls, never one per commune;
- indicators the system does not compute (cdht_trained, cdht_unit_staff): the values each commune reported when it
  closed its year (workflow.reports.closing); a province's figure sums its closed communes' numerators and
  denominators;
- the header's source counts: files in the year's campaigns from the per-state summary (workflow.summary), the
  holders and recognised communes from the figures, the denominators' source and demo flag from targets.denominator.

The words of the documents are in the table WORDS (Vietnamese, and English for a reader who asks for it), as the
notices of notifications/messages.py are: workflow/ renders without the web layer."""
from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select

from .. import clock, summary
from ..authz import Actor
from ..db import db
from ..errors import MESSAGES, NotFound, WorkflowError
from ..models import Campaign, ReportClosure, Unit
from . import Figure, indicator_defs, percent

TEMPLATE = Path(__file__).with_name("annual_report_pdf.html")
COMPUTED: dict[str, str] = {"cdht_coverage": "coverage", "xht_share": "xht_share", "digital_skills": "digital_skills"}
REPORTED = ("cdht_trained", "cdht_unit_staff")  # reported by the commune when it closes its year
LEVELS = ("province", "commune")
MIN_YEAR, MAX_YEAR = 2000, 2100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


class BadReportRequest(WorkflowError):
    """A report asked for with parameters that name no report (a year out of range, a unit of another level)."""

    status = 400


MESSAGES.update({
    "report_year": ("Năm báo cáo phải từ {min} đến {max}.", "The report's year must be {min} to {max}."),
    "report_unit_level": ("Báo cáo năm lập cho một tỉnh hoặc một xã, phường (không cho «{unit}»).",
                          "The annual report is made for a province or a commune (not for «{unit}»)."),
})

# The documents' words: (Vietnamese, English).
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Báo cáo kết quả xây dựng xã hội học tập", "Report on building the learning society"),
    "year": ("Năm", "Year"),
    "unit": ("Đơn vị", "Unit"),
    "as_of": ("Số liệu tính đến ngày", "Figures as of"),
    "generated": ("Ngày lập báo cáo", "Generated on"),
    "plans": ("Kế hoạch, văn bản làm căn cứ", "Plans cited"),
    "sources": ("Nguồn số liệu", "Sources"),
    "files": ("Hồ sơ trong các đợt đánh giá của năm", "Files in the year's campaigns"),
    "holders": ("Người đang giữ danh hiệu Công dân học tập", "People holding the Learning Citizen title"),
    "xht_holders": ("Xã, phường đang giữ danh hiệu Xã học tập", "Communes holding the Learning Commune title"),
    "adults": ("Mẫu số dân số từ 15 tuổi trở lên", "Denominator: population aged 15 and over"),
    "communes_den": ("Mẫu số số xã, phường", "Denominator: communes and wards"),
    "missing_adults": ("{n} xã, phường chưa có số dân từ 15 tuổi trở lên", "{n} communes have no adult population"),
    "demo": ("Đây là số liệu mẫu (demo): không dùng để báo cáo chính thức",
             "Demo figures (số liệu mẫu): not for official reporting"),
    "closed": ("Đã chốt số liệu", "Figures closed"),
    "closed_by": ("Đã chốt số liệu ngày {on}, người chốt: {who}", "Figures closed on {on} by {who}"),
    "not_closed": ("Chưa chốt số liệu", "Figures not closed"),
    "closures": ("Tình hình chốt số liệu của các xã, phường: {closed}/{total} đã chốt",
                 "Communes that closed their figures: {closed} of {total}"),
    "code": ("Mã chỉ tiêu", "Indicator code"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "target": ("Chỉ tiêu kế hoạch (%)", "Target (%)"),
    "plan": ("Căn cứ", "Plan cited"),
    "value": ("Kết quả (%)", "Result (%)"),
    "numerator": ("Tử số", "Numerator"),
    "denominator": ("Mẫu số", "Denominator"),
    "met": ("Đạt / chưa đạt", "Met"),
    "met_yes": ("Đạt", "Met"),
    "met_no": ("Chưa đạt", "Not met"),
    "met_unknown": ("Chưa đánh giá được", "Cannot be judged"),
    "note": ("Ghi chú", "Note"),
    "not_reported": ("Xã, phường chưa báo cáo (chưa chốt số liệu)", "Not reported (the year is not closed)"),
    "reported_by": ("Số liệu do {n}/{total} xã, phường đã chốt báo cáo", "Reported by {n} of {total} communes"),
    "reported": ("Số liệu do xã, phường báo cáo khi chốt năm", "Reported by the commune when closing its year"),
    "no_target": ("Chưa có chỉ tiêu kế hoạch cho năm này", "No target for this year"),
    "per_commune": ("Kết quả từng xã, phường", "Results per commune"),
    "matrix_note": ("Mỗi ô: kết quả (%) / chỉ tiêu kế hoạch (%); xanh: đạt, đỏ: chưa đạt. Tử số, mẫu số và căn cứ "
                    "của từng xã có trong tệp XLSX.",
                    "Each cell: result (%) / target (%); green: met, red: not met. Each commune's numerator, "
                    "denominator and plan are in the XLSX."),
    "summary": ("Kết quả chung của đơn vị", "The unit's results"),
    "code_note": ("Cột «Mã chỉ tiêu» để trống: Thông tư 03/2024/TT-BGDĐT (mã chỉ tiêu) và Thông tư 25/2024/TT-BGDĐT "
                  "(biểu mẫu báo cáo) chưa quy định mã riêng cho các chỉ tiêu xã hội học tập; điền mã khi có "
                  "văn bản hướng dẫn.",
                  "The «Indicator code» column is left empty: Circulars 03/2024/TT-BGDĐT (indicator codes) and "
                  "25/2024/TT-BGDĐT (report forms) give no code for the learning-society indicators yet; fill it "
                  "in when guidance names one."),
    "sheet_report": ("Báo cáo", "Report"),
    "sheet_communes": ("Từng xã", "Per commune"),
    "sheet_closures": ("Chốt số liệu", "Closures"),
    "commune": ("Xã, phường", "Commune"),
    "status": ("Tình trạng", "Status"),
    "closed_on": ("Ngày chốt", "Closed on"),
}


def word(key: str, lang: str = "vi", **params: Any) -> str:
    vi, en = WORDS[key]
    return unicodedata.normalize("NFC", (en if lang == "en" else vi).format(**params))


def _lang(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "vi"


@dataclass
class Row:
    """One indicator for one unit: the report's line. `value` is a percentage; `met` None when there is no
    target or no figure to judge."""

    indicator: str
    unit_id: int
    unit_name: str
    name: str
    computed: bool
    official_code: str | None = None
    numerator: int | None = None
    denominator: int | None = None
    value: float | None = None
    target: float | None = None
    target_plan: str | None = None
    target_status: str | None = None
    met: bool | None = None
    note: str | None = None
    list_name: str | None = None
    list_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Closure:
    """Where a commune's year stands: closed (when, by whom) or not."""

    unit_id: int
    unit_name: str
    closed: bool
    closed_at: Any = None
    closed_by: str | None = None
    reopened_at: Any = None
    reopen_reason: str | None = None


@dataclass
class Report:
    unit_id: int
    unit_name: str
    level: str
    year: int
    as_of: date
    generated_on: date
    lang: str
    rows: list[Row]
    communes: list[tuple[int, str, list[Row]]]  # a province's communes, each with its rows; empty for a commune
    plans: list[str]
    sources: dict[str, Any]
    closures: list[Closure]
    is_demo: bool

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"], out["generated_on"] = self.as_of.isoformat(), self.generated_on.isoformat()
        out["communes"] = [{"unit_id": i, "unit_name": n, "rows": [asdict(r) for r in rows]}
                           for i, n, rows in self.communes]
        for c in out["closures"]:
            for key in ("closed_at", "reopened_at"):
                c[key] = _iso(c[key])
        return out


def _iso(value: Any) -> str | None:
    from datetime import UTC, datetime

    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def dmy(value: Any) -> str:
    """dd/mm/yyyy (a datetime as its Vietnam date)."""
    from datetime import UTC, datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        value = (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(clock.VN).date()
    return value.strftime("%d/%m/%Y")


# ------------------------------------------------------------------------------------------------ the report's unit

def check_year(year: int | None) -> int:
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise BadReportRequest("report_year", min=MIN_YEAR, max=MAX_YEAR)
    return year


def report_unit(actor: Actor, unit_id: int | None) -> Unit:
    """The province or commune the report is for, within the actor's grants (else not found: never revealed)."""
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None or not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    if unit.level not in LEVELS:
        raise BadReportRequest("report_unit_level", unit=unit.name)
    return unit


def communes_of(province: Unit, year: int) -> list[Unit]:
    """The province's communes and wards in force at the year's end, by name: targets.active_communes, the same
    list the denominators are summed over."""
    from . import targets

    return targets.active_communes(province, year)


def closures_for(unit_ids: list[int], year: int) -> dict[int, ReportClosure]:
    if not unit_ids:
        return {}
    return {c.unit_id: c for c in db.session.scalars(
        select(ReportClosure).where(ReportClosure.year == year, ReportClosure.unit_id.in_(unit_ids)))}


# ------------------------------------------------------------------------------------------------------ the figures

def _figures(actor: Actor, unit: Unit, year: int) -> dict[str, tuple[Figure, list[Figure]]]:
    """Each computed indicator once for the unit: its own figure and its children's."""
    from . import indicators

    return {code: getattr(indicators, fn)(actor, unit, year) for code, fn in COMPUTED.items()}


def snapshot(actor: Actor, unit: Unit, year: int) -> dict[str, Any]:
    """The commune's computed figures as they stand (what its closing freezes)."""
    from . import indicators

    out: dict[str, Any] = {"as_of": indicators.as_of(year).isoformat()}
    for code, (fig, _children) in _figures(actor, unit, year).items():
        out[code] = {"numerator": fig.numerator, "denominator": fig.denominator, "value": fig.value}
    return out


class Targets:
    """targets.target_for, read once per indicator for the province's communes: a commune whose chain (itself and its
    ancestors below the province) holds no target of its own gets exactly its province's target (A's rule: the
    unit's own, else its province's plan, else the national one), so only communes with targets of their own are
    asked one by one. One query finds them."""

    def __init__(self, province_id: int, year: int) -> None:
        from ..models import ReportTarget

        self.province_id, self.year = province_id, year
        self.own = set(db.session.scalars(select(ReportTarget.unit_id).where(
            ReportTarget.unit_id.is_not(None), ReportTarget.year == year).distinct()))
        self.cache: dict[tuple[int, str], Any] = {}

    def get(self, unit: Unit, code: str) -> Any:
        from . import targets

        chain = [int(p) for p in unit.path.strip("/").split("/") if p]
        key = (unit.id, code)
        if key not in self.cache:
            if unit.id != self.province_id and not (self.own & set(chain[1:])):
                province = db.session.get(Unit, self.province_id)
                self.cache[key] = self.get(province, code)
            else:
                self.cache[key] = targets.target_for(unit, code, self.year)
        return self.cache[key]


def _row(defn: dict[str, Any], unit: Unit, year: int, lang: str, cache: Targets, *, numerator: int | None,
         denominator: int | None, value: float | None, note: str | None = None, list_name: str | None = None,
         list_args: dict[str, Any] | None = None) -> Row:
    ref = cache.get(unit, defn["code"])
    target = ref.value if ref is not None else None
    met = None if target is None or value is None else value >= target
    if ref is None or target is None:
        note = "; ".join(n for n in (note, word("no_target", lang)) if n)
    return Row(indicator=defn["code"], unit_id=unit.id, unit_name=unit.name, name=defn["name"][lang],
               computed=bool(defn.get("computed")), official_code=defn.get("official_code"),
               numerator=numerator, denominator=denominator, value=value, target=target,
               target_plan=ref.plan_citation if ref is not None else None,
               target_status=ref.status if ref is not None else None, met=met, note=note or None,
               list_name=list_name, list_args=dict(list_args or {}))


def _from_figure(defn, unit, year, lang, cache, fig: Figure | None) -> Row:
    if fig is None:
        return _row(defn, unit, year, lang, cache, numerator=None, denominator=None, value=None)
    value = fig.value if fig.value is not None else percent(fig.numerator, fig.denominator)
    return _row(defn, unit, year, lang, cache, numerator=fig.numerator, denominator=fig.denominator, value=value,
                note=fig.denominator_note, list_name=fig.list_name, list_args=fig.list_args)


def _reported(closure: ReportClosure | None, code: str) -> tuple[int, int] | None:
    if closure is None or closure.closed_at is None:
        return None
    item = (closure.reported or {}).get(code) or {}
    num, den = item.get("numerator"), item.get("denominator")
    return (int(num), int(den)) if num is not None and den else None


def build(actor: Actor, unit: Unit, year: int, locale: str | None = "vi") -> Report:
    """The annual report of a province or a commune (already checked by report_unit) for `year`."""
    from . import indicators, targets

    check_year(year)
    lang = _lang(locale)
    on = indicators.as_of(year)
    defs = list(indicator_defs().values())
    figures = _figures(actor, unit, year)
    from ..authz import province_of

    cache = Targets(province_of(unit.path), year)
    communes = communes_of(unit, year) if unit.level == "province" else []
    closing_units = [c.id for c in communes] if communes else [unit.id]
    closed = closures_for(closing_units, year)

    child: dict[str, dict[int, Figure]] = {code: {f.unit_id: f for f in kids} for code, (_f, kids) in figures.items()}

    def rows_for(u: Unit, own: bool) -> list[Row]:
        out = []
        for d in defs:
            code = d["code"]
            if code in figures:
                fig, children = figures[code]
                out.append(_from_figure(d, u, year, lang, cache, fig if own else child.get(code, {}).get(u.id)))
            else:
                out.append(_reported_row(d, u, year, lang, cache, [closed.get(u.id)] if not own or not communes
                                         else [closed.get(c.id) for c in communes]))
        return out

    rows = rows_for(unit, True)
    per_commune = [(c.id, c.name, rows_for(c, False)) for c in communes]

    adults = targets.denominator(unit, "adults", year)
    commune_count = targets.denominator(unit, "communes", year) if unit.level == "province" else None
    files = _files_in_year(unit, year)
    sources = {
        "files": files,
        "holders": figures["cdht_coverage"][0].numerator,
        "xht_holders": figures["xht_share"][0].numerator,
        "adults": asdict(adults) if adults is not None else None,
        "communes": asdict(commune_count) if commune_count is not None else None,
        "communes_listed": len(communes),
    }
    is_demo = bool((adults and adults.is_demo) or (commune_count and commune_count.is_demo))
    plans = sorted({r.target_plan for r in rows + [r for _i, _n, rs in per_commune for r in rs] if r.target_plan})
    return Report(unit_id=unit.id, unit_name=unit.name, level=unit.level, year=year, as_of=on,
                  generated_on=clock.today(), lang=lang, rows=rows, communes=per_commune, plans=plans,
                  sources=sources, closures=_closures(communes or [unit], closed), is_demo=is_demo)


def _reported_row(defn, unit: Unit, year: int, lang: str, cache, closures: list[ReportClosure | None]) -> Row:
    """A non-computed indicator: one commune's reported value, or the sum over a province's closed communes."""
    values = [v for c in closures if (v := _reported(c, defn["code"])) is not None]
    if not values:
        return _row(defn, unit, year, lang, cache, numerator=None, denominator=None, value=None,
                    note=word("not_reported", lang))
    num, den = sum(v[0] for v in values), sum(v[1] for v in values)
    note = word("reported", lang) if len(closures) == 1 else word("reported_by", lang, n=len(values),
                                                                   total=len(closures))
    return _row(defn, unit, year, lang, cache, numerator=num, denominator=den, value=percent(num, den), note=note)


def _files_in_year(unit: Unit, year: int) -> int:
    """Files in the year's campaigns of the unit's province under the unit: the per-state summary, one query."""
    from ..authz import province_of

    ids = list(db.session.scalars(select(Campaign.id).where(
        and_(Campaign.year == year, Campaign.province_id == province_of(unit.path)))))
    return sum(summary.by_campaign_state(unit.path, ids).values()) if ids else 0


def _closures(units: list[Unit], closed: dict[int, ReportClosure]) -> list[Closure]:
    from ..models import User

    users = {c.closed_by_id for c in closed.values() if c.closed_by_id}
    names = dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(users))).all()) if users else {}
    out = []
    for u in units:
        c = closed.get(u.id)
        out.append(Closure(unit_id=u.id, unit_name=u.name, closed=bool(c and c.closed_at),
                           closed_at=c.closed_at if c else None,
                           closed_by=names.get(c.closed_by_id) if c and c.closed_by_id else None,
                           reopened_at=c.reopened_at if c else None, reopen_reason=c.reopen_reason if c else None))
    return out


# -------------------------------------------------------------------------------------------------------- rendering

def _met(row: Row, lang: str) -> str:
    return word("met_unknown", lang) if row.met is None else word("met_yes" if row.met else "met_no", lang)


def _header_lines(report: Report) -> list[tuple[str, str]]:
    lg = report.lang
    src = report.sources
    lines = [(word("unit", lg), report.unit_name), (word("year", lg), str(report.year)),
             (word("as_of", lg), dmy(report.as_of)), (word("generated", lg), dmy(report.generated_on)),
             (word("plans", lg), "; ".join(report.plans) or "—"),
             (word("files", lg), f"{src['files']:,}".replace(",", ".")),
             (word("holders", lg), f"{src['holders']:,}".replace(",", ".")),
             (word("xht_holders", lg), f"{src['xht_holders']:,}".replace(",", "."))]
    if src.get("adults"):
        a = src["adults"]
        text = f"{a['value']:,}".replace(",", ".") if a.get("value") is not None else "—"
        lines.append((word("adults", lg), f"{text} ({a.get('source') or ''})".strip()))
        if a.get("missing"):
            lines.append(("", word("missing_adults", lg, n=a["missing"])))
    if src.get("communes"):
        c = src["communes"]
        lines.append((word("communes_den", lg), f"{c.get('value')} ({c.get('source') or ''})"))
    if report.level == "province":
        done = sum(1 for c in report.closures if c.closed)
        lines.append((word("status", lg), word("closures", lg, closed=done, total=len(report.closures))))
    elif report.closures:
        c = report.closures[0]
        lines.append((word("status", lg), word("closed_by", lg, on=dmy(c.closed_at), who=c.closed_by or "")
                      if c.closed else word("not_closed", lg)))
    return lines


COLUMNS = ("code", "indicator", "target", "plan", "value", "numerator", "denominator", "met", "note")


def _cells(row: Row, lang: str) -> list[Any]:
    return [row.official_code or "", row.name, row.target, row.target_plan or "", row.value, row.numerator,
            row.denominator, _met(row, lang), row.note or ""]


def to_xlsx(report: Report) -> bytes:
    """The report as a workbook: the unit's sheet (header, then one row per indicator), a sheet with every
    commune's rows (a province), and the communes' closures. Write-only mode: a province's sheets stream."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    lg = report.lang
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def strong(ws, text: str):
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        return cell

    ws = wb.create_sheet(word("sheet_report", lg))
    ws.append([strong(ws, word("title", lg))])
    if report.is_demo:
        ws.append([strong(ws, word("demo", lg))])
    for label, value in _header_lines(report):
        ws.append([label, value])
    ws.append([])
    ws.append([strong(ws, word(c, lg)) for c in COLUMNS])
    for row in report.rows:
        ws.append(_cells(row, lg))
    ws.append([])
    ws.append([word("code_note", lg)])
    if report.communes:
        wc = wb.create_sheet(word("sheet_communes", lg))
        wc.append([strong(wc, word("commune", lg)), *[strong(wc, word(c, lg)) for c in COLUMNS]])
        for _id, name, rows in report.communes:
            for row in rows:
                wc.append([name, *_cells(row, lg)])
    wk = wb.create_sheet(word("sheet_closures", lg))
    wk.append([strong(wk, word("commune", lg)), strong(wk, word("status", lg)), strong(wk, word("closed_on", lg))])
    for c in report.closures:
        wk.append([c.unit_name, word("closed" if c.closed else "not_closed", lg), dmy(c.closed_at)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_html(report: Report) -> str:
    """The HTML the PDF is printed from (annual_report_pdf.html, autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATE.parent)), autoescape=select_autoescape(["html"]))
    lg = report.lang

    def w(key: str, **params: Any) -> str:
        return word(key, lg, **params)

    return env.get_template(TEMPLATE.name).render(
        r=report, w=w, header=_header_lines(report), columns=COLUMNS, cells=lambda row: _cells(row, lg),
        num=_num, dmy=dmy, closed={c.unit_id: c for c in report.closures})


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return str(value)


def to_pdf(report: Report) -> bytes:
    """The PDF (A4 landscape), printed by WeasyPrint with fonts that carry Vietnamese (DejaVu Sans, Noto Sans)."""
    from weasyprint import HTML

    return HTML(string=to_html(report), base_url=str(TEMPLATE.parent)).write_pdf()


RENDERERS: dict[str, tuple[Callable[[Report], bytes], str]] = {"xlsx": (to_xlsx, XLSX), "pdf": (to_pdf, PDF)}


def filename(report: Report, fmt: str) -> str:
    """bao-cao-xhht-<unit code-free slug>-<year>.<fmt> (ASCII: the Content-Disposition fallback)."""
    from ..text import fold

    slug = "-".join(fold(report.unit_name).split()) or str(report.unit_id)
    return f"bao-cao-xhht-{slug}-{report.year}.{fmt}"

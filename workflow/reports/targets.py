"""Plans, targets and denominators (issue 11, section 1): what each figure is measured against, as data.

- A plan (report_plans) cites its text and covers years; it is national (QĐ 677/QĐ-TTg) or a province's. Its targets
  (report_targets) are percents per indicator and year, for the plan's scope or for one commune. Shipped plans are
  in workflow/data/targets.json (`load_plans`, idempotent, called by the reference-data load and the demo).
- The target that applies to (unit, indicator, year), `target_for`: the unit's own (or its parent's, nearest
  first), else its province's plan covering the year, else the national plan; a row with a value beats an empty
  one (the plan leaves that year open), so an empty province row falls back to the national figure when there is
  one. A plan marked history (Bắc Kạn's, now part of Thái Nguyên) is shown but never applied.
- Denominators (report_denominators, `denominator`): a unit's own row for the year; a province's adults (and unit
  staff) otherwise the sum of its communes' rows, saying how many communes lack one; the number of communes
  otherwise counted from the province's active commune-level units at the year's end.
- Changes: `set_target` (an admin of the plan's province; national and history plans are read-only data) and the
  spreadsheet import of denominators (workflow/reports/denominators.py), each audited with workflow.admin.record.
  The caller commits."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..admin import ADMIN, as_actor, record
from ..admin.inputs import FIELD_MESSAGES, Input, InvalidInput, parse
from ..authz import Actor
from ..db import db
from ..definitions import data_file
from ..errors import MESSAGES, Conflict, NotAuthorized, NotFound
from ..models import ReportDenominator, ReportPlan, ReportTarget, Unit
from . import indicator_defs

KINDS = ("adults", "communes", "unit_staff")
DEMO_SOURCE = "Số liệu mẫu (demo)"

MESSAGES.update({
    "plan_not_found": ("Không tìm thấy kế hoạch này.", "Plan not found."),
    "target_conflict": ("Chỉ tiêu này vừa được người khác đặt; hãy tải lại trang và thử lại.",
                        "Someone else has just set this target; reload and try again."),
    "plan_read_only": ("Chỉ tiêu của kế hoạch này là dữ liệu chỉ đọc (kế hoạch quốc gia hoặc kế hoạch đã thành "
                       "lịch sử): không sửa được.",
                       "The targets of this plan are read-only data (a national plan or a plan kept as history)."),
    "denominators_invalid": ("Tệp có {count} lỗi; chưa lưu gì.", "The file has {count} problem(s); nothing was "
                                                                   "stored."),
    "denominators_missing_columns": ("Thiếu cột: {columns}.", "Missing columns: {columns}."),
    "denominator_unknown_unit": ("Không có đơn vị «{unit}».", "No unit «{unit}»."),
    "denominator_ambiguous_unit": ("Có nhiều đơn vị tên «{unit}»: hãy ghi mã đơn vị.",
                                   "Several units are named «{unit}»: write the unit's code."),
    "denominator_outside_unit": ("Đơn vị «{unit}» không thuộc tỉnh bạn quản trị.",
                                 "Unit «{unit}» is not in a province you administer."),
    "denominator_kind_level": ("Số xã, phường («communes») chỉ ghi cho một tỉnh, không cho «{unit}».",
                               "The number of communes («communes») is given for a province only, not «{unit}»."),
    "denominator_duplicate_row": ("Trùng với dòng {other} (cùng đơn vị, năm và loại số liệu).",
                                  "Same unit, year and kind as line {other}."),
})
FIELD_MESSAGES.update({
    "target_year": ("Năm phải nằm trong thời kỳ của kế hoạch ({min}-{max}).",
                     "The year must lie within the plan's years ({min}-{max})."),
    "target_value": ("Chỉ tiêu là tỷ lệ phần trăm từ 0 đến 100 (để trống: chưa đặt).",
                     "A target is a percentage from 0 to 100 (empty: not set)."),
    "target_indicator": ("Chỉ số không hợp lệ; chọn một trong: {choices}.", "Not an indicator; choose one of: "
                                                                              "{choices}."),
    "target_unit": ("Chỉ tiêu riêng chỉ đặt cho một xã, phường của tỉnh của kế hoạch.",
                    "An own target is set for a commune or ward of the plan's province only."),
    "denominator_year": ("Năm phải là số nguyên từ 2000 đến 2100.", "The year must be a whole number from 2000 to "
                                                                     "2100."),
    "denominator_negative": ("Giá trị không được âm.", "The value may not be negative."),
    "denominator_value": ("Giá trị phải là số nguyên (chữ số 0-9).", "The value must be a whole number (digits "
                                                                      "0-9)."),
    "denominator_kind": ("Loại số liệu phải là một trong: adults (người từ 15 tuổi), communes (số xã, phường), "
                         "unit_staff (cán bộ đơn vị học tập).",
                         "The kind must be one of: adults (people aged 15 and over), communes (communes and "
                         "wards), unit_staff (staff of learning units)."),
})


@dataclass
class TargetRef:
    value: float | None  # percent; None: a row of the plan left empty (editable)
    plan_code: str
    plan_citation: str  # "QĐ 677/QĐ-TTg ngày 03/06/2022 của Thủ tướng Chính phủ"
    status: str = "C"  # C / P / ? as in shared/domain/README.md
    plan_id: int | None = None
    year: int | None = None
    scope: str = "national"  # "national" | "province" (the plan's own row) | "unit" (a commune's own target)
    unit_id: int | None = None  # the unit of an own target


@dataclass
class Denominator:
    value: int | None
    is_demo: bool = False
    source: str = ""
    missing: int = 0  # communes without a figure when a province's value is their sum
    parts: int = 0  # communes whose figures were summed
    derived: str = "row"  # "row": the unit's own figure; "sum": its communes' figures; "units": counted units


def year_end(year: int) -> date:
    """The day a year's figures are counted on: 31/12 of the year, or today while the year runs (the same rule as
    workflow.reports.indicators.as_of)."""
    return min(clock.today(), date(year, 12, 31))


def _chain(unit: Unit) -> list[int]:
    """The unit's ancestors and itself, province first ("/1/4/9/" -> [1, 4, 9])."""
    return [int(p) for p in unit.path.strip("/").split("/") if p]


# ------------------------------------------------------------------------------------------------ targets
def _candidates(unit: Unit, indicator: str, year: int | None) -> list[tuple[ReportTarget, ReportPlan]]:
    chain = _chain(unit)
    stmt = (select(ReportTarget, ReportPlan).join(ReportPlan, ReportPlan.id == ReportTarget.plan_id)
            .where(ReportTarget.indicator == indicator, ReportPlan.is_history.is_(False),
                   ReportTarget.year >= ReportPlan.first_year, ReportTarget.year <= ReportPlan.last_year,
                   or_(ReportTarget.unit_id.in_(chain),
                       and_(ReportTarget.unit_id.is_(None),
                            or_(ReportPlan.province_id == chain[0], ReportPlan.province_id.is_(None))))))
    if year is not None:
        stmt = stmt.where(ReportTarget.year == year)
    return [(t, p) for t, p in db.session.execute(stmt).all()]


def _rank(unit: Unit, target: ReportTarget, plan: ReportPlan) -> tuple:
    chain = _chain(unit)
    if target.unit_id is not None:
        specificity = 10 + chain.index(target.unit_id)
    else:
        specificity = 1 if plan.province_id is not None else 0
    return (target.value is not None, specificity, plan.issued_on or date.min, plan.id)


def _ref(target: ReportTarget, plan: ReportPlan) -> TargetRef:
    scope = "unit" if target.unit_id is not None else ("province" if plan.province_id is not None else "national")
    return TargetRef(value=target.value, plan_code=plan.code, plan_citation=plan.citation, status=plan.status,
                     plan_id=plan.id, year=target.year, scope=scope, unit_id=target.unit_id)


def target_for(unit: Unit, indicator: str, year: int) -> TargetRef | None:
    """The target that applies: the unit's own, else its province's plan covering the year, else national."""
    rows = _candidates(unit, indicator, year)
    if not rows:
        return None
    return _ref(*max(rows, key=lambda tp: _rank(unit, *tp)))


def targets_by_year(unit: Unit, indicator: str) -> dict[int, TargetRef]:
    """Every year with a target for (unit, indicator), for the coverage-by-year chart (the 2030 line), in year
    order; a year whose only rows are empty carries value None."""
    best: dict[int, tuple[tuple, ReportTarget, ReportPlan]] = {}
    for t, p in _candidates(unit, indicator, None):
        rank = _rank(unit, t, p)
        if t.year not in best or rank > best[t.year][0]:
            best[t.year] = (rank, t, p)
    return {y: _ref(t, p) for y, (_r, t, p) in sorted(best.items())}


# ------------------------------------------------------------------------------------------------ denominators
def _active_at(on: date):
    return and_(or_(Unit.valid_from.is_(None), Unit.valid_from <= on),
                or_(Unit.valid_to.is_(None), Unit.valid_to >= on))


def active_communes(province: Unit, year: int) -> list[Unit]:
    """The province's commune-level units in force at the year's end (the communes a year's figures are about)."""
    on = year_end(year)
    return list(db.session.scalars(select(Unit).where(Unit.level == "commune", Unit.path.startswith(province.path),
                                                      _active_at(on)).order_by(Unit.name_folded, Unit.id)))


def denominator(unit: Unit, kind: str, year: int) -> Denominator | None:
    """kind: "adults", "communes", "unit_staff". A province's adults: its own row, else the sum of its communes'.
    None when nothing is known."""
    if kind not in KINDS:
        raise ValueError(kind)
    own = db.session.scalar(select(ReportDenominator).filter_by(unit_id=unit.id, year=year, kind=kind))
    if own is not None:
        return Denominator(value=own.value, is_demo=own.is_demo, source=own.source)
    if unit.level != "province":
        return None
    communes = active_communes(unit, year)
    if kind == "communes":
        if not communes:
            return None
        return Denominator(value=len(communes), source=f"Đếm từ danh mục đơn vị: xã, phường còn hiệu lực ngày "
                                                         f"{year_end(year):%d/%m/%Y}", derived="units")
    if not communes:
        return None
    ids = [c.id for c in communes]
    rows = db.session.execute(select(ReportDenominator.value, ReportDenominator.is_demo, ReportDenominator.source)
                              .where(ReportDenominator.unit_id.in_(ids), ReportDenominator.year == year,
                                     ReportDenominator.kind == kind)).all()
    if not rows:
        return None
    sources = sorted({s for _v, _d, s in rows if s})
    return Denominator(value=sum(v for v, _d, _s in rows), is_demo=any(d for _v, d, _s in rows),
                       source=f"Tổng số liệu của {len(rows)} xã, phường" + (f" ({'; '.join(sources)})"
                                                                          if sources else ""),
                       missing=len(ids) - len(rows), parts=len(rows), derived="sum")


def denominators_table(province: Unit, year: int) -> list[dict[str, Any]]:
    """The denominators page: the province's row and one per active commune, each kind's figure (own rows only,
    the province's derived ones as `denominator` gives them)."""
    communes = active_communes(province, year)
    ids = [province.id] + [c.id for c in communes]
    rows = {(r.unit_id, r.kind): r for r in db.session.scalars(
        select(ReportDenominator).where(ReportDenominator.unit_id.in_(ids), ReportDenominator.year == year))}
    out = [{"unit": province, "figures": {k: denominator(province, k, year) for k in KINDS}}]
    for c in communes:
        out.append({"unit": c, "figures": {k: (Denominator(value=r.value, is_demo=r.is_demo, source=r.source)
                                               if (r := rows.get((c.id, k))) else None) for k in KINDS}})
    return out


def any_demo(province: Unit) -> bool:
    """Whether any denominator under the province is a demo figure (the pages then say so)."""
    return db.session.scalar(select(func.count()).select_from(ReportDenominator).join(
        Unit, Unit.id == ReportDenominator.unit_id).where(Unit.path.startswith(province.path),
                                                         ReportDenominator.is_demo.is_(True))) > 0


# ------------------------------------------------------------------------------------------------ plans (data)
def load_plans(definition: Mapping[str, Any] | None = None) -> int:
    """Load the shipped plans (workflow/data/targets.json): idempotent; a plan whose province is not loaded is
    skipped quietly (loaded once the province exists, e.g. by the next `flask workflow load`). A target an admin
    has edited is never overwritten. Returns the number of plans loaded."""
    from ..admin.units import find_province

    definition = definition or data_file("targets.json")
    codes = set(indicator_defs())
    loaded = 0
    for p in definition["plans"]:
        province = None
        if p.get("province"):
            province = find_province(p["province"])
            if province is None:
                continue
        plan = db.session.scalar(select(ReportPlan).filter_by(code=p["code"])) or ReportPlan(code=p["code"])
        plan.citation, plan.issuer, plan.province_id = p["citation"], p["issuer"], province.id if province else None
        plan.issued_on = date.fromisoformat(p["issued_on"]) if p.get("issued_on") else None
        plan.first_year, plan.last_year, plan.status = p["first_year"], p["last_year"], p.get("status", "C")
        plan.is_history, plan.note, plan.source = bool(p.get("history")), p.get("note"), p.get("source")
        db.session.add(plan)
        db.session.flush()
        existing = {(t.indicator, t.year): t for t in db.session.scalars(
            select(ReportTarget).where(ReportTarget.plan_id == plan.id, ReportTarget.unit_id.is_(None)))}
        for indicator, years in p["targets"].items():
            if indicator not in codes:
                raise ValueError(f"plan {p['code']}: unknown indicator {indicator}")
            for year, value in years.items():
                row = existing.get((indicator, int(year)))
                if row is None:
                    db.session.add(ReportTarget(plan_id=plan.id, indicator=indicator, year=int(year), value=value))
                elif row.updated_by_id is None:
                    row.value = value
        loaded += 1
    db.session.flush()
    return loaded


def visible_plans(actor) -> list[ReportPlan]:
    """National plans, and the plans of the provinces the actor works in (history ones included), national first."""
    actor = as_actor(actor)
    provinces = {int(g.unit_path.strip("/").split("/")[0]) for g in actor.grants}
    stmt = select(ReportPlan).where(or_(ReportPlan.province_id.is_(None), ReportPlan.province_id.in_(provinces)))
    plans = list(db.session.scalars(stmt))
    return sorted(plans, key=lambda p: (p.province_id is not None, p.is_history, -(p.last_year), p.code))


def visible_plan(actor, plan_id: int) -> ReportPlan:
    """A plan the actor may read, else not found."""
    plan = db.session.get(ReportPlan, plan_id)
    if plan is None or (plan.province_id is not None and plan not in visible_plans(actor)):
        raise NotFound("plan_not_found")
    return plan


def editable(actor, plan: ReportPlan) -> bool:
    """A province's plan, not history, and the actor an admin of that province."""
    return (plan.province_id is not None and not plan.is_history
            and as_actor(actor).covers(plan.province.path, ADMIN))


def plan_table(plan: ReportPlan) -> dict[str, dict[int, ReportTarget]]:
    """The plan's own rows: indicator -> year -> row (indicators in the order of indicators.json)."""
    order = list(indicator_defs())
    out: dict[str, dict[int, ReportTarget]] = {}
    rows = db.session.scalars(select(ReportTarget).where(ReportTarget.plan_id == plan.id,
                                                         ReportTarget.unit_id.is_(None)).order_by(ReportTarget.year))
    for t in sorted(rows, key=lambda t: (order.index(t.indicator) if t.indicator in order else 99, t.year)):
        out.setdefault(t.indicator, {})[t.year] = t
    return out


def unit_targets(plan: ReportPlan) -> list[ReportTarget]:
    """The plan's targets for single communes, by commune, indicator and year."""
    return list(db.session.scalars(select(ReportTarget).join(Unit, Unit.id == ReportTarget.unit_id)
                                   .where(ReportTarget.plan_id == plan.id)
                                   .order_by(Unit.name_folded, ReportTarget.indicator, ReportTarget.year)))


# ------------------------------------------------------------------------------------------------ set_target
def _indicator(value: Any) -> Any:
    codes = list(indicator_defs())
    if isinstance(value, str) and value.strip() in codes:
        return value.strip()
    raise PydanticCustomError("target_indicator", "unknown indicator", {"expected": ", ".join(codes)})


def _percent(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise PydanticCustomError("target_value", "not a percent")
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip().replace(",", ".")
        try:
            value = float(value)
        except ValueError:
            raise PydanticCustomError("target_value", "not a percent") from None
    if not isinstance(value, int | float) or not 0 <= value <= 100 or value != value:
        raise PydanticCustomError("target_value", "not a percent")
    return round(float(value), 2)


def _optional_id(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    from ..inputs import parse_int

    number = parse_int(value, minimum=1) if isinstance(value, str | int) else None
    if number is None:
        raise PydanticCustomError("int_parsing", "not an id")
    return number


class TargetInput(Input):
    """One target of a plan (page form and API): the indicator, the year, the percent (empty: not set) and, for a
    commune's own target, the commune."""

    indicator: Annotated[str, BeforeValidator(_indicator)]
    year: Annotated[int, Field(ge=2000, le=2100)]
    value: Annotated[float | None, BeforeValidator(_percent)] = None
    unit_id: Annotated[int | None, BeforeValidator(_optional_id)] = None

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, value: Any) -> Any:
        from ..inputs import parse_int

        if isinstance(value, str):
            number = parse_int(value, minimum=0, maximum=9999)
            if number is None:
                raise PydanticCustomError("int_parsing", "not a year")
            return number
        return value


def _target_snapshot(plan: ReportPlan, t: ReportTarget) -> dict[str, Any]:
    return {"plan": plan.code, "indicator": t.indicator, "year": t.year, "unit_id": t.unit_id, "value": t.value}


def set_target(actor, plan_id: int, data: Mapping[str, Any]) -> ReportTarget | None:
    """Set (or clear, value empty) one target of a province's plan: the plan's own row for a year, or a commune's
    own target (cleared: removed, so the commune follows the plan again). National and history plans are
    read-only; an admin of the province only; outside one's provinces: not found. One audit event with before and
    after when something changed. Returns the row (None when a commune's target was removed)."""
    actor = as_actor(actor)
    plan = visible_plan(actor, plan_id)
    if plan.province_id is None or plan.is_history:
        raise NotAuthorized("plan_read_only")
    province = plan.province
    assert province is not None
    values = parse(TargetInput, data)
    if not plan.first_year <= values.year <= plan.last_year:
        raise InvalidInput({"year": ("target_year", {"min": plan.first_year, "max": plan.last_year})})
    unit: Unit = province
    if values.unit_id is not None:
        commune = db.session.get(Unit, values.unit_id)
        if commune is None or not _sees(actor, commune):
            raise NotFound("unit_not_found")
        if commune.level != "commune" or not commune.path.startswith(province.path):
            raise InvalidInput({"unit_id": ("target_unit", {})})
        unit = commune
    if not actor.covers(unit.path, ADMIN):
        raise NotAuthorized("admin_required")
    unit_clause = (ReportTarget.unit_id.is_(None) if values.unit_id is None
                   else ReportTarget.unit_id == values.unit_id)
    row = db.session.scalar(select(ReportTarget).where(ReportTarget.plan_id == plan.id, unit_clause,
                                                       ReportTarget.indicator == values.indicator,
                                                       ReportTarget.year == values.year))
    before = _target_snapshot(plan, row) if row is not None else None
    if row is None:
        if values.value is None:
            return None
        row = ReportTarget(plan_id=plan.id, unit_id=values.unit_id, indicator=values.indicator, year=values.year,
                           value=values.value, updated_by_id=actor.id, updated_at=clock.now())
        try:
            with db.session.begin_nested():  # someone else adding the same target at this instant: a conflict
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            raise Conflict("target_conflict") from None
    elif row.value == values.value:
        return row
    if values.unit_id is not None and values.value is None:
        row_id = row.id
        db.session.delete(row)
        db.session.flush()
        record(actor, "target.set", "report_target", row_id, before=before, after=None, unit=unit)
        return None
    row.value, row.updated_by_id, row.updated_at = values.value, actor.id, clock.now()
    db.session.flush()
    record(actor, "target.set", "report_target", row.id, before=before, after=_target_snapshot(plan, row), unit=unit)
    return row


def _sees(actor: Actor, unit: Unit) -> bool:
    """The unit lies within the actor's grants, or is an ancestor of one (a commune officer sees their province)."""
    return any(unit.path.startswith(g.unit_path) or g.unit_path.startswith(unit.path) for g in actor.grants)


def import_denominators(actor, data: bytes, filename: str = "", *, dry_run: bool = False):
    """The spreadsheet import of denominators (workflow/reports/denominators.py): all or nothing."""
    from .denominators import import_denominators as run

    return run(actor, data, filename, dry_run=dry_run)

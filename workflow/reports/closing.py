"""A commune's closing of a year's figures (issue 11, section 4): before the report goes to the Sở GDĐT (due 15/12),
the commune's appraiser closes the year, reporting the values the system does not compute (share trained on the
criteria, share of staff of learning units holding CDHT) and freezing a snapshot of the computed figures as they
stood. A provincial admin or approver may reopen it, with a reason. Each closing and reopening is one audit event
(workflow.admin.record, actions "report.close" and "report.reopen"); the caller commits.

Who: closing needs a commune_appraiser grant AT that commune; reopening an admin or provincial_approver grant
covering it. A unit outside every grant of the actor is not found (existence never leaks)."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from .. import clock
from ..admin import as_actor, record
from ..admin.inputs import FIELD_MESSAGES, Input, parse
from ..authz import Actor
from ..db import db
from ..errors import MESSAGES, Conflict, NotAuthorized, NotFound, WorkflowError
from ..models import ReportClosure, Unit
from .annual import MAX_YEAR, MIN_YEAR, REPORTED, snapshot

CLOSERS = ("commune_appraiser",)
REOPENERS = ("admin", "provincial_approver")

MESSAGES.update({
    "closing_not_allowed": ("Chỉ cán bộ thẩm định của chính xã, phường này mới được chốt số liệu năm.",
                            "Only the appraiser of this very commune may close its year's figures."),
    "reopen_not_allowed": ("Chỉ quản trị viên hoặc cán bộ phê duyệt cấp tỉnh mới được mở lại số liệu đã chốt.",
                           "Only a provincial administrator or approver may reopen closed figures."),
    "closing_unit_level": ("Chỉ xã, phường chốt số liệu năm (không phải «{unit}»).",
                           "Only a commune closes a year's figures (not «{unit}»)."),
    "year_already_closed": ("Số liệu năm {year} của «{unit}» đã được chốt.",
                            "The {year} figures of «{unit}» are already closed."),
    "year_not_closed": ("Số liệu năm {year} của «{unit}» chưa được chốt, không có gì để mở lại.",
                        "The {year} figures of «{unit}» are not closed: there is nothing to reopen."),
    "year_in_future": ("Chưa thể chốt số liệu năm {year}: năm chưa bắt đầu.",
                       "The {year} figures cannot be closed: the year has not begun."),
    "reopen_reason_required": ("Vui lòng nêu lý do mở lại.", "Give the reason for reopening."),
})
FIELD_MESSAGES.setdefault("numerator_above_denominator", ("Tử số không được lớn hơn mẫu số.",
                                                          "The numerator may not exceed the denominator."))
FIELD_MESSAGES.setdefault("denominator_required", ("Cần cả mẫu số (lớn hơn 0) khi đã nhập tử số.",
                                                   "A denominator (above 0) is needed with a numerator."))

Count = Annotated[int | None, Field(default=None, ge=0, le=100_000_000)]


class ClosingInput(Input):
    """What a commune reports when it closes its year: for each indicator the system does not compute, how many
    (numerator) out of how many (denominator); both empty means not reported. Declared once: the page's form and
    any other door validate through it."""

    model_config = {**Input.model_config, "validate_default": True}  # an empty denominator is still judged

    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    cdht_trained_numerator: Count = None
    cdht_trained_denominator: Count = None
    cdht_unit_staff_numerator: Count = None
    cdht_unit_staff_denominator: Count = None

    @field_validator("cdht_trained_denominator", "cdht_unit_staff_denominator")
    @classmethod
    def _pair(cls, den: int | None, info: ValidationInfo) -> int | None:
        num = info.data.get(info.field_name.replace("_denominator", "_numerator"))
        if num is not None and not den:
            raise PydanticCustomError("denominator_required", "denominator required")
        if num is not None and den and num > den:
            raise PydanticCustomError("numerator_above_denominator", "numerator above denominator")
        return den

    def reported(self) -> dict[str, dict[str, int]]:
        out = {}
        for code in REPORTED:
            num, den = getattr(self, f"{code}_numerator"), getattr(self, f"{code}_denominator")
            if num is not None and den:
                out[code] = {"numerator": num, "denominator": den}
        return out


def settings() -> dict:
    """The closing's dates as data (workflow/data/annual_report.json): the report's due day, the reminders' window."""
    from ..definitions import data_file

    return data_file("annual_report.json")["closing"]


def in_window(day: date) -> bool:
    """Whether `day` lies in the window of the December reminders (1-5 December as shipped)."""
    w = settings()["reminders"]
    return day.month == int(w["month"]) and int(w["first_day"]) <= day.day <= int(w["last_day"])


def due_date(year: int) -> date:
    """The day the year's report is due at the Sở GDĐT (15/12 as shipped)."""
    d = settings()["due"]
    return date(year, int(d["month"]), int(d["day"]))


def parse_form(data) -> ClosingInput:
    """A form's strings (empty fields are None) through the declared input."""
    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in dict(data).items()
              if k in ClosingInput.model_fields}
    return parse(ClosingInput, {k: v for k, v in fields.items() if v not in ("", None)})


def commune(actor, unit_id: int | None) -> Unit:
    """The commune within the actor's grants (else not found)."""
    actor = as_actor(actor)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None or not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    if unit.level != "commune":
        raise WorkflowError("closing_unit_level", unit=unit.name)
    return unit


def may_close(actor: Actor, unit: Unit) -> bool:
    return any(g.role in CLOSERS and g.unit_id == unit.id for g in actor.grants)


def may_reopen(actor: Actor, unit: Unit) -> bool:
    return actor.covers(unit.path, REOPENERS)


def closure_of(unit_id: int, year: int) -> ReportClosure | None:
    return db.session.scalar(select(ReportClosure).where(ReportClosure.unit_id == unit_id,
                                                         ReportClosure.year == year))


def _state(c: ReportClosure | None) -> dict | None:
    if c is None:
        return None
    return {"closed": c.closed_at is not None, "closed_by_id": c.closed_by_id, "reported": c.reported}


def close_year(actor, unit: Unit, data: ClosingInput) -> ReportClosure:
    """Close the commune's year: its reported values and the computed figures' snapshot, audited."""
    actor = as_actor(actor)
    if not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    if not may_close(actor, unit):
        raise NotAuthorized("closing_not_allowed")
    if data.year > clock.today().year:
        raise WorkflowError("year_in_future", year=data.year)
    closure = closure_of(unit.id, data.year)
    if closure is not None and closure.closed_at is not None:
        raise Conflict("year_already_closed", year=data.year, unit=unit.name)
    before = _state(closure)
    if closure is None:
        closure = ReportClosure(unit_id=unit.id, year=data.year, reported={}, snapshot={})
        db.session.add(closure)
    closure.closed_at, closure.closed_by_id = clock.now(), actor.id
    closure.reported = data.reported()
    closure.snapshot = snapshot(actor, unit, data.year)
    db.session.flush()
    record(actor, "report.close", "report_closure", closure.id, before=before,
           after={"year": data.year, "reported": closure.reported, "snapshot": closure.snapshot}, unit=unit)
    return closure


def reopen_year(actor, unit: Unit, year: int, reason: str | None) -> ReportClosure:
    """Reopen a closed year (the commune may correct and close again): a provincial admin or approver, a reason."""
    actor = as_actor(actor)
    if not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    if not may_reopen(actor, unit):
        raise NotAuthorized("reopen_not_allowed")
    reason = " ".join((reason or "").split())[:2000]
    if not reason:
        raise WorkflowError("reopen_reason_required")
    closure = closure_of(unit.id, year)
    if closure is None or closure.closed_at is None:
        raise WorkflowError("year_not_closed", year=year, unit=unit.name)
    before = _state(closure)
    closure.closed_at = closure.closed_by_id = None
    closure.reopened_at, closure.reopened_by_id, closure.reopen_reason = clock.now(), actor.id, reason
    db.session.flush()
    record(actor, "report.reopen", "report_closure", closure.id, before=before,
           after={"year": year, "closed": False}, unit=unit, reason=reason)
    return closure

"""Campaigns (đợt đánh giá): an admin of a province opens the year's campaign of a title, edits it (a deadline moved
later is an extension and records its reason), and closes it. The field names are those the API returns
(GET /api/v1/campaigns), so a client sends back what it read; pages and API validate through the same models.
The deadlines themselves are judged by workflow.deadlines; the caller commits."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..db import db
from ..deadlines import ORDER, dmy
from ..errors import GuardRefused, NotFound
from ..inputs import MAX_INT, parse_date
from ..models import Campaign, Rubric, TitleType, Unit
from . import as_actor, record, require_admin
from .inputs import FIELD_MESSAGES, Input, InvalidInput, Name

FIELD_MESSAGES.update({
    "campaign_exists": ("Tỉnh đã có đợt đánh giá danh hiệu này trong năm {year}.",
                        "The province already has a campaign of this title for {year}."),
    "deadline_order": ("Các mốc phải theo thứ tự: mở đợt ≤ hạn nộp hồ sơ ≤ hạn chấm điểm ≤ hạn thẩm định ≤ hạn "
                       "quyết định.",
                       "The dates must be in order: opens ≤ nominations ≤ branch scoring ≤ appraisal ≤ decision."),
    "extension_reason": ("Gia hạn phải nêu lý do.", "An extension needs a reason."),
    "not_province": ("Phải là một tỉnh.", "Must be a province."),
    "unknown_rubric": ("Không có bộ tiêu chí này cho danh hiệu.", "No such rubric for this title."),
    "unknown_title": ("Không có danh hiệu này.", "No such title."),
})

def _date(value: Any) -> Any:
    """dd/mm/yyyy (pages) or YYYY-MM-DD (API), by workflow.inputs.parse_date; nothing else, not even a number of
    seconds."""
    if value is None or isinstance(value, date):
        return value
    day = parse_date(value) if isinstance(value, str) else None
    if day is None:
        raise PydanticCustomError("date_parsing", "not a date")
    return day


Day = Annotated[date, BeforeValidator(_date)]
CampaignName = Annotated[Name, Field(max_length=255)]
Days = Annotated[int, Field(ge=1, le=365)]


class CampaignIn(Input):
    """A new campaign. `rubric_version` (or `rubric_id`) picks a rubric of the title; without either, the
    newest loaded."""

    title: Annotated[str, Field(max_length=16)]
    year: Annotated[int, Field(ge=2000, le=2100)]
    province_id: Annotated[int, Field(ge=1, le=MAX_INT)]
    name: CampaignName
    rubric_id: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None
    rubric_version: Annotated[str, Field(max_length=64)] | None = None
    opens_on: Day
    submit_deadline: Day
    scoring_deadline: Day | None = None
    appraisal_deadline: Day | None = None
    decision_deadline: Day
    stage_limit_days: Days = 14
    escalate_after_days: Days = 28


class CampaignPatch(Input):
    """Changes to a campaign; a deadline moved later (an extension) needs `reason`."""

    name: CampaignName | None = None
    rubric_id: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None
    rubric_version: Annotated[str, Field(max_length=64)] | None = None
    opens_on: Day | None = None
    submit_deadline: Day | None = None
    scoring_deadline: Day | None = None
    appraisal_deadline: Day | None = None
    decision_deadline: Day | None = None
    stage_limit_days: Days | None = None
    escalate_after_days: Days | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None


FIELDS = ("name", "rubric_id", "opens_on", *ORDER, "stage_limit_days", "escalate_after_days")


def snapshot(c: Campaign) -> dict[str, Any]:
    """What the audit records of a campaign (dates as ISO text)."""
    out = {k: getattr(c, k) for k in FIELDS}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in out.items()}


def _rubric(title: str, rubric_id: int | None, version: str | None) -> Rubric:
    stmt = select(Rubric).where(Rubric.title_code == title)
    if rubric_id is not None:
        stmt = stmt.where(Rubric.id == rubric_id)
    if version is not None:
        stmt = stmt.where(Rubric.version == version)
    found = db.session.scalars(stmt.order_by(Rubric.loaded_at.desc(), Rubric.id.desc())).first()
    if found is None:
        raise InvalidInput({"rubric_version" if version is not None else "rubric_id": ("unknown_rubric", {})})
    return found


def _check(values: dict[str, Any], changed: set[str] | frozenset[str] = frozenset()) -> None:
    """The dates in order (the database's CHECK says the same; this names the field, the one just changed when
    only one of the two was)."""
    chain = [("opens_on", values["opens_on"])] + [(k, values[k]) for k in ORDER if values.get(k) is not None]
    for (earlier, before), (later, after) in zip(chain, chain[1:], strict=False):
        if after < before:
            field = earlier if earlier in changed and later not in changed else later
            raise InvalidInput({field: ("deadline_order", {})})
    if values["escalate_after_days"] < values["stage_limit_days"]:
        raise InvalidInput({"escalate_after_days": ("too_small", {"min": values["stage_limit_days"]})})


def campaign_of(actor, campaign_id: int) -> Campaign:
    """A campaign the actor administers: outside their provinces not found, inside without admin 403."""
    actor = as_actor(actor)
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not actor.covers(campaign.province.path):
        raise NotFound("campaign_not_found")
    require_admin(actor, campaign.province)
    return campaign


def open_campaign(actor, data: CampaignIn) -> Campaign:
    """Open the year's campaign of a title in a province the actor administers."""
    province = db.session.get(Unit, data.province_id)
    actor = require_admin(actor, province)
    if province.level != "province":
        raise InvalidInput({"province_id": ("not_province", {})})
    if db.session.get(TitleType, data.title) is None:
        raise InvalidInput({"title": ("unknown_title", {})})
    rubric = _rubric(data.title, data.rubric_id, data.rubric_version)
    values = data.model_dump(exclude={"title", "year", "province_id", "rubric_id", "rubric_version"})
    _check(values)
    taken = select(Campaign.id).where(Campaign.title_code == data.title, Campaign.year == data.year,
                                      Campaign.province_id == province.id)
    duplicate = InvalidInput({"year": ("campaign_exists", {"year": data.year})})
    if db.session.scalar(select(exists(taken))):
        raise duplicate
    campaign = Campaign(title_code=data.title, year=data.year, province=province, rubric_id=rubric.id, **values)
    try:
        with db.session.begin_nested():
            db.session.add(campaign)
            db.session.flush()
    except IntegrityError as exc:  # a concurrent twin
        raise duplicate from exc
    record(actor, "campaign.create", "campaign", campaign.id, after=snapshot(campaign) | {
        "title": data.title, "year": data.year}, unit=province)
    return campaign


def is_extension(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A deadline moved later, or removed (a stage then answers to a later one)."""
    for k in ORDER:
        old, new = before.get(k), after.get(k)
        if old is not None and (new is None or new > old):
            return True
    return False


def update_campaign(actor, campaign: Campaign, data: CampaignPatch) -> Campaign:
    """Change a campaign; an extension needs a reason, and the audit keeps the values before and after."""
    campaign_of(actor, campaign.id)
    actor = as_actor(actor)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "rubric_version"})
    if "rubric_id" in data.model_fields_set or "rubric_version" in data.model_fields_set:
        changes["rubric_id"] = _rubric(campaign.title_code, data.rubric_id, data.rubric_version).id
    for required in ("name", "opens_on", "submit_deadline", "decision_deadline", "stage_limit_days",
                     "escalate_after_days"):
        if required in changes and changes[required] is None:
            raise InvalidInput({required: ("required", {})})
    current = {k: getattr(campaign, k) for k in FIELDS}
    merged = current | changes
    _check(merged, set(changes))
    reason = (data.reason or "").strip() or None
    if is_extension(current, merged) and reason is None:
        raise InvalidInput({"reason": ("extension_reason", {})})
    moved = {k: v for k, v in changes.items() if current[k] != v}
    if not moved:
        return campaign
    before = snapshot(campaign)
    for k, v in moved.items():
        setattr(campaign, k, v)
    db.session.flush()
    record(actor, "campaign.update", "campaign", campaign.id, before={k: before[k] for k in moved},
           after={k: snapshot(campaign)[k] for k in moved}, unit=campaign.province, reason=reason,
           extension=is_extension(current, merged))
    return campaign


def close_campaign(actor, campaign: Campaign, reason: str | None = None) -> Campaign:
    """Close a campaign: no more nominations; files under way still finish."""
    campaign_of(actor, campaign.id)
    actor = as_actor(actor)
    if campaign.closed_at is not None:
        raise GuardRefused("campaign_closed")
    campaign.closed_at = clock.now()
    db.session.flush()
    record(actor, "campaign.close", "campaign", campaign.id, before={"closed_at": None},
           after={"closed_at": campaign.closed_at.isoformat()}, unit=campaign.province,
           reason=(reason or "").strip() or None)
    return campaign


def describe(campaign: Campaign) -> dict[str, str]:
    """The campaign's dates as dd/mm/yyyy for messages and pages."""
    return {k: dmy(getattr(campaign, k)) for k in ("opens_on", *ORDER) if getattr(campaign, k) is not None}

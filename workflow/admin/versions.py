"""Rubric and approval-chain versions without a code change: an admin loads a new rubric version (a JSON file in
the format of workflow/data) and a province's approval-chain override with its validity; before a campaign moves
to a new rubric version, a re-score preview shows which files in flight would pass or fail under each version.
Files already created keep the rubric they are pinned to (invariant 6); switching a campaign affects new files
only. Every refusal names the field (its path in the file) with a message in Vietnamese and English."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from .. import chains, rubrics
from ..db import db
from ..errors import NotAuthorized, NotFound
from ..models import Application, ApprovalChain, Campaign, Rubric, Score, TitleType, Unit
from ..vocabulary import CLOSED_STATES, LEVELS, ROLES
from . import as_actor, record, require_admin
from .campaigns import Day
from .inputs import FIELD_MESSAGES, Input, InvalidInput, parse

FIELD_MESSAGES.update({
    "bad_json": ("Tệp không phải JSON hợp lệ (UTF-8).", "The file is not valid JSON (UTF-8)."),
    "rubric_version_exists": ("Phiên bản {version} đã được nạp với nội dung khác; hãy đặt cho tệp đã sửa một "
                              "phiên bản mới.",
                              "Version {version} is already loaded with other content; give the corrected file "
                              "a new version."),
    "duplicate_code": ("Mã {code} bị lặp.", "Code {code} repeats."),
    "unknown_title": ("Không có danh hiệu này.", "No such title."),
    "stages_mismatch": ("Các bước phải đúng là: {choices}.", "The stages must be exactly: {choices}."),
    "chain_overlap": ("Tỉnh đã có quy trình phê duyệt riêng cho danh hiệu này trong khoảng thời gian trùng.",
                      "The province already has its own approval chain of this title for an overlapping period."),
    "date_order": ("Ngày hết hiệu lực phải từ ngày bắt đầu trở về sau.", "Valid to must not be before valid from."),
    "wrong_title": ("Bộ tiêu chí này không thuộc danh hiệu của đợt.", "This rubric is not for the campaign's title."),
})


class _Open(BaseModel):
    """Parts of a rubric file: descriptive keys (sources, status, notes) are kept as they are."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


Text64 = Annotated[str, Field(min_length=1, max_length=64)]


class NameIn(_Open):
    vi: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class CriterionIn(_Open):
    code: Annotated[str, Field(min_length=1, max_length=32)]
    max: Annotated[int, Field(ge=1, le=1000)] | None = None
    levels: list[Annotated[int, Field(ge=1, le=9)]] | None = None
    evidence_required: bool = False
    name: NameIn


class GroupIn(_Open):
    code: Text64
    criteria: Annotated[list[CriterionIn], Field(min_length=1)]


class LevelIn(_Open):
    level: Annotated[int, Field(ge=1, le=9)]


class PassRuleIn(_Open):
    min_total: Annotated[int, Field(ge=0)] | None = None
    min_total_disadvantaged: Annotated[int, Field(ge=0)] | None = None
    min_each: Annotated[int, Field(ge=0)] | None = None


class RubricFileIn(_Open):
    """A rubric version file as in workflow/data/rubric_*.json."""

    title: Annotated[str, Field(min_length=1, max_length=16)]
    version: Text64
    kind: Literal["points", "met"]
    levels: list[LevelIn] | None = None
    pass_rule: PassRuleIn
    groups: Annotated[list[GroupIn], Field(min_length=1)]


class StageIn(Input):
    role: Literal[ROLES]  # type: ignore[valid-type]
    level: Literal[LEVELS]  # type: ignore[valid-type]


class ChainOverrideIn(Input):
    """A province's own approval chain of a title, valid from a day (to a day, or open)."""

    title: Annotated[str, Field(min_length=1, max_length=16)]
    valid_from: Day
    valid_to: Day | None = None
    stages: dict[str, StageIn]
    source: Annotated[str, Field(max_length=2000)] = ""


def _json(raw: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput({"file": ("bad_json", {})}) from None
    if not isinstance(data, dict):
        raise InvalidInput({"file": ("bad_json", {})})
    return data


def _require_some_admin(actor) -> Any:
    """Rubric versions are national reference data: any admin may add one (a version is immutable and changes
    nothing until a province's campaign is switched to it)."""
    actor = as_actor(actor)
    if not any(g.role == "admin" for g in actor.grants):
        raise NotAuthorized("admin_required")
    return actor


def validate_rubric(definition: Mapping[str, Any]) -> RubricFileIn:
    """The shape and the rules the engine relies on, every wrong field at once with its path."""
    data = parse(RubricFileIn, definition)
    fields: dict[str, tuple[str, dict[str, Any]]] = {}
    if db.session.get(TitleType, data.title) is None:
        fields["title"] = ("unknown_title", {})
    if data.kind == "points":
        for key in ("min_total", "min_total_disadvantaged", "min_each"):
            if getattr(data.pass_rule, key) is None:
                fields[f"pass_rule.{key}"] = ("required", {})
    seen: set[str] = set()
    for gi, g in enumerate(data.groups):
        for ci, c in enumerate(g.criteria):
            where = f"groups.{gi}.criteria.{ci}"
            if c.code in seen:
                fields[f"{where}.code"] = ("duplicate_code", {"code": c.code})
            seen.add(c.code)
            if data.kind == "points" and c.max is None:
                fields[f"{where}.max"] = ("required", {})
    if fields:
        raise InvalidInput(fields)
    return data


def load_rubric(actor, raw: bytes | str | Mapping[str, Any]) -> Rubric:
    """Validate and store a new rubric version (audited "rubric.load"); the same file again is a no-op, other
    content under a loaded version is refused (publish a new version instead)."""
    actor = _require_some_admin(actor)
    definition = _json(raw)
    validate_rubric(definition)
    rubrics.parse(definition)
    digest = rubrics.content_hash(definition)
    row = db.session.scalar(select(Rubric).filter_by(title_code=definition["title"], version=definition["version"]))
    if row is not None:
        if row.sha256 != digest:
            raise InvalidInput({"version": ("rubric_version_exists", {"version": definition["version"]})})
        return row
    row = Rubric(title_code=definition["title"], version=definition["version"], kind=definition["kind"],
                 definition=definition, sha256=digest)
    db.session.add(row)
    db.session.flush()
    record(actor, "rubric.load", "rubric", row.id, after={"title": row.title_code, "version": row.version,
                                                          "kind": row.kind, "sha256": digest})
    return row


def load_chain_override(actor, province: Unit, raw: bytes | str | Mapping[str, Any]) -> ApprovalChain:
    """A province's own approval chain of a title from `valid_from` (audited "chain.load"): the stages are
    those of the title's national chain, the periods of one province's overrides never overlap."""
    actor = require_admin(actor, province)
    if province.level != "province":
        raise InvalidInput({"province_id": ("not_province", {})})
    data = parse(ChainOverrideIn, _json(raw))
    defaults = list(db.session.scalars(select(ApprovalChain).where(
        ApprovalChain.title_code == data.title, ApprovalChain.province_id.is_(None))))
    if not defaults:
        raise InvalidInput({"title": ("unknown_title", {})})
    fields: dict[str, tuple[str, dict[str, Any]]] = {}
    expected = list(defaults[-1].stages)
    if set(data.stages) != set(expected):
        fields["stages"] = ("stages_mismatch", {"choices": ", ".join(expected)})
    if data.valid_to is not None and data.valid_to < data.valid_from:
        fields["valid_to"] = ("date_order", {})
    if not fields:
        for other in db.session.scalars(select(ApprovalChain).where(
                ApprovalChain.title_code == data.title, ApprovalChain.province_id == province.id)):
            if (other.valid_to is None or data.valid_from <= other.valid_to) and (
                    data.valid_to is None or other.valid_from <= data.valid_to):
                fields["valid_from"] = ("chain_overlap", {})
    if fields:
        raise InvalidInput(fields)
    row = ApprovalChain(code=f"{data.title}-{province.code}-{data.valid_from.isoformat()}"[:64],
                        title_code=data.title, province_id=province.id, valid_from=data.valid_from,
                        valid_to=data.valid_to, source=data.source,
                        stages={k: {"role": s.role, "level": s.level} for k, s in data.stages.items()})
    db.session.add(row)
    db.session.flush()
    chains.clear_cache()
    record(actor, "chain.load", "approval_chain", row.id, unit=province, after={
        "code": row.code, "title": row.title_code, "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None, "stages": row.stages})
    return row


@dataclass
class PreviewRow:
    application_id: int
    name: str
    unit_name: str
    state: str
    old_version: str
    old_total: int
    old_pass: bool
    new_total: int
    new_pass: bool
    missing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old_pass != self.new_pass


@dataclass
class Preview:
    campaign: Campaign
    rubric: Rubric
    rows: list[PreviewRow]

    @property
    def counts(self) -> dict[str, int]:
        return {"files": len(self.rows), "old_pass": sum(r.old_pass for r in self.rows),
                "old_fail": sum(not r.old_pass for r in self.rows), "new_pass": sum(r.new_pass for r in self.rows),
                "new_fail": sum(not r.new_pass for r in self.rows)}

    @property
    def changed(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.changed]


def _judge(spec: rubrics.RubricSpec, values: dict[str, int], level: int, disadvantaged: bool) -> tuple[int, bool]:
    total, lowest, count = spec.summarise(values, level)
    return total, spec.passes(total, lowest, count, level=level, disadvantaged=disadvantaged)


def rescore_preview(campaign: Campaign, new_rubric: Rubric) -> Preview:
    """The campaign's files in flight judged with their current scores under their pinned rubric and under
    `new_rubric` (criteria the new version lacks are missing, so such a file is incomplete). Reads only."""
    if new_rubric.title_code != campaign.title_code:
        raise InvalidInput({"rubric_id": ("wrong_title", {})})
    new = rubrics.spec(new_rubric.id)
    apps = list(db.session.scalars(select(Application).where(
        Application.campaign_id == campaign.id, Application.state.not_in(CLOSED_STATES)).order_by(Application.id)))
    values: dict[int, dict[str, int]] = {a.id: {} for a in apps}
    if apps:
        for s in db.session.scalars(select(Score).where(Score.application_id.in_(list(values)))):
            values[s.application_id][s.criterion_code] = s.value
    rows = []
    for a in apps:
        old = rubrics.spec(a.rubric_id)
        disadvantaged = a.unit.area_class == "disadvantaged"
        old_total, old_pass = _judge(old, values[a.id], a.target_level, disadvantaged)
        new_total, new_pass = _judge(new, values[a.id], a.target_level, disadvantaged)
        missing = [c.code for c in new.scored_for(a.target_level) if c.code not in values[a.id]]
        rows.append(PreviewRow(a.id, a.full_name or a.unit.name, a.unit.name, a.state, old.version, old_total,
                               old_pass, new_total, new_pass, missing))
    return Preview(campaign, new_rubric, rows)


def rubric_for(campaign: Campaign, rubric_id: int | None) -> Rubric:
    """A rubric version of the campaign's title, or a field error."""
    row = db.session.get(Rubric, rubric_id) if rubric_id else None
    if row is None:
        raise InvalidInput({"rubric_id": ("unknown_rubric", {})})
    if row.title_code != campaign.title_code:
        raise InvalidInput({"rubric_id": ("wrong_title", {})})
    return row


def switch_campaign_rubric(actor, campaign: Campaign, rubric: Rubric) -> Campaign:
    """New files of the campaign get `rubric`; files already created keep the version they are pinned to."""
    actor = require_admin(actor, campaign.province)
    if campaign.province is None:
        raise NotFound("campaign_not_found")
    rubric = rubric_for(campaign, rubric.id)
    before = {"rubric_id": campaign.rubric_id, "version": campaign.rubric.version}
    if campaign.rubric_id == rubric.id:
        return campaign
    campaign.rubric_id = rubric.id
    campaign.rubric = rubric
    db.session.flush()
    record(actor, "campaign.rubric", "campaign", campaign.id, unit=campaign.province, before=before,
           after={"rubric_id": rubric.id, "version": rubric.version})
    return campaign

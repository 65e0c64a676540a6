"""Versions of a title's definition (issue 14 §3): the stages a file passes through, in order. A file keeps the
version it was created under (Application.definition_id; NULL is the version titles.json ships); a new version
applies to files created after it is loaded. Moving files in flight to a newer version is never implicit: the dry
run (`plan`) says which file would move to which state and which would be refused and why; `migrate` does exactly
that for the admin's province, one audit event per file and one for the whole migration.

A new version names, for each state of the old versions it no longer has, the state a file there moves to
("state_map"); a file in a state with no place in the new version is refused, as is one whose target stage has
nobody to act in its province's approval chain today. Closed files (recognised, rejected ...) keep their version."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import and_, func, insert, or_, select, update

from .. import chains, clock, definitions
from ..db import db
from ..errors import NotFound
from ..loader import DataError, load_definition
from ..models import Application, AuditEvent, Campaign, TitleDefinition, TitleType, Unit
from ..vocabulary import CLOSED_STATES, STATES
from . import record, require_admin
from .inputs import FIELD_MESSAGES, Input, InvalidInput, parse
from .versions import _json, _require_some_admin

FIELD_MESSAGES.update({
    "definition_version_exists": ("Phiên bản {version} đã được nạp với nội dung khác; hãy đặt phiên bản mới.",
                                  "Version {version} is already loaded with other content; give it a new version."),
    "stage_unknown": ("Bước «{stage}» không có trong hệ thống.", "There is no stage «{stage}»."),
    "map_target": ("Trạng thái đích «{stage}» không thuộc các bước của phiên bản này.",
                   "The target state «{stage}» is not a stage of this version."),
})
REFUSALS = {
    "no_place": ("Trạng thái {state} không có trong phiên bản mới và không được chỉ định bước chuyển tới.",
                 "State {state} is not in the new version and the version names no state to move to."),
    "no_actor": ("Quy trình phê duyệt của tỉnh không có ai xử lý bước {state}.",
                 "The province's approval chain names nobody for the stage {state}."),
}
OPEN_STAGES = tuple(s for s in STATES if s not in CLOSED_STATES)
Stage = Literal[OPEN_STAGES]  # type: ignore[valid-type]


class DefinitionIn(Input):
    """A title's definition version, as a titles.json entry with a "state_map" for the states it drops."""

    code: Annotated[str, Field(min_length=1, max_length=16)]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    stages: Annotated[list[Stage], Field(min_length=1, max_length=len(OPEN_STAGES))]
    state_map: dict[Stage, Stage] = {}
    name_vi: str | None = None
    name_en: str | None = None
    subject_kind: str | None = None
    rubric: str | None = None
    source: Annotated[str, Field(max_length=2000)] = ""
    validity: dict[str, Any] | None = None
    calendar: dict[str, Any] | None = None


def load(actor, raw: bytes | str | Mapping[str, Any]) -> TitleDefinition:
    """Validate and store a new definition version (audited "definition.load"); files in flight keep theirs."""
    actor = _require_some_admin(actor)
    content = _json(raw)
    data = parse(DefinitionIn, content)
    fields: dict[str, tuple[str, dict[str, Any]]] = {}
    title = db.session.get(TitleType, data.code)
    if title is None:
        fields["code"] = ("unknown_title", {})
    for i, stage in enumerate(data.stages):
        if data.stages.index(stage) != i:
            fields[f"stages.{i}"] = ("duplicate_code", {"code": stage})
    for source, target in data.state_map.items():
        if target not in data.stages:
            fields[f"state_map.{source}"] = ("map_target", {"stage": target})
    if fields:
        raise InvalidInput(fields)
    shipped = definitions.shipped()[data.code]
    stored = {k: v for k, v in shipped.items() if k not in ("version", "stages")} | {
        k: v for k, v in content.items() if v is not None}
    try:
        row = load_definition(stored)
    except DataError:
        raise InvalidInput({"version": ("definition_version_exists", {"version": data.version})}) from None
    record(actor, "definition.load", "title_definition", row.id,
           after={"title": row.title_code, "version": row.version, "stages": stored["stages"],
                  "state_map": stored.get("state_map", {}), "sha256": row.sha256})
    return row


def versions(title: str) -> list[TitleDefinition]:
    return list(db.session.scalars(select(TitleDefinition).where(TitleDefinition.title_code == title)
                                   .order_by(TitleDefinition.id)))


@dataclass(frozen=True)
class Move:
    """One group of the dry run: the files of one version in one state, and where they go (or why not)."""

    from_definition: int | None
    from_version: str
    from_state: str
    to_state: str | None
    refusal: str | None  # a key of REFUSALS
    files: int

    @property
    def moves(self) -> bool:
        return self.refusal is None


@dataclass
class PlanRow:
    application_id: int
    name: str
    unit_name: str
    campaign: str
    from_version: str
    from_state: str
    to_state: str | None
    refusal: str | None

    @property
    def moves(self) -> bool:
        return self.refusal is None


@dataclass
class Plan:
    """The dry run, by group (one GROUP BY however many files: a province's two million read as a few rows);
    `rows` reads the files themselves, for the page's first ones and the CSV."""

    title: str
    target: TitleDefinition
    province: Unit
    groups: list[Move]
    moved: int | None = None  # after a migration: the files it moved

    @property
    def counts(self) -> dict[str, int]:
        return {"files": sum(g.files for g in self.groups), "moving": sum(g.files for g in self.groups if g.moves),
                "refused": sum(g.files for g in self.groups if not g.moves),
                "state_changes": sum(g.files for g in self.groups if g.moves and g.to_state != g.from_state)}

    def _scope(self):
        versions_ = {r.id for r in versions(self.title)}
        first = min(versions_)
        on_target = Application.definition_id == self.target.id
        if self.target.id == first:  # files without a pinned version follow the first
            on_target = or_(on_target, Application.definition_id.is_(None))
        return and_(Application.campaign_id.in_(select(Campaign.id).where(
            Campaign.title_code == self.title, Campaign.province_id == self.province.id)),
            Application.state.not_in(CLOSED_STATES), ~on_target), first

    def rows(self, limit: int | None = None) -> list[PlanRow]:
        where, first = self._scope()
        by_key = {(g.from_definition or first, g.from_state): g for g in self.groups}
        stmt = (select(Application.id, Application.full_name, Unit.name, Campaign.name, Application.definition_id,
                       Application.state)
                .join(Campaign, Campaign.id == Application.campaign_id).join(Unit, Unit.id == Application.unit_id)
                .where(where).order_by(Application.id).limit(limit))
        out = []
        for app_id, name, unit_name, campaign, def_id, state in db.session.execute(stmt):
            g = by_key[(def_id or first, state)]
            out.append(PlanRow(app_id, name or unit_name, unit_name, campaign, g.from_version, state, g.to_state,
                               g.refusal))
        return out


def refusal_text(row: PlanRow | Move, locale: str | None) -> str:
    from ..labels import stage_label

    vi, en = REFUSALS[row.refusal]
    return (en if locale == "en" else vi).format(state=stage_label(row.to_state or row.from_state, locale))


def target_version(title: str, definition_id: int | None) -> TitleDefinition:
    row = db.session.get(TitleDefinition, definition_id) if definition_id else None
    if row is None or row.title_code != title:
        raise NotFound("not_found")
    return row


def plan(actor, province: Unit, title: str, target: TitleDefinition) -> Plan:
    """The dry run: the province's files of `title` in flight under another version, grouped by version and
    state, each group with the state it would move to or why it would be refused. Reads only."""
    require_admin(actor, province)
    new = definitions.by_id(target.id)
    state_map = dict(target.content.get("state_map") or {})
    chain = chains.chain_for(title, province.id, clock.today())
    labels = {r.id: r.version for r in versions(title)}
    result = Plan(title, target, province, [])
    where, first = result._scope()
    for def_id, state, files in db.session.execute(
            select(Application.definition_id, Application.state, func.count()).where(where)
            .group_by(Application.definition_id, Application.state)
            .order_by(Application.definition_id, Application.state)):
        to = state if state in new.stages else state_map.get(state)
        refusal = "no_place" if to is None else None if to in chain.stages else "no_actor"
        result.groups.append(Move(def_id, labels.get(def_id or first, "1"), state, to, refusal, files))
    return result


def migrate(actor, province: Unit, title: str, target: TitleDefinition) -> Plan:
    """Move every file the dry run would move, as it would (the plan is recomputed here, in the same
    transaction), set-wise: one UPDATE per group of the plan, its version bumped and its state changed where the
    plan says, one audit event ("migrate") per file written from the rows the UPDATE returns, and one
    "definition.migrate" for the whole. The caller commits."""
    actor = require_admin(actor, province)
    result = plan(actor, province, title, target)
    now = clock.now()
    apps = Application.__table__
    where, first = result._scope()
    moved = state_changes = 0
    for g in result.groups:
        if not g.moves:
            continue
        same = (apps.c.definition_id.is_(None) | (apps.c.definition_id == first)) if g.from_definition in (
            None, first) else apps.c.definition_id == g.from_definition
        values: dict[str, Any] = {"definition_id": target.id, "version": apps.c.version + 1}
        if g.to_state != g.from_state:
            values.update(state=g.to_state, state_changed_at=now, last_action="migrate")
        ids = db.session.execute(update(apps).where(where, apps.c.state == g.from_state, same).values(**values)
                                 .returning(apps.c.id)).scalars().all()
        if not ids:
            continue
        moved += len(ids)
        state_changes += len(ids) if g.to_state != g.from_state else 0
        payload = {"from_version": g.from_version, "to_version": target.version, "definition_id": target.id}
        for chunk in range(0, len(ids), 5000):
            db.session.execute(insert(AuditEvent.__table__), [{
                "application_id": i, "actor_id": actor.id, "actor_name": actor.username, "action": "migrate",
                "from_state": g.from_state, "to_state": g.to_state, "reason": None, "payload": payload,
                "created_at": now} for i in sorted(ids[chunk:chunk + 5000])])
    record(actor, "definition.migrate", "title_definition", target.id, unit=province,
           after={"title": title, "version": target.version, "moved": moved,
                  "refused": result.counts["refused"], "state_changes": state_changes})
    db.session.expire_all()
    result.moved = moved
    return result

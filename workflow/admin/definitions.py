"""Versions of a title's definition (issue 14 §3): the stages a file passes through, in order. A file keeps the
version it was created under (Application.definition_id; NULL is the title's first version). A version is national
reference data: loading one changes nothing by itself. A province adopts it with `migrate`: its campaigns of the
title then give new files that version, and its files in flight move to it, never implicitly. The dry run (`plan`)
says which files would move to which state and which would be refused and why; `migrate` does exactly what the
dry run the admin read said (a plan changed meanwhile is refused), one audit event per file and one for the whole.

A new version names, for each state of the old versions it no longer has, the state a file there moves to
("state_map"); a file in a state with no place in the new version is refused, as is one whose target stage has
nobody to act in its province's approval chain today. A version whose stages the province's chain does not staff
cannot be adopted (its new files would stop at the first unstaffed stage). Closed files keep their version."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import and_, func, insert, select, update

from .. import chains, clock, definitions
from ..db import db
from ..errors import MESSAGES, Conflict, GuardRefused, NotFound
from ..loader import DataError, load_definition
from ..models import Application, AuditEvent, Campaign, TitleDefinition, TitleType, Unit
from ..vocabulary import CLOSED_STATES, STATES
from . import record, require_admin
from .inputs import FIELD_MESSAGES, Input, InvalidInput, parse
from .versions import _json, _require_some_admin

FIELD_MESSAGES.update({
    "definition_version_exists": ("Phiên bản {version} đã được nạp với nội dung khác; hãy đặt phiên bản mới.",
                                  "Version {version} is already loaded with other content; give it a new version."),
    "map_target": ("Trạng thái đích «{stage}» không thuộc các bước của phiên bản này.",
                   "The target state «{stage}» is not a stage of this version."),
})
MESSAGES.update({
    "plan_changed": ("Hồ sơ đã thay đổi từ lúc xem thử: hãy xem lại bản xem thử rồi mới chuyển.",
                     "Files have changed since the dry run: read the dry run again before migrating."),
    "stages_unstaffed": ("Quy trình phê duyệt của tỉnh không có ai xử lý bước: {stages}. Hãy nạp quy trình riêng "
                         "của tỉnh trước.",
                         "The province's approval chain names nobody for: {stages}. Load the province's own chain "
                         "first."),
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
    """A title's definition version: its stages in order and a "state_map" for the states it drops. The rest of
    a title (subject kind, validity ...) stays the shipped data's, one rule per title."""

    code: Annotated[str, Field(min_length=1, max_length=16)]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    stages: Annotated[list[Stage], Field(min_length=1, max_length=len(OPEN_STAGES))]
    state_map: dict[Stage, Stage] = {}
    source: Annotated[str, Field(max_length=2000)] = ""


def load(actor, raw: bytes | str | Mapping[str, Any]) -> TitleDefinition:
    """Validate and store a new definition version (audited "definition.load"). National data, as a rubric
    version: it changes nothing until a province adopts it (`migrate`)."""
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
    stored = {k: v for k, v in shipped.items() if k not in ("version", "stages", "source")} | data.model_dump()
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

    from_definition: int
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
    campaigns: int = 0  # the province's campaigns of the title that would take the version for their new files
    unstaffed: list[str] = field(default_factory=list)  # stages of the version the province's chain leaves empty
    moved: int | None = None  # after a migration: the files it moved

    @property
    def counts(self) -> dict[str, int]:
        return {"files": sum(g.files for g in self.groups), "moving": sum(g.files for g in self.groups if g.moves),
                "refused": sum(g.files for g in self.groups if not g.moves),
                "state_changes": sum(g.files for g in self.groups if g.moves and g.to_state != g.from_state),
                "campaigns": self.campaigns}

    @property
    def fingerprint(self) -> str:
        """What the admin read: the migration is refused when the plan it would carry out differs."""
        text = repr((self.target.id, self.campaigns, sorted((g.from_definition, g.from_state, g.files)
                                                            for g in self.groups)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rows(self, limit: int | None = None) -> list[PlanRow]:
        labels, new, state_map, chain = _context(self.title, self.target, self.province)
        first = min(labels)
        pinned = func.coalesce(Application.definition_id, first)
        stmt = (select(Application.id, Application.full_name, Unit.name, Campaign.name, pinned, Application.state)
                .join(Campaign, Campaign.id == Application.campaign_id).join(Unit, Unit.id == Application.unit_id)
                .where(_in_flight(self.title, self.province), pinned != self.target.id)
                .order_by(Application.id).limit(limit))
        out = []
        for app_id, name, unit_name, campaign, def_id, state in db.session.execute(stmt):
            to, refusal = _move(state, new, state_map, chain)
            out.append(PlanRow(app_id, name or unit_name, unit_name, campaign, labels.get(def_id, "1"), state, to,
                               refusal))
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


def _in_flight(title: str, province: Unit):
    return and_(Application.campaign_id.in_(select(Campaign.id).where(Campaign.title_code == title,
                                                                       Campaign.province_id == province.id)),
                Application.state.not_in(CLOSED_STATES))


def _context(title: str, target: TitleDefinition, province: Unit):
    labels = {r.id: r.version for r in versions(title)}
    state_map = dict(target.content.get("state_map") or {})
    return labels, definitions.by_id(target.id), state_map, chains.chain_for(title, province.id, clock.today())


def _move(state: str, new, state_map: dict[str, str], chain) -> tuple[str | None, str | None]:
    """Where a file in `state` goes under the new version, or why it cannot (the one rule of the dry run)."""
    to = state if state in new.stages else state_map.get(state)
    if to is None:
        return None, "no_place"
    return to, None if to in chain.stages else "no_actor"


def plan(actor, province: Unit, title: str, target: TitleDefinition) -> Plan:
    """The dry run: the province's files of `title` in flight under another version, grouped by version and
    state, each group with the state it would move to or why it would be refused; the campaigns that would take
    the version; the version's stages the province's chain does not staff. Reads only."""
    require_admin(actor, province)
    labels, new, state_map, chain = _context(title, target, province)
    first = min(labels)
    pinned = func.coalesce(Application.definition_id, first)
    result = Plan(title, target, province, [], unstaffed=[s for s in new.stages if s not in chain.stages])
    result.campaigns = db.session.scalar(select(func.count()).select_from(Campaign).where(
        Campaign.title_code == title, Campaign.province_id == province.id,
        func.coalesce(Campaign.definition_id, first) != target.id)) or 0
    for def_id, state, files in db.session.execute(
            select(pinned, Application.state, func.count()).where(_in_flight(title, province), pinned != target.id)
            .group_by(pinned, Application.state).order_by(pinned, Application.state)):
        to, refusal = _move(state, new, state_map, chain)
        result.groups.append(Move(def_id, labels.get(def_id, "1"), state, to, refusal, files))
    return result


def migrate(actor, province: Unit, title: str, target: TitleDefinition, *, expected: str | None = None) -> Plan:
    """The province adopts `target`: its campaigns of the title give new files this version, and every file the
    dry run would move moves as it says, set-wise (one UPDATE per group, RETURNING the ids; one "migrate" audit
    event per file; one "definition.migrate" for the whole). `expected` is the fingerprint of the dry run the
    admin read: a plan changed meanwhile is refused. The caller commits."""
    actor = require_admin(actor, province)
    result = plan(actor, province, title, target)
    if expected is not None and expected != result.fingerprint:
        raise Conflict("plan_changed")
    if result.unstaffed:
        from ..labels import stage_label

        raise GuardRefused("stages_unstaffed", stages=", ".join(stage_label(s, "vi") for s in result.unstaffed))
    now = clock.now()
    apps = Application.__table__
    first = definitions.first_id(title)  # the version a file without one follows
    pinned = func.coalesce(apps.c.definition_id, first)
    moved = state_changes = 0
    for g in result.groups:
        if not g.moves:
            continue
        values: dict[str, Any] = {"definition_id": target.id, "version": apps.c.version + 1}
        if g.to_state != g.from_state:
            values.update(state=g.to_state, state_changed_at=now, last_action="migrate")
        ids = db.session.execute(update(apps).where(_in_flight(title, province), apps.c.state == g.from_state,
                                                    pinned == g.from_definition).values(**values)
                                 .returning(apps.c.id)).scalars().all()
        moved += len(ids)
        state_changes += len(ids) if g.to_state != g.from_state else 0
        payload = {"from_version": g.from_version, "to_version": target.version, "definition_id": target.id}
        for chunk in range(0, len(ids), 5000):
            db.session.execute(insert(AuditEvent.__table__), [{
                "application_id": i, "actor_id": actor.id, "actor_name": actor.username, "action": "migrate",
                "from_state": g.from_state, "to_state": g.to_state, "reason": None, "payload": payload,
                "created_at": now} for i in sorted(ids[chunk:chunk + 5000])])
    switched = db.session.execute(update(Campaign).where(
        Campaign.title_code == title, Campaign.province_id == province.id,
        func.coalesce(Campaign.definition_id, first) != target.id).values(definition_id=target.id)
        .execution_options(synchronize_session=False)).rowcount
    record(actor, "definition.migrate", "title_definition", target.id, unit=province,
           after={"title": title, "version": target.version, "moved": moved, "campaigns": switched,
                  "refused": result.counts["refused"], "state_changes": state_changes})
    db.session.expire_all()
    result.moved = moved
    return result

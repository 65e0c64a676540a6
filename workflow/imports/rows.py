"""From read cells to nominations: who may file where (once per job), the header row, and each row judged by the
same declared input (workflow.declared.NominationInput) and rubric as a nomination typed by hand. Pure: nothing
here writes; the rows come out either valid (ready for workflow.imports.store) or with their errors."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from .. import definitions, operations, subjects
from ..admin.inputs import FIELD_MESSAGES, InvalidInput, parse
from ..authz import Actor
from ..chains import chain_for
from ..db import db
from ..declared import NominationInput
from ..errors import MESSAGES, GuardRefused, NotAuthorized, WorkflowError
from ..models import Campaign, Unit
from ..rubrics import RubricSpec, spec
from ..text import fold
from . import cells
from .reader import ImportRefused, Sheet
from .template import ERROR_COLUMN, FIELD_COLUMN, SAMPLE_CITIZEN_ID, Column, columns, header_key

KIND_WORDS = ("to dan pho ", "chi hoi ", "thi tran ", "dac khu ", "phuong ", "thon ", "xa ", "xom ", "ap ", "ban ")
MAX_STORED_ERRORS = 1000


def message(code: str, params: dict[str, Any], locale: str = "vi") -> str:
    """A code's message from the engine's table or the declared inputs' field table."""
    vi, en = MESSAGES.get(code) or FIELD_MESSAGES.get(code) or FIELD_MESSAGES["invalid"]
    return (en if locale.startswith("en") else vi).format_map(defaultdict(str, params))


def error_entry(row: int, column: str, code: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"row": row, "column": column, "code": code, "message_vi": message(code, params, "vi"),
            "message_en": message(code, params, "en")}


@dataclass(frozen=True, slots=True)
class Place:
    id: int
    name: str
    path: str
    label: str  # the name with its parent's, to tell namesakes apart in a message


class Names:
    """Units by name: exact (NFC) first, then folded (no case, no diacritics), then folded without the kind word
    ("xa Dong Tien" = "Xã Đồng Tiến" = "Đồng Tiến"). A folded name shared by several units is ambiguous."""

    def __init__(self, places: list[Place]) -> None:
        self.exact: dict[str, list[Place]] = defaultdict(list)
        self.folded: dict[str, list[Place]] = defaultdict(list)
        self.bare: dict[str, list[Place]] = defaultdict(list)
        for p in places:
            self.exact[p.name].append(p)
            self.folded[fold(p.name)].append(p)
            self.bare[_bare(fold(p.name))].append(p)
            self.exact[p.label].append(p)  # "Chi hội thôn 1 (Xã Đông Phong)": a namesake told apart
            self.folded[fold(p.label)].append(p)

    def find(self, name: str) -> Place | list[Place] | None:
        """One place, a list of namesakes (ambiguous), or None."""
        for index, key in ((self.exact, name), (self.folded, fold(name)), (self.bare, _bare(fold(name)))):
            found = index.get(key)
            if found:
                return found[0] if len(found) == 1 else found
        return None


def _bare(folded: str) -> str:
    for word in KIND_WORDS:
        if folded.startswith(word):
            return folded[len(word):]
    return folded


@dataclass
class Context:
    """What every row of one job is judged against, loaded once."""

    campaign: Campaign
    unit: Unit
    actor: Actor
    rubric: RubricSpec
    first_stage: str
    scored_stage: str
    branches: Names
    branch_list: list[Place]
    residences: dict[int, Names] = field(default_factory=dict)  # by branch id (preload)
    groups: dict[str, str] = field(default_factory=dict)  # folded code or name -> code
    # plain copies, so that rows are judged without touching the ORM (the judging runs beside the writes)
    campaign_id: int = 0
    province_id: int = 0
    unit_id: int = 0
    unit_name: str = ""
    score_columns: tuple[Column, ...] = ()

    @classmethod
    def build(cls, campaign: Campaign, unit: Unit, actor: Actor) -> Context:
        """Scope, role and deadline through operations.require_can_create, for each branch the actor may file at
        under `unit`; refused (with the first reason) when there is none."""
        if subjects.kind_of(campaign.title_code) != "person":  # households, clans ...: their memberships import
            raise ImportRefused("nominees_person_only")
        if not unit.path.startswith(f"/{campaign.province_id}/"):
            raise GuardRefused("unit_outside_campaign", unit=unit.name)
        if not (actor.covers(unit.path) or any(g.unit_path.startswith(unit.path) for g in actor.grants)):
            raise NotAuthorized("outside_scope")
        first = definitions.for_campaign(campaign).stages[0]
        level = chain_for(campaign.title_code, campaign.province_id, _today()).stages[first].level
        parent = db.aliased(Unit)
        candidates = db.session.execute(
            select(Unit, parent.name).outerjoin(parent, parent.id == Unit.parent_id)
            .where(Unit.level == level, Unit.path.startswith(unit.path)).order_by(Unit.path)).all()
        allowed, refusal = [], None
        for branch, parent_name in candidates:
            try:
                operations.require_can_create(campaign, branch, actor)
            except WorkflowError as exc:
                refusal = refusal or exc
                continue
            allowed.append(Place(branch.id, branch.name, branch.path, f"{branch.name} ({parent_name or ''})"))
        if not allowed:
            if isinstance(refusal, GuardRefused):  # deadline passed, campaign closed: the real reason
                raise refusal
            raise NotAuthorized("nominees_no_branch", unit=unit.name)
        rubric = spec(campaign.rubric_id)
        d = definitions.for_campaign(campaign)
        groups: dict[str, str] = {}
        for f in (campaign.rubric.definition or {}).get("frameworks", []):
            groups[fold(f["code"])] = f["code"]
            groups[fold(f["name"]["vi"])] = f["code"]
        return cls(campaign, unit, actor, rubric, d.stages[0], d.stages[1], Names(allowed), allowed, groups=groups,
                   campaign_id=campaign.id, province_id=campaign.province_id, unit_id=unit.id, unit_name=unit.name,
                   score_columns=tuple(c for c in columns(campaign) if c.criterion is not None))

    def residences_of(self, branch: Place) -> Names:
        """Where a nominee of this branch may live (operations.residence_allowed: the branch's commune and what
        the actor's grants cover), by name; loaded in one query for every branch of the job (`preload`)."""
        if not self.residences:
            self.preload()
        return self.residences[branch.id]

    def preload(self) -> None:
        """Load every branch's residences now, so that judging rows needs no database (it runs in a thread)."""
        scopes = {b.id: operations.residence_scope(_Unit(b)) for b in self.branch_list}
        grants = tuple(g.unit_path for g in self.actor.grants)
        wanted = set(scopes.values()) | set(grants)
        buckets: dict[str, list[Place]] = defaultdict(list)
        parent = db.aliased(Unit)
        for u_id, name, path, parent_name in db.session.execute(
                select(Unit.id, Unit.name, Unit.path, parent.name).outerjoin(parent, parent.id == Unit.parent_id)
                .where(Unit.path.startswith(f"/{self.province_id}/"),
                       Unit.level.in_(("commune", "village", "branch")))):
            place = Place(u_id, name, path, f"{name} ({parent_name or ''})")
            parts = path.split("/")
            for depth in range(2, len(parts)):
                prefix = "/".join(parts[:depth]) + "/"
                if prefix in wanted:
                    buckets[prefix].append(place)
        for branch in self.branch_list:
            places = {p.id: p for prefix in (scopes[branch.id], *grants) for p in buckets.get(prefix, ())}
            self.residences[branch.id] = Names(list(places.values()))


@dataclass(frozen=True, slots=True)
class _Unit:
    """Enough of a unit for operations.residence_scope."""

    place: Place

    @property
    def level(self) -> str:
        return "branch"

    @property
    def path(self) -> str:
        return self.place.path


def _today() -> date:
    from .. import clock

    return clock.today()


@dataclass(frozen=True, slots=True)
class ValidRow:
    row: int
    unit_id: int
    full_name: str
    date_of_birth: date
    citizen_id: str
    subject_group: str | None
    residence_id: int | None
    scores: dict[str, int]


@dataclass(frozen=True, slots=True)
class Judged:
    row: int
    valid: ValidRow | None
    errors: list[dict[str, Any]]


def match_headers(header: list[Any], campaign: Campaign) -> dict[str, int]:
    """Column key -> index in the row; refused naming the missing and unknown columns."""
    wanted = {header_key(c.header): c for c in columns(campaign)}
    found: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(header):
        key = header_key(cells.text(cell) or "")
        if not key or key == header_key(ERROR_COLUMN):
            continue
        column = wanted.get(key)
        if column is None or column.key in found:
            unknown.append(cells.text(cell) or "")
            continue
        found[column.key] = index
    missing = [c.header for c in wanted.values() if c.required and c.key not in found]
    if missing or unknown:
        raise ImportRefused("nominees_headers", missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-")
    return found


def data_rows(sheet: Sheet, index: dict[str, int]) -> list[tuple[int, list[Any]]]:
    """The rows to import: the template's sample row left out."""
    at = index["citizen_id"]
    return [(n, r) for n, r in sheet.rows if not (at < len(r) and cells.text(r[at]) == SAMPLE_CITIZEN_ID)]


def judge(ctx: Context, number: int, row: list[Any], index: dict[str, int], formulas: set[tuple[int, int]],
          score_columns: list[Column]) -> Judged:
    """One row: cells typed, then the declared input and the rubric; every problem of the row at once."""
    errors: list[dict[str, Any]] = []

    def cell(key: str) -> Any:
        at = index.get(key)
        if at is None or at >= len(row):
            return None
        if formulas and (number, at) in formulas:
            raise cells.CellError("row_formula")
        return row[at]

    def typed(key: str, convert, *args, label: str | None = None):
        try:
            return convert(cell(key), *args)
        except cells.CellError as exc:
            errors.append(error_entry(number, label or FIELD_COLUMN.get(key, key), exc.code, exc.params))
            return _BAD

    full_name = typed("full_name", cells.text)
    born = typed("date_of_birth", cells.birth_date)
    cid = typed("citizen_id", cells.citizen_id)
    group_text = typed("subject_group", cells.text)
    residence_text = typed("residence", cells.text)
    branch_text = typed("branch", cells.text)

    branch = None
    if branch_text is None:
        if len(ctx.branch_list) == 1:
            branch = ctx.branch_list[0]
        else:
            errors.append(error_entry(number, "Chi hội", "row_branch_required",
                                      {"choices": ", ".join(p.name for p in ctx.branch_list[:10])}))
    elif branch_text is not _BAD:
        found = ctx.branches.find(branch_text)
        if isinstance(found, list):
            errors.append(error_entry(number, "Chi hội", "row_ambiguous_unit",
                                      {"name": branch_text, "choices": "; ".join(p.label for p in found[:10])}))
        elif found is None:
            errors.append(error_entry(number, "Chi hội", "row_unknown_branch",
                                      {"name": branch_text, "unit": ctx.unit_name}))
        else:
            branch = found

    residence_id = None
    if residence_text not in (None, _BAD) and branch is not None:
        found = ctx.residences_of(branch).find(residence_text)
        if isinstance(found, list):
            errors.append(error_entry(number, "Nơi cư trú", "row_ambiguous_unit",
                                      {"name": residence_text, "choices": "; ".join(p.label for p in found[:10])}))
        elif found is None:
            errors.append(error_entry(number, "Nơi cư trú", "row_unknown_residence", {"name": residence_text}))
        else:
            residence_id = found.id

    group = None
    if group_text not in (None, _BAD):
        group = ctx.groups.get(fold(group_text))
        if group is None:
            errors.append(error_entry(number, "Nhóm đối tượng", "row_subject_group",
                                      {"value": group_text, "choices": ", ".join(ctx.rubric.frameworks)}))
    elif group_text is None and ctx.rubric.frameworks:
        errors.append(error_entry(number, "Nhóm đối tượng", "required", {}))

    scores: dict[str, int] = {}
    for column in score_columns:
        crit = column.criterion
        value = typed(column.key, cells.score, crit.code, crit.max, label=column.header)
        if value is None or value is _BAD:
            continue
        try:
            ctx.rubric.check_value(crit.code, value)
        except GuardRefused:
            errors.append(error_entry(number, column.header, "row_score",
                                      {"criterion": crit.code, "max": crit.max, "value": value}))
            continue
        scores[crit.code] = value

    data: dict[str, Any] = {"campaign": ctx.campaign_id, "unit": branch.id if branch else ctx.unit_id,
                            "subject_group": group, "residence_unit": residence_id}
    bad = False
    for key, value in (("full_name", full_name), ("date_of_birth", born), ("citizen_id", cid)):
        if value is _BAD:
            bad = True
        else:
            data[key] = value
    nomination = None
    try:
        nomination = parse(NominationInput, {k: v for k, v in data.items() if v is not None})
        if not bad:
            nomination.require_person()
    except InvalidInput as exc:
        nomination = None
        for name, (code, params) in exc.fields.items():
            errors.append(error_entry(number, FIELD_COLUMN.get(name, name), code, params))
    if errors or nomination is None or branch is None:
        return Judged(number, None, errors)
    return Judged(number, ValidRow(number, branch.id, nomination.full_name, nomination.date_of_birth,
                                   nomination.citizen_id, group, residence_id, scores), [])


_BAD = object()  # a cell already reported: its field is left out of the declared input


def judge_stream(ctx: Context, sheet: Sheet, index: dict[str, int],
                 rows: list[tuple[int, list[Any]]]) -> Iterator[Judged]:
    """Every row judged in order, with the file's own duplicates: a CCCD's first valid row wins, later rows with
    it are errors naming it. Touches no database (Context.preload first), so it may run in a thread."""
    score_columns = [c for c in ctx.score_columns if c.key in index]
    formulas = sheet.formulas
    first: dict[str, int] = {}
    for n, r in rows:
        j = judge(ctx, n, r, index, formulas, score_columns)
        if j.valid is not None:
            seen = first.setdefault(j.valid.citizen_id, j.row)
            if seen != j.row:
                j = Judged(j.row, None, [error_entry(j.row, "Số CCCD", "row_duplicate_in_file",
                                                     {"citizen_id": j.valid.citizen_id, "other": seen})])
        yield j


def judge_all(ctx: Context, sheet: Sheet, index: dict[str, int], rows: list[tuple[int, list[Any]]]) -> list[Judged]:
    return list(judge_stream(ctx, sheet, index, rows))

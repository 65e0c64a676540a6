"""Rubrics: the data files in workflow/data turned into immutable specs, and the one place the pass rule is judged.

Points rubrics (CDHT, later DVHT) and met/not-met rubrics (XHT) share one shape: criteria with a maximum
(1 for met/not-met), applying to some levels; an application's score summary (total, lowest, count) decides."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from .db import db
from .errors import MESSAGES, GuardRefused

# The refusals of a typed score, next to the rule that judges them (the bounds' own message is in errors.py).
MESSAGES.update({
    "score_not_number": ("Điểm tiêu chí {criterion} phải là một số từ 0 đến {max}.",
                         "Criterion {criterion} takes a number from 0 to {max}."),
    "score_whole": ("Điểm tiêu chí {criterion} là số nguyên (đã nhập {value}).",
                    "Criterion {criterion} takes whole points (got {value})."),
    "score_step": ("Điểm tiêu chí {criterion} là số nguyên, chia hết cho {step} (đã nhập {value}).",
                   "Criterion {criterion} takes whole points in steps of {step} (got {value})."),
})


@dataclass(frozen=True, slots=True)
class Counted:
    """A criterion computed from other titles' live recognitions (workflow/counting.py), never scored by hand."""

    counts: str  # the title whose holders are counted
    members: str  # households | persons | organisations
    min_percent: Decimal
    min_percent_education: Decimal | None = None  # learners of an education institution (TT 24/2023)


@dataclass(frozen=True, slots=True)
class Band:
    """A graded result of a points rubric (Thông tư 22/2020: Tốt 85-100, Khá 70-<85, Trung bình 50-<70)."""

    code: str
    min: int
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str
    group: str
    max: int
    levels: tuple[int, ...]
    evidence_required: bool
    name_vi: str
    name_en: str
    step: int = 1  # points go up by this much (scores are stored as whole numbers: a whole step)
    computed: Counted | None = None  # issue 14: counted from the records, not scored (the self-assessment aside)
    names_by_group: tuple[tuple[str, str, str], ...] = ()  # (subject group, vi, en): the group's own wording

    def name_for(self, group: str | None, locale: str = "vi") -> str:
        for g, vi, en in self.names_by_group:
            if g == group:
                return en if locale == "en" else vi
        return self.name_en if locale == "en" else self.name_vi


@dataclass(frozen=True, slots=True)
class RubricSpec:
    id: int
    title: str
    version: str
    kind: str  # "points" | "met"
    criteria: tuple[Criterion, ...]
    pass_rule: dict[str, Any]
    frameworks: tuple[str, ...]
    bands: tuple[Band, ...] = ()  # highest first; empty: plain pass or fail

    def criteria_for(self, level: int = 1) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if level in c.levels)

    def scored_for(self, level: int = 1) -> tuple[Criterion, ...]:
        """The criteria judged from scores: a counted criterion is judged from its figure instead."""
        return tuple(c for c in self.criteria_for(level) if c.computed is None)

    @property
    def levels(self) -> tuple[int, ...]:
        """The levels the rubric assesses (1 only, or XHT's and DVHT's 1 and 2)."""
        return tuple(sorted({lv for c in self.criteria for lv in c.levels}))

    @property
    def computed(self) -> bool:
        return any(c.computed is not None for c in self.criteria)

    def band(self, total: int) -> Band | None:
        """The graded result a total earns (None: below every band, or a rubric without bands)."""
        return next((b for b in self.bands if total >= b.min), None)

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise GuardRefused("unknown_criterion", criterion=code)

    def check_value(self, code: str, value: int) -> Criterion:
        """Refuse a score outside the criterion's bounds (0..max; 0/1 for met/not-met) or off its step: the one
        rule for the API, the scoring sheet (read_value) and the import; the sheet's script reads the same max
        and step from the page."""
        crit = self.criterion(code)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= crit.max:
            raise GuardRefused("score_out_of_range", criterion=code, value=value, max=crit.max)
        if value % crit.step:
            raise GuardRefused("score_step", criterion=code, value=value, step=crit.step)
        return crit

    def read_value(self, code: str, text: str) -> int:
        """A score typed on the sheet ("7", " 10 "; "7,5" or "7.5" is read as the number it is, then refused as
        not whole): the value, or the refusal to show beside the field. Bounds and step: check_value."""
        crit = self.criterion(code)
        typed = text.strip()
        plain = typed.replace(",", ".", 1)
        if not (plain.isascii() and plain.replace(".", "", 1).isdigit()) or len(plain) > 12:
            raise GuardRefused("score_not_number", criterion=code, max=crit.max)
        number = Decimal(plain)
        if number > crit.max:
            raise GuardRefused("score_out_of_range", criterion=code, value=typed, max=crit.max)
        if number != number.to_integral_value():
            raise GuardRefused("score_whole", criterion=code, value=typed)
        value = int(number)
        self.check_value(code, value)
        return value

    def summarise(self, values: dict[str, int], level: int = 1) -> tuple[int, int | None, int]:
        """(total, lowest, count) over the criteria that apply at this level: what applications store."""
        applicable = [values[c.code] for c in self.scored_for(level) if c.code in values]
        return sum(applicable), (min(applicable) if applicable else None), len(applicable)

    def judge(self, total: int, lowest: int | None, count: int, *, level: int = 1,
              disadvantaged: bool = False) -> None:
        """Raise the first reason the summary fails the pass rule; return quietly when it passes."""
        required = len(self.scored_for(level))
        if count < required:
            raise GuardRefused("scores_incomplete", scored=count, required=required)
        rule = self.pass_rule
        if self.kind == "met":
            if lowest is None or lowest < 1:
                raise GuardRefused("not_all_met", level=level)
            return
        mark = rule.get("min_total_disadvantaged", rule["min_total"]) if disadvantaged else rule["min_total"]
        if total < mark:
            raise GuardRefused("total_below_pass", total=total, required=mark)
        if lowest is not None and lowest < rule.get("min_each", 0):
            raise GuardRefused("indicator_below_min", min_each=rule["min_each"], lowest=lowest)

    def passes(self, total: int, lowest: int | None, count: int, *, level: int = 1,
               disadvantaged: bool = False) -> bool:
        try:
            self.judge(total, lowest, count, level=level, disadvantaged=disadvantaged)
        except GuardRefused:
            return False
        return True


def parse(definition: dict[str, Any], rubric_id: int = 0) -> RubricSpec:
    levels_default = tuple(lv["level"] for lv in definition.get("levels", [{"level": 1}]))
    max_default = 1 if definition["kind"] == "met" else None
    criteria = tuple(
        Criterion(
            code=c["code"], group=g["code"], max=int(c.get("max", max_default)),
            levels=tuple(c.get("levels", levels_default)), evidence_required=bool(c.get("evidence_required")),
            name_vi=c["name"]["vi"], name_en=c["name"]["en"], step=_step(c), computed=_counted(c),
            names_by_group=tuple((str(k), v["vi"], v["en"]) for k, v in (c.get("name_by_group") or {}).items()),
        )
        for g in definition["groups"] for c in g["criteria"]
    )
    bands = tuple(sorted((Band(str(b["code"]), int(b["min"]), b["name"]["vi"], b["name"]["en"])
                          for b in definition["pass_rule"].get("bands", [])), key=lambda b: -b.min))
    return RubricSpec(
        id=rubric_id, title=definition["title"], version=definition["version"], kind=definition["kind"],
        criteria=criteria, pass_rule=definition["pass_rule"],
        frameworks=tuple(f["code"] for f in definition.get("frameworks", [])), bands=bands,
    )


COUNTED_MEMBERS = ("households", "persons", "organisations")


def _counted(criterion: dict[str, Any]) -> Counted | None:
    """A criterion's "computed" block: which title it counts among which members, and the threshold(s)."""
    c = criterion.get("computed")
    if not c:
        return None
    if c.get("members") not in COUNTED_MEMBERS or not isinstance(c.get("counts"), str):
        raise ValueError(f"criterion {criterion.get('code')}: computed needs counts and members {COUNTED_MEMBERS}")
    edu = c.get("min_percent_education")
    return Counted(c["counts"], c["members"], Decimal(str(c["min_percent"])),
                   Decimal(str(edu)) if edu is not None else None)


def _step(criterion: dict[str, Any]) -> int:
    """A criterion's step from the data (default 1); scores are stored as whole numbers, so a step is whole."""
    step = criterion.get("step", 1)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"criterion {criterion.get('code')}: step must be a whole number of at least 1")
    return step


def content_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@cache
def spec(rubric_id: int) -> RubricSpec:
    """Rubric versions never change once loaded (invariant 6), so caching by id is safe for the process."""
    from .models import Rubric

    row = db.session.get(Rubric, rubric_id)
    if row is None:
        raise LookupError(f"rubric {rubric_id} not found")
    return parse(row.definition, row.id)

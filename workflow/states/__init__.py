"""Stage modules: each declares the steps leaving its state(s), with guards and effects. A title definition
lists its stages in order; `steps_for` asks each stage for its steps given its neighbours."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..rubrics import RubricSpec


class Subject:
    """What guards see of an application: plain attributes, loaded once (no ORM access inside the machine)."""

    __slots__ = ("id", "state", "version", "unit_path", "disadvantaged", "rubric", "score_total", "score_min",
                 "scored_count", "target_level", "evidence_codes", "reason", "payload",
                 "prerequisite", "on",  # issue 12: a level's requirement (workflow.validity), judged as of `on`
                 "figures")  # issue 14: counted criteria (workflow.counting), as of `on`

    def __init__(self, **values: Any) -> None:
        self.evidence_codes = None
        self.reason = None
        self.payload = {}
        self.prerequisite = None
        self.on = None
        self.figures = None
        for k, v in values.items():
            setattr(self, k, v)

    rubric: RubricSpec


Guard = Callable[[Subject], None]
Effects = Callable[[Subject, datetime], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    source: str
    dest: str
    guards: tuple[Guard, ...] = ()
    needs_reason: bool = False
    actor_stage: str = ""  # whose stage decides who may act; defaults to the source state
    effects: Effects | None = None
    needs_evidence: bool = field(default=False)

    @property
    def actor(self) -> str:
        return self.actor_stage or self.source


def no_effects(subject: Subject, now: datetime) -> dict[str, Any]:
    return {}

"""Title definitions: which stages a title passes through (data in workflow/data/titles.json), assembled from the
stage modules into one shared `transitions` machine per title (never one machine per application)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from transitions import Machine

from .states import Step, appraisal, approval, closed, evidence, scoring

DATA_DIR = Path(__file__).parent / "data"
STAGE_MODULES = (evidence, scoring, appraisal, approval, closed)
MODULE_OF = {state: module for module in STAGE_MODULES for state in module.STATES}


def data_file(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Definition:
    title: str
    stages: tuple[str, ...]
    steps: dict[tuple[str, str], Step]
    machine: Machine
    version: str = "1"
    id: int | None = None  # the title_definitions row (None: the version shipped in titles.json, never loaded)

    @property
    def states(self) -> tuple[str, ...]:
        return self.stages + closed.STATES

    def step(self, state: str, action: str) -> Step | None:
        return self.steps.get((state, action))

    def actions_from(self, state: str) -> list[Step]:
        return [s for (src, _), s in self.steps.items() if src == state]


def _condition(guard):
    def check(event_data) -> bool:
        guard(event_data.model)
        return True

    check.__name__ = guard.__name__
    return check


def assemble(code: str, stages: tuple[str, ...], machine_class: type[Machine] = Machine,
             **machine_kwargs: Any) -> tuple[dict[tuple[str, str], Step], Machine]:
    steps: dict[tuple[str, str], Step] = {}
    states = stages + closed.STATES
    for i, state in enumerate(states):
        prev = stages[i - 1] if 0 < i < len(stages) else None
        nxt = stages[i + 1] if i + 1 < len(stages) else None
        for step in MODULE_OF[state].steps(state, prev, nxt, stages[0]):
            steps[(step.source, step.action)] = step
    machine = machine_class(
        model=None, states=list(states), initial=stages[0], auto_transitions=False, send_event=True,
        transitions=[{"trigger": s.action, "source": s.source, "dest": s.dest,
                      "conditions": [_condition(g) for g in s.guards]} for s in steps.values()],
        **machine_kwargs,
    )
    return steps, machine


def shipped() -> dict[str, dict[str, Any]]:
    """The titles as workflow/data/titles.json ships them: each one's first definition version."""
    return {t["code"]: t for t in data_file("titles.json")["titles"]}


def build(content: dict[str, Any], row_id: int | None = None) -> Definition:
    """A definition from its content (stages in order, validity ...): the one machine its files share."""
    stages = tuple(content["stages"])
    unknown = [s for s in stages if s not in MODULE_OF or s in closed.STATES]
    if unknown or not stages:
        raise ValueError(f"{content['code']}: unknown stages {unknown}")
    steps, machine = assemble(content["code"], stages)
    return Definition(content["code"], stages, steps, machine, str(content.get("version", "1")), row_id)


@cache
def definition(title: str) -> Definition:
    """The title's shipped definition (the version a file without a pinned version follows)."""
    try:
        return build(shipped()[title])
    except KeyError:
        raise KeyError(title) from None


@cache
def by_id(definition_id: int) -> Definition:
    """A loaded version; versions never change once loaded, so caching by id is safe for the process."""
    from .db import db
    from .models import TitleDefinition

    row = db.session.get(TitleDefinition, definition_id)
    if row is None:
        raise LookupError(f"title definition {definition_id} not found")
    return build(row.content, row.id)


_first: dict[str, int] = {}


def first_id(title: str) -> int | None:
    """The title's first loaded version (what a file or campaign without a pinned version follows); None where
    no version was ever loaded (the shipped one applies). Cached once found: versions are never deleted."""
    found = _first.get(title)
    if found is None:
        from sqlalchemy import func, select

        from .db import db
        from .models import TitleDefinition

        found = db.session.scalar(select(func.min(TitleDefinition.id)).where(TitleDefinition.title_code == title))
        if found is not None:
            _first[title] = found
    return found


def clear_cache() -> None:
    by_id.cache_clear()
    _first.clear()


def of(title: str, definition_id: int | None) -> Definition:
    """The definition a file follows: the version it was created under (issue 14 §3); without one, the first."""
    definition_id = definition_id if definition_id is not None else first_id(title)
    return by_id(definition_id) if definition_id is not None else definition(title)


def for_campaign(campaign) -> Definition:
    """The version a campaign's new files take (models.Campaign.definition_id, else the first): a province adopts
    a newer one with the migration of its files in flight (workflow/admin/definitions.py)."""
    return of(campaign.title_code, campaign.definition_id)


def mermaid(title: str) -> str:
    """The Mermaid state diagram drawn by transitions from the same steps the engine runs."""
    from transitions.extensions import GraphMachine

    d = definition(title)

    class _Model:
        pass

    model = _Model()
    _, graph = assemble(title, d.stages, GraphMachine, graph_engine="mermaid", show_conditions=True,
                        title=f"{title}: {d.stages[0]} → recognised")
    graph.add_model(model)
    return model.get_graph().draw(None)


def for_application(app) -> Definition:
    """The version this file follows (models.Application)."""
    return of(app.campaign.title_code, app.definition_id)

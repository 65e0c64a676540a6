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


@cache
def definition(title: str) -> Definition:
    for t in data_file("titles.json")["titles"]:
        if t["code"] == title:
            stages = tuple(t["stages"])
            steps, machine = assemble(title, stages)
            return Definition(title, stages, steps, machine)
    raise KeyError(title)


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

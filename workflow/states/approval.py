"""Final approval (phê duyệt, quyết định công nhận): the level the approval chain names recognises the file."""
from datetime import datetime

from . import Step, Subject
from .closed import reject_step
from .guards import level_ready, passes_rubric

STATES = ("final_approval",)


def _recognise(s: Subject, now: datetime) -> dict:
    return {"recognised_at": now, "decision_id": s.payload.get("decision_id")}


def steps(state: str, prev: str | None, nxt: str, first: str) -> list[Step]:
    return [
        Step("approve", state, "recognised", guards=(passes_rubric, level_ready), effects=_recognise),
        Step("return", state, prev, needs_reason=True),
        reject_step(state),
    ]

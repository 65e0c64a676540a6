"""Scoring (chấm điểm / tự đánh giá): the branch scores a citizen, or a commune assesses itself; submitting sends
the file up only when evidence is complete and the pass rule is met. It can go back for more evidence."""
from . import Step
from .closed import withdraw_step
from .guards import evidence_complete, passes_rubric

STATES = ("branch_scoring", "self_assessment")


def steps(state: str, prev: str | None, nxt: str, first: str) -> list[Step]:
    return [
        Step("submit", state, nxt, guards=(evidence_complete, passes_rubric), needs_evidence=True),
        Step("return", state, prev, needs_reason=True),
        withdraw_step(state, first),
    ]

"""Evidence collection (thu thập minh chứng): the applicant side gathers evidence per criterion, then submits it
for scoring; it may withdraw the file."""
from . import Step
from .closed import withdraw_step
from .guards import evidence_complete

STATES = ("evidence_collection",)


def steps(state: str, prev: str | None, nxt: str, first: str) -> list[Step]:
    return [
        Step("submit", state, nxt, guards=(evidence_complete,), needs_evidence=True),
        withdraw_step(state, first),
    ]

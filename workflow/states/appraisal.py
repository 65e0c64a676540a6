"""Appraisal (thẩm định): the commune appraises a citizen's file, or the district/province a commune's. Approve
re-judges the pass rule (an appraiser may have adjusted scores); return sends it back one stage with what is
missing; reject closes it with a reason."""
from . import Step
from .closed import reject_step
from .guards import passes_rubric

STATES = ("commune_appraisal", "upper_appraisal")


def steps(state: str, prev: str | None, nxt: str, first: str) -> list[Step]:
    return [
        Step("approve", state, nxt, guards=(passes_rubric,)),
        Step("return", state, prev, needs_reason=True),
        reject_step(state),
    ]

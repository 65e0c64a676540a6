"""Closed states: recognised (may be revoked with a reason by the approving level), rejected, withdrawn, revoked."""
from datetime import datetime

from . import Step, Subject

STATES = ("recognised", "rejected", "withdrawn", "revoked")


def _close(s: Subject, now: datetime) -> dict:
    return {"closed_reason": s.reason}


def reject_step(state: str) -> Step:
    return Step("reject", state, "rejected", needs_reason=True, effects=_close)


def withdraw_step(state: str, first: str) -> Step:
    """The applicant side (whoever acts at the first stage) may withdraw until the file leaves its hands, saying
    why (issue 13: a withdrawal cannot be undone; its reason is kept in the audit event and the history, for the
    page and the API alike)."""
    return Step("withdraw", state, "withdrawn", needs_reason=True, actor_stage=first, effects=_close)


def steps(state: str, prev: str | None, nxt: str | None, first: str) -> list[Step]:
    if state == "recognised":
        return [Step("revoke", state, "revoked", needs_reason=True, actor_stage="final_approval", effects=_close)]
    return []

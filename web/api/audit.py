"""The audit chain's status for auditors and admins: sealed and waiting counts, the head, and the first bad event."""
from __future__ import annotations

from workflow import queries

from . import bp
from .auth import current_actor
from .errors import ApiError
from .openapi import SCHEMAS

AUDIT_ROLES = queries.AUDIT_ROLES
_CAPPED = (f"True when the count stopped at {queries.COUNT_CAP:,} (the figure given) and there are more: counts over "
           "millions of events are not finished on every call.")
SCHEMAS["AuditReport"]["properties"].update({
    "sealed_capped": {"type": "boolean", "description": _CAPPED},
    "waiting_capped": {"type": "boolean", "description": _CAPPED + " `waiting` counts the events written after the "
                                                                   "newest sealed one."},
    "counts_capped": {"type": "boolean", "description": "sealed_capped or waiting_capped."},
})


@bp.get("/audit/verify")
def verify_audit():
    """Walk the whole hash chain now (read-only); `ok` is false with `first_bad` naming the first broken event.
    The counts are those of the events of the caller's units, exact up to queries.COUNT_CAP (then `*_capped`);
    the head (its sequence is the length of the whole trail) is given only to a caller whose grants cover every
    province."""
    actor = current_actor()
    if not actor.roles() & set(AUDIT_ROLES):
        raise ApiError(403, "forbidden")
    status = queries.audit_status(actor, AUDIT_ROLES)
    scoped = status.pop("scoped")
    if scoped:  # the contract has no null head: a scoped caller simply gets none
        del status["head_seq"], status["head_hash"]
    return status

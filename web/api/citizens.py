"""Citizens across years and places (issue 9, section 2): one CCCD's history within the caller's units, and the
files flagged as live in another province too. Reads only; the rule and the scope live in workflow.citizens.

A caller without an appraiser's, approver's or auditor's role gets 403 citizen_history_forbidden whatever the CCCD
(so the answer says nothing about it); within those roles, no file in scope is 404 citizen_not_found, the same
answer whether the citizen has files in other units or none at all."""
from __future__ import annotations

from typing import Any

from workflow import citizens
from workflow.errors import NotAuthorized

from . import bp
from .applications import summary
from .auth import current_actor
from .util import iso, paged


def _item(item: dict[str, Any]) -> dict[str, Any]:
    decision = item["decision"]
    return {**item, "decision": decision and {"number": decision["number"], "signed_on": iso(decision["signed_on"])},
            "created_at": iso(item["created_at"]), "state_changed_at": iso(item["state_changed_at"]),
            "recognised_at": iso(item["recognised_at"])}


@bp.get("/citizens/flagged")
def flagged_applications():
    """Files of the caller's units whose CCCD is live in another province's campaign of the same title and year;
    each with its `flags`."""
    actor = current_actor()
    if not citizens.may_look_up(actor):
        raise NotAuthorized("citizen_history_forbidden")
    return paged(citizens.flagged_query(actor), lambda a: {**summary(a), "flags": citizens.flags(a, actor)})


@bp.get("/citizens/<cccd>")
def citizen_history(cccd: str):
    """Every application of one CCCD within the caller's units, newest year first."""
    citizen_id, items = citizens.history(cccd, current_actor())
    return {"citizen_id": citizen_id, "items": [_item(i) for i in items]}

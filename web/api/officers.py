"""API: users and their role grants in the caller's scope (workflow.admin.officers). Every change goes through
that module (authorized by admin grants, audited); one commit per request, any refusal rolls back."""
from __future__ import annotations

from typing import Any

from flask import request

from workflow.admin import officers
from workflow.admin.inputs import parse

from . import bp
from .auth import current_actor
from .errors import FieldErrors
from .openapi import declare
from .util import ID, commit, is_clean_text, json_body, paged


def _user(user_id: int):
    return officers.visible_user(current_actor(), user_id)


@bp.get("/users")
def list_users():
    """Users with a grant inside the caller's admin grants (paged; `q` searches username, name, e-mail)."""
    errors = FieldErrors()
    q = (request.args.get("q") or "").strip()
    if len(q) > 100:
        errors.add("q", "too_long", max=100)
    elif not is_clean_text(q):  # NUL and other control characters never reach the database
        errors.add("q", "control_chars")
    errors.raise_if_any()
    return paged(officers.users_query(current_actor(), q or None), officers.user_dict, errors)


@bp.post("/users")
@declare(json=officers.UserIn, operation_id="createUser")
def create_user():
    """201 with the user; with no e-mail, also the one-time set_password_url to hand over (shown only now)."""
    data = parse(officers.UserIn, json_body())
    user, link = officers.create_user(current_actor(), data)
    out: dict[str, Any] = officers.user_dict(user)
    commit()
    if link:
        out["set_password_url"] = link
    return out, 201, {"Location": f"/api/v1/users/{user.id}"}


@bp.get(f"/users/<{ID}:user_id>")
def get_user(user_id: int):
    return officers.user_dict(_user(user_id))


@bp.patch(f"/users/<{ID}:user_id>")
@declare(json=officers.UserPatch, operation_id="patchUser")
def patch_user(user_id: int):
    """{"active": false} deactivates (sessions and tokens end), {"active": true} reactivates."""
    user = _user(user_id)
    data = parse(officers.UserPatch, json_body())
    officers.set_active(current_actor(), user, data.active)
    commit()
    return officers.user_dict(user)


@bp.post(f"/users/<{ID}:user_id>/grants")
@declare(json=officers.GrantIn, operation_id="addGrant")
def add_grant(user_id: int):
    user = _user(user_id)
    data = parse(officers.GrantIn, json_body())
    officers.add_grant(current_actor(), user, data)
    commit()
    return officers.user_dict(user), 201


@bp.delete(f"/users/<{ID}:user_id>/grants/<{ID}:grant_id>")
def revoke_grant(user_id: int, grant_id: int):
    user = _user(user_id)
    officers.revoke_grant(current_actor(), user, grant_id)
    commit()
    return officers.user_dict(user)

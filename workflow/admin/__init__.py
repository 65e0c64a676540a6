"""Administration of a province: units (units.py, mergers.py), officers (officers.py), campaigns and deadlines
(campaigns.py). Every change goes through these modules, never a view: each is authorized by an admin grant over
the unit it touches (outside the grant: not found, so existence never leaks), and each writes one audit event with
who, what, before and after into the same tamper-evident trail. The caller commits (one commit point per request).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from .. import clock
from ..authz import Actor, actor_of
from ..db import db
from ..errors import NotAuthorized, NotFound
from ..models import AuditEvent, Unit

ADMIN = ("admin",)


def as_actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def require_admin(actor, unit: Unit | None) -> Actor:
    """The actor holds an admin grant covering `unit`. A unit outside every grant of theirs is not found; inside
    their units but without the admin role is not allowed."""
    actor = as_actor(actor)
    if unit is None or not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    if not actor.covers(unit.path, ADMIN):
        raise NotAuthorized("admin_required")
    return actor


def record(actor, action: str, subject: str, subject_id: int | None, *, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, unit: Unit | None = None, reason: str | None = None,
           **extra: Any) -> None:
    """One audit event for an administrative change: action such as "unit.create" or "grant.revoke", what it
    touched (subject kind and id, and the unit whose subtree it belongs to), the values before and after."""
    actor = as_actor(actor) if actor is not None else None
    payload: dict[str, Any] = {"subject": subject, "subject_id": subject_id, "before": before, "after": after}
    if unit is not None:
        payload.update(unit_id=unit.id, unit_path=unit.path)
    payload.update(extra)
    db.session.execute(insert(AuditEvent.__table__), [{
        "application_id": None, "actor_id": actor.id if actor else None,
        "actor_name": actor.username if actor else "system", "action": action, "from_state": None,
        "to_state": None, "reason": reason, "payload": payload, "created_at": clock.now()}])

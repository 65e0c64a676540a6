"""Read-side queries shared by pages and API: every list is filtered by the actor's grants (invariant 5)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from .authz import Actor, actor_of, visible_units_clause
from .db import db
from .inputs import is_ascii_digits
from .models import Application, AuditEvent, AuditSeal, Unit
from .text import fold


def applications(actor, *, state: str | None = None, unit_id: int | None = None, campaign_id: int | None = None,
                 q: str | None = None, states: tuple[str, ...] | None = None) -> Select:
    """Applications the actor may see, newest first; `q` matches names ignoring diacritics and case, or a
    citizen ID prefix; `unit_id` includes that unit's subtree."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    stmt = (select(Application).join(Unit, Unit.id == Application.unit_id)
            .where(visible_units_clause(actor, Unit.path)).order_by(Application.id.desc()))
    if state:
        stmt = stmt.where(Application.state == state)
    if states:
        stmt = stmt.where(Application.state.in_(states))
    if campaign_id:
        stmt = stmt.where(Application.campaign_id == campaign_id)
    if unit_id:
        sub = select(Unit.path).where(Unit.id == unit_id).scalar_subquery()
        stmt = stmt.where(Unit.path.startswith(sub))
    if q and q.strip():
        needle = q.strip()
        if is_ascii_digits(needle):  # a CCCD prefix is ASCII digits (workflow.inputs); "١٢" is no number
            stmt = stmt.where(Application.citizen_id.startswith(needle))
        else:
            stmt = stmt.where(Application.full_name_folded.contains(fold(needle), autoescape=True))
    return stmt


def history(application_id: int) -> Select:
    return select(AuditEvent).where(AuditEvent.application_id == application_id).order_by(AuditEvent.id)


AUDIT_ROLES = ("auditor", "admin")


def _audit_events_in_scope(actor: Actor, roles: tuple[str, ...]) -> Select:
    """Audit events of the applications under the actor's grants of `roles` (events are reached through their
    application's unit, exactly as the audit log filters them)."""
    return (select(AuditEvent.id).join(Application, Application.id == AuditEvent.application_id)
            .join(Unit, Unit.id == Application.unit_id).where(visible_units_clause(actor, Unit.path, roles)))


def covers_every_province(actor, roles: tuple[str, ...] = AUDIT_ROLES) -> bool:
    """Whether the actor's grants of `roles` cover every root unit (province): only then are figures about the
    whole trail theirs to see."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    roots = list(db.session.scalars(select(Unit.path).where(Unit.parent_id.is_(None))))
    return all(actor.covers(path, roles) for path in roots)


def audit_actor_names(actor, roles: tuple[str, ...] = AUDIT_ROLES, limit: int = 500) -> list[str]:
    """Usernames of those who acted on applications within the actor's units (the audit log's actor filter):
    an auditor of one province never learns the usernames of another."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    in_scope = _audit_events_in_scope(actor, roles).with_only_columns(AuditEvent.actor_name).distinct()
    return list(db.session.scalars(in_scope.order_by(AuditEvent.actor_name).limit(limit)))


def audit_status(actor, roles: tuple[str, ...] = AUDIT_ROLES) -> dict[str, Any]:
    """The chain's status as this actor may see it. Integrity (ok, first bad event, problem) is the one shared
    chain's; the counts are those of the events of the actor's applications (sealed, waiting to be sealed), and
    the head (whose sequence number is the length of the whole trail) is shown only to whoever covers every
    province. Returns the fields of workflow.audit.Report plus `scoped`."""
    from . import audit

    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    report = audit.verify()
    status: dict[str, Any] = {"ok": report.ok, "sealed": report.sealed, "waiting": report.waiting,
                              "first_bad": report.first_bad, "problem": report.problem, "head_seq": report.head_seq,
                              "head_hash": report.head_hash, "details": report.details, "scoped": False}
    if covers_every_province(actor, roles):
        return status
    ids = _audit_events_in_scope(actor, roles).subquery()
    sealed = db.session.scalar(select(func.count()).select_from(AuditSeal).where(
        AuditSeal.event_id.in_(select(ids.c.id))))
    total = db.session.scalar(select(func.count()).select_from(ids))
    status.update(sealed=sealed or 0, waiting=(total or 0) - (sealed or 0), head_seq=None, head_hash=None,
                  scoped=True)
    return status

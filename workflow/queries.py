"""Read-side queries shared by pages and API: every list is filtered by the actor's grants (invariant 5)."""
from __future__ import annotations

from sqlalchemy import Select, select

from .authz import Actor, actor_of, visible_units_clause
from .models import Application, AuditEvent, Unit
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
        if needle.isdigit():
            stmt = stmt.where(Application.citizen_id.startswith(needle))
        else:
            stmt = stmt.where(Application.full_name_folded.contains(fold(needle), autoescape=True))
    return stmt


def history(application_id: int) -> Select:
    return select(AuditEvent).where(AuditEvent.application_id == application_id).order_by(AuditEvent.id)

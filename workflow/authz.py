"""Object-level authorization: a grant covers its unit's subtree, and a stage is acted on only by the role the
approval chain names for it. The web layer uses the same functions to filter lists, so pages, API and batches
share one rule."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_

from .chains import StageActor


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str
    unit_level: str


@dataclass(frozen=True, slots=True)
class Actor:
    """A user's identity and grants, detached from the ORM so hot paths touch no lazy attribute."""

    id: int
    username: str
    grants: tuple[Grant, ...]

    def covers(self, unit_path: str, roles: tuple[str, ...] | None = None) -> bool:
        return any(unit_path.startswith(g.unit_path) and (roles is None or g.role in roles) for g in self.grants)

    def acts_at(self, stage: StageActor, unit_path: str) -> bool:
        return any(g.role == stage.role and g.unit_level == stage.level and unit_path.startswith(g.unit_path)
                   for g in self.grants)

    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


def province_of(unit_path: str) -> int:
    """The province is the root of every unit path ("/1/4/9/" -> 1)."""
    return int(unit_path.split("/", 2)[1])


def actor_of(user) -> Actor:
    """Build (once per user object) the Actor for a models.User."""
    cached = getattr(user, "_actor", None)
    if cached is None:
        cached = Actor(user.id, user.username, tuple(
            Grant(g.role, g.unit_id, g.unit.path, g.unit.level) for g in user.grants))
        user._actor = cached
    return cached


def visible_units_clause(actor: Actor, path_column, roles: tuple[str, ...] | None = None) -> ColumnElement[bool]:
    """A WHERE clause restricting rows to units under the actor's grants (index-friendly LIKE 'prefix%')."""
    paths = sorted({g.unit_path for g in actor.grants if roles is None or g.role in roles})
    if not paths:
        return false()
    return or_(*(path_column.startswith(p, autoescape=False) for p in paths))

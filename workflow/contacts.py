"""Who to ask: the administrators and appraisers whose units cover a person's units (the help page and the login
page's "forgot password" note). A grant covers its unit's subtree, so the people to contact about a unit hold a
grant at that unit or at one of its ancestors: found by the few ancestor paths, never by scanning units."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .db import db
from .models import RoleGrant, Unit, User


@dataclass(frozen=True)
class Contact:
    full_name: str
    unit_name: str
    unit_level: str
    role: str
    phone: str | None
    email: str | None


def ancestors(path: str) -> list[str]:
    """"/1/4/9/" -> ["/1/", "/1/4/", "/1/4/9/"]: the unit and every unit above it."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def covering(paths: list[str], roles: tuple[str, ...], limit: int = 50, *,
             exclude: int | None = None) -> list[Contact]:
    """Active people holding one of `roles` at one of `paths` or above them: along one line of units the nearest
    first (a path sorts after its ancestors', so descending puts a commune's administrator before the
    province's), then by name. `exclude`: the reader, who is no contact of their own."""
    wanted = sorted({a for p in paths for a in ancestors(p)})
    if not wanted:
        return []
    rows = db.session.execute(
        select(User.full_name, User.username, Unit.name, Unit.level, Unit.path, RoleGrant.role, User.phone,
               User.email)
        .join(RoleGrant, RoleGrant.user_id == User.id).join(Unit, Unit.id == RoleGrant.unit_id)
        .where(Unit.path.in_(wanted), RoleGrant.role.in_(roles), User.active.is_(True), User.id != (exclude or 0))
        .order_by(Unit.path.desc(), User.full_name, User.id).limit(limit)).all()
    seen, out = set(), []
    for full_name, username, unit, level, _path, role, phone, email in rows:
        if (full_name, unit, role) not in seen:
            seen.add((full_name, unit, role))
            out.append(Contact(full_name or username, unit, level, role, phone, email))
    return out


def administrators(limit: int = 30) -> list[tuple[str, str]]:
    """(administrator's name, unit name) of every active administrator, for a page anyone may read (the login
    page): names and units only, no username, telephone or e-mail. Provinces first, then by unit and name."""
    rows = db.session.execute(
        select(User.full_name, User.username, Unit.name).join(RoleGrant, RoleGrant.user_id == User.id)
        .join(Unit, Unit.id == RoleGrant.unit_id).where(RoleGrant.role == "admin", User.active.is_(True))
        .order_by(Unit.path, User.full_name, User.id).limit(limit)).all()
    return list(dict.fromkeys((name or username, unit) for name, username, unit in rows))

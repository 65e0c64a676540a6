"""Account changes that must end a user's sessions: logout, password change or reset, deactivation, a revoked
grant. Every web session and API token carries the user's `session_epoch`; bumping it makes all of them invalid
at the next request, whichever process or machine serves it. Changes other than logout are audited; the caller
commits."""
from __future__ import annotations

from sqlalchemy import func, select, update

from .authz import province_of
from .db import db
from .errors import GuardRefused
from .models import RoleGrant, Unit, User
from .passwords import check_password, hash_password

MIN_PASSWORD = 10
users = User.__table__


def end_sessions(user: User) -> None:
    """Invalidate every session and token of `user` (an atomic increment: two at once both count)."""
    db.session.execute(update(users).where(users.c.id == user.id)
                       .values(session_epoch=users.c.session_epoch + 1))
    db.session.expire(user, ["session_epoch"])


def _audit(actor: User | None, action: str, user: User, **extra: object) -> None:
    from .admin import record

    record(actor, action, "user", user.id, username=user.username, **extra)


def _check_new_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise GuardRefused("password_too_short", min=MIN_PASSWORD)
    if password.strip().casefold() == user.username.casefold():
        raise GuardRefused("password_is_username")


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password proves it is them."""
    if not check_password(user.password_hash, current):
        raise GuardRefused("password_wrong")
    _check_new_password(user, new)
    user.password_hash = hash_password(new)
    end_sessions(user)
    _audit(user, "account.password", user)


def reset_password(user: User, new: str, actor: User | None = None) -> None:
    """An administrator's (or an operator's CLI) reset."""
    _check_new_password(user, new)
    user.password_hash = hash_password(new)
    end_sessions(user)
    _audit(actor, "account.reset", user)


def _admins_left(province_id: int, without: User | None = None, without_grant: int | None = None) -> int:
    """Active admins whose grant lies in this province, leaving out a user or a grant about to go."""
    stmt = (select(func.count(func.distinct(RoleGrant.user_id))).join(User, User.id == RoleGrant.user_id)
            .join(Unit, Unit.id == RoleGrant.unit_id)
            .where(RoleGrant.role == "admin", User.active.is_(True),
                   (Unit.path == f"/{province_id}/") | Unit.path.like(f"/{province_id}/%")))
    if without is not None:
        stmt = stmt.where(User.id != without.id)
    if without_grant is not None:
        stmt = stmt.where(RoleGrant.id != without_grant)
    return db.session.scalar(stmt) or 0


def _admin_provinces(user: User) -> set[int]:
    return {province_of(g.unit.path) for g in user.grants if g.role == "admin"}


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivating ends the user's sessions; the last admin of a province stays."""
    if not active and any(_admins_left(p, without=user) == 0 for p in _admin_provinces(user)):
        raise GuardRefused("last_admin")
    if user.active != active:
        user.active = active
        end_sessions(user)
        _audit(actor, "account.activate" if active else "account.deactivate", user)


def revoke_grant(grant: RoleGrant, actor: User | None = None) -> None:
    """Removing a role ends the holder's sessions, so no open page keeps showing what it covered."""
    user = grant.user
    if grant.role == "admin" and _admins_left(province_of(grant.unit.path), without_grant=grant.id) == 0:
        raise GuardRefused("last_admin")
    _audit(actor, "account.revoke_grant", user, role=grant.role, unit_id=grant.unit_id)
    db.session.delete(grant)
    end_sessions(user)

"""Who a notice concerns, from the approval chain (data), never from code branches per title.

A grant covers its unit's subtree, so the people acting at a stage for an application are those holding the
stage's role at the ancestor unit of the stage's level. The "owner" is whoever acts at the first stage (the branch
for CDHT, the commune for XHT). The level above a stage is the nearest ancestor unit, above that level, where
someone holds an appraiser or approver role; failing that, the province's admins."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from workflow.chains import ChainSpec, StageActor, chain_for
from workflow.db import db
from workflow.models import RoleGrant, Unit, User

LEVEL_RANK = {"branch": 0, "commune": 1, "district": 2, "province": 3}
UPPER_ROLES = ("commune_appraiser", "district_approver", "provincial_approver")
FIRST_STAGE = ("evidence_collection",)


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    email: str | None
    locale: str


def ancestors(path: str) -> list[int]:
    """Unit ids from the province down to the unit itself, read off the materialised path."""
    return [int(p) for p in path.strip("/").split("/") if p]


def province_of(path: str) -> int:
    return ancestors(path)[0]


class Directory:
    """The people and unit levels along a set of unit paths, loaded in two queries for a whole batch."""

    def __init__(self, paths: Iterable[str]) -> None:
        unit_ids = sorted({u for p in paths for u in ancestors(p)})
        self.level: dict[int, str] = {}
        self.people: dict[tuple[int, str], list[Person]] = defaultdict(list)
        if not unit_ids:
            return
        self.level = dict(db.session.execute(select(Unit.id, Unit.level).where(Unit.id.in_(unit_ids))).all())
        rows = db.session.execute(
            select(RoleGrant.unit_id, RoleGrant.role, User.id, User.email, User.locale)
            .join(User, User.id == RoleGrant.user_id)
            .where(RoleGrant.unit_id.in_(unit_ids), User.active.is_(True))
            .order_by(User.id)).all()
        for unit_id, role, user_id, email, locale in rows:
            self.people[(unit_id, role)].append(Person(user_id, email, locale or "vi"))

    def acting(self, path: str, stage: StageActor | None) -> list[Person]:
        """People holding the stage's role at the ancestor of the stage's level."""
        if stage is None:
            return []
        for unit_id in ancestors(path):
            if self.level.get(unit_id) == stage.level:
                return list(self.people.get((unit_id, stage.role), ()))
        return []

    def above(self, path: str, level: str) -> list[Person]:
        """The nearest level above `level` with an appraiser or approver; else the admins along the path."""
        rank = LEVEL_RANK.get(level, 0)
        chain = ancestors(path)
        for unit_id in reversed(chain):
            if LEVEL_RANK.get(self.level.get(unit_id, ""), -1) <= rank:
                continue
            found = [p for role in UPPER_ROLES for p in self.people.get((unit_id, role), ())]
            if found:
                return _unique(found)
        return _unique([p for unit_id in chain for p in self.people.get((unit_id, "admin"), ())])


def _unique(people: list[Person]) -> list[Person]:
    seen: dict[int, Person] = {}
    for p in people:
        seen.setdefault(p.user_id, p)
    return list(seen.values())


def chain(title: str, path: str, on: date) -> ChainSpec:
    return chain_for(title, province_of(path), on)


def owner_stage(spec: ChainSpec) -> StageActor | None:
    for name in FIRST_STAGE:
        if name in spec.stages:
            return spec.stages[name]
    return next(iter(spec.stages.values()), None)


OWNER_ACTIONS = ("return", "approve", "reject", "revoke")


def for_transition(directory: Directory, spec: ChainSpec, path: str, action: str, source: str, dest: str,
                   actor_id: int | None) -> list[tuple[Person, str]]:
    """(person, audience) pairs a transition concerns, the actor excluded, each person once.

    The owner hears of a return, an approval, a rejection, a recognition or a revocation; the people acting at
    the new stage hear that work arrived, when that stage is acted on by someone other than the previous one."""
    out: dict[int, tuple[Person, str]] = {}
    owner = owner_stage(spec)
    if action in OWNER_ACTIONS or dest == "recognised":
        for p in directory.acting(path, owner):
            out.setdefault(p.user_id, (p, "owner"))
    before, after = spec.stages.get(source), spec.stages.get(dest)
    if after is not None and after != before and action != "return":
        for p in directory.acting(path, after):
            out.setdefault(p.user_id, (p, "next"))
    if actor_id is not None:
        out.pop(actor_id, None)
    return list(out.values())

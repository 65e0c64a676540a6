"""Approval chains: which role, at which unit level, acts at each stage of a title, per province and period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .db import db
from .errors import GuardRefused


@dataclass(frozen=True, slots=True)
class StageActor:
    role: str
    level: str


@dataclass(frozen=True, slots=True)
class ChainSpec:
    code: str
    title: str
    province_id: int | None
    valid_from: date
    valid_to: date | None
    stages: dict[str, StageActor]

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


_chains: dict[str, list[ChainSpec]] | None = None


def clear_cache() -> None:
    global _chains
    _chains = None


def _load() -> dict[str, list[ChainSpec]]:
    from .models import ApprovalChain

    by_title: dict[str, list[ChainSpec]] = {}
    for row in db.session.scalars(db.select(ApprovalChain).order_by(ApprovalChain.valid_from)):
        by_title.setdefault(row.title_code, []).append(ChainSpec(
            code=row.code, title=row.title_code, province_id=row.province_id, valid_from=row.valid_from,
            valid_to=row.valid_to, stages={k: StageActor(v["role"], v["level"]) for k, v in row.stages.items()},
        ))
    return by_title


def chain_for(title: str, province_id: int, on: date) -> ChainSpec:
    """The province's own chain valid that day, else the national default valid that day."""
    global _chains
    if _chains is None:
        _chains = _load()
    candidates = [c for c in _chains.get(title, ()) if c.valid_on(on)]
    for c in candidates:
        if c.province_id == province_id:
            return c
    for c in candidates:
        if c.province_id is None:
            return c
    raise GuardRefused("no_chain", on=on.isoformat())

"""What the work queue shows beside each file (issue 13): whether its current score meets the pass rule, how many
of the criteria that need evidence have some, and whether it was returned before. Computed for the rows of one page
only, set-wise: one query for the evidence and one for the returns, whatever the number of rows (the page holds at
most 200; a province's two million files are never read)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from .db import db
from .models import Application, AuditEvent, Evidence
from .rubrics import spec


@dataclass(frozen=True, slots=True)
class Marks:
    passes: bool
    evidence_have: int  # criteria needing evidence that have some
    evidence_need: int  # criteria needing evidence, at the file's level
    returned: bool  # returned for completion at least once

    @property
    def evidence_complete(self) -> bool:
        return self.evidence_have >= self.evidence_need


def marks(apps: Sequence[Application]) -> dict[int, Marks]:
    """The marks of these files, by id: two queries for the lot (the page's rows are already loaded)."""
    ids = [a.id for a in apps]
    if not ids:
        return {}
    ev = Evidence.__table__
    codes: dict[int, set[str]] = defaultdict(set)
    for app_id, code in db.session.execute(
            select(ev.c.application_id, ev.c.criterion_code)
            .where(ev.c.application_id.in_(ids), ev.c.removed_at.is_(None)).distinct()):
        codes[app_id].add(code)
    events = AuditEvent.__table__
    returned = set(db.session.scalars(select(events.c.application_id).where(
        events.c.application_id.in_(ids), events.c.action == "return").distinct()))
    out = {}
    for a in apps:
        rubric = spec(a.rubric_id)
        needed = [c.code for c in rubric.criteria_for(a.target_level) if c.evidence_required]
        out[a.id] = Marks(
            passes=rubric.passes(a.score_total, a.score_min, a.scored_count, level=a.target_level,
                                 disadvantaged=a.unit.area_class == "disadvantaged"),
            evidence_have=sum(1 for c in needed if c in codes[a.id]), evidence_need=len(needed),
            returned=a.id in returned)
    return out

"""What an appraiser needs beside the scoring sheet: the scores the branch (or the commune, for XHT) handed over,
and each later adjustment with who made it, when and why. Read from the file's own audit events (the "score"
events carry {criterion: [old, new]}), so nothing new is stored and the audit log stays the one source."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from .db import db
from .models import Application, AuditEvent, User
from .operations import ADJUST_STATES, SCORE_STATES


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One saved adjustment at an appraisal or approval stage: criterion -> (before, after)."""

    at: datetime
    by: str  # the person's name (the username if the account has none)
    state: str
    reason: str | None
    changes: dict[str, tuple[int | None, int | None]]


@dataclass(frozen=True, slots=True)
class ScoreTrail:
    original: dict[str, int] = field(default_factory=dict)  # as the file left the scoring stage
    adjustments: tuple[Adjustment, ...] = ()

    def difference(self, code: str, value: int | None) -> int | None:
        """value minus the original score of the criterion (None when either is missing)."""
        before = self.original.get(code)
        return None if before is None or value is None else value - before


def score_trail(app: Application) -> ScoreTrail:
    """The original scores and the adjustments of one file, oldest first (ix_audit_events_application)."""
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == app.id,
                                                         AuditEvent.action == "score").order_by(AuditEvent.id))
    original: dict[str, int] = {}
    adjustments: list[tuple[AuditEvent, dict[str, tuple[int | None, int | None]]]] = []
    for event in events:
        changes = {code: (pair[0], pair[1]) for code, pair in ((event.payload or {}).get("changes") or {}).items()
                   if isinstance(pair, list | tuple) and len(pair) == 2}
        if event.from_state in SCORE_STATES:
            original.update({code: new for code, (_old, new) in changes.items() if new is not None})
        elif event.from_state in ADJUST_STATES and changes:
            adjustments.append((event, changes))
    ids = {e.actor_id for e, _c in adjustments if e.actor_id}
    names = dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all()) if ids else {}
    return ScoreTrail(original, tuple(
        Adjustment(at=e.created_at, by=names.get(e.actor_id) or e.actor_name, state=e.from_state or "",
                   reason=e.reason, changes=c) for e, c in adjustments))

"""The RQ jobs. Each takes only ids or plain values (JSON serializer) and runs in the app (appctx.job)."""
from __future__ import annotations

import logging
from typing import Any

from .appctx import job

log = logging.getLogger(__name__)


@job
def deliver(outbox_ids: list[int]) -> dict[str, int]:
    """Deliver the notices owed for these outbox rows (idempotent), then hand over what piled up meanwhile."""
    from . import delivery, relay

    counts = delivery.deliver(outbox_ids)
    counts["handed"] = relay.relay()
    return counts


@job
def hand_over() -> int:
    """Woken after commits: deliver every pending outbox row, then seal the audit events; one job (one fork) per
    burst of commits, however many there were."""
    from workflow import audit

    from . import queue as q
    from . import relay

    q.started(relay.WAKE_FLAG)
    delivered = relay.relay(here=True)
    audit.seal_all()
    return delivered


@job
def seal() -> int:
    """Chain the waiting audit events."""
    from . import sealing

    return sealing.seal_now()


@job
def tick() -> dict[str, Any]:
    """Every minute: schedule the next tick first, then relay what is pending, re-hand abandoned rows, seal."""
    from . import relay, schedule, sealing

    schedule.next_tick()
    handed = relay.relay()
    rehanded = relay.sweep_abandoned()
    sealing.request_seal()
    return {"handed": handed, "rehanded": rehanded}


@job
def reminders() -> dict[str, int]:
    """Daily: reminders and escalations for applications waiting too long, as one digest per person."""
    from . import reminders as r
    from . import schedule

    schedule.next_reminders()
    return r.run()


@job
def audit_head() -> list[Any]:
    """Daily: record yesterday's chain head."""
    from . import schedule, sealing

    schedule.next_audit_head()
    day, seq, h = sealing.record_head()
    return [day.isoformat(), seq, h]

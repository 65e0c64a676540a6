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
    """Every minute: schedule the next tick first, then relay what is pending, re-hand abandoned rows, seal, and
    fold the state counts' deltas (workflow/summary.py) so that reads stay short."""
    from workflow import summary

    from . import relay, schedule, sealing

    schedule.next_tick()
    handed = relay.relay()
    rehanded = relay.sweep_abandoned()
    sealing.request_seal()
    from workflow.reports import transitions  # issue 11 (B2): files per stage and outcome, folded likewise

    return {"handed": handed, "rehanded": rehanded, "folded": summary.fold(force=True),
            "folded_transitions": transitions.fold(force=True)}


@job
def reminders() -> dict[str, int]:
    """Daily: reminders and escalations for applications waiting too long, as one digest per person."""
    from . import reminders as r
    from . import schedule

    schedule.next_reminders()
    out = r.run()
    # issue 11: in the first days of December (data), remind communes that have not closed the year's figures
    from . import closing

    out["closing_reminders"] = closing.run()["reminders"]
    from . import expiry  # issue 12: communes whose XHT recognition ends within 90 days (titles.json "validity")

    out["validity_reminders"] = expiry.run()["reminders"]
    return out


@job
def audit_head() -> list[Any]:
    """Daily: record yesterday's chain head."""
    from . import schedule, sealing

    schedule.next_audit_head()
    day, seq, h = sealing.record_head()
    return [day.isoformat(), seq, h]


# Long work (issue 9: spreadsheet import of nominees; workflow/jobs.py): the job row is the truth, RQ only runs it.
JOBS_QUEUE = "hoctap-jobs"  # = notifications.queue.JOBS
JOB_TIMEOUT = 3600  # seconds: a 200,000-row import takes well under a minute; a stuck one is killed after this


@job
def run_job(job_id: int) -> None:
    """Run (or resume) one workflow job by id."""
    from workflow import jobs as workflow_jobs

    workflow_jobs.run(job_id)


def launch(job_id: int) -> None:
    """After commit: enqueue the job on RQ ("hoctap-jobs") when REDIS_URL is set; otherwise run it in a background
    thread with its own app context, so the page can poll its progress (JOBS_INLINE_SYNC runs it right here, for
    tests). Redis being down is not fatal: the job is run in process instead, and the row tells the truth."""
    from flask import current_app

    from workflow import jobs as workflow_jobs

    from . import queue as q

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("JOBS_INLINE_SYNC"):
        workflow_jobs.run(job_id)
        return
    if q.redis_url():
        try:
            q.queue(JOBS_QUEUE).enqueue("notifications.jobs.run_job", job_id, job_timeout=JOB_TIMEOUT,
                                        result_ttl=86400, failure_ttl=7 * 86400, description=f"job {job_id}")
            return
        except Exception:  # noqa: BLE001 - Redis unreachable: run it here rather than leave it queued forever
            log.exception("enqueueing job %s failed; running it in process", job_id)
    import threading

    def body() -> None:
        from workflow.db import db

        with app.app_context():
            try:
                workflow_jobs.run(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=body, name=f"job-{job_id}", daemon=True).start()

"""Command-line entry points: `flask --app wsgi worker`, `outbox relay`, `notify ...`, and `audit head|check-head`
added to the engine's audit group."""
from __future__ import annotations

import json
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import admin, relay, reminders, schedule, sealing, worker
from . import queue as q

outbox_cli = AppGroup("outbox", help="The transactional outbox.")
notify_cli = AppGroup("notify", help="Notices, failed jobs, reminders.")


def _need_redis() -> None:
    if q.redis_url() is None:
        raise click.ClickException("REDIS_URL is not set: jobs run in process, there is no queue to work on")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of a forked work horse.")
@click.option("--queues", default=",".join(q.QUEUES), show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Do not run RQ's scheduler in this worker.")
def worker_command(burst: bool, simple: bool, queues: str, no_scheduler: bool) -> None:
    """Run an RQ worker (with the scheduler) for notices, sealing and reminders."""
    _need_redis()
    worker.run(current_app._get_current_object(), burst=burst, simple=simple,
               queues=tuple(n for n in queues.split(",") if n), with_scheduler=not no_scheduler)


@outbox_cli.command("relay")
@click.option("--once", is_flag=True, help="One pass (relay pending rows, re-hand abandoned ones), then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def relay_command(once: bool, interval: float) -> None:
    """Hand pending outbox rows to RQ and re-hand abandoned ones; loops unless --once."""
    while True:
        handed = relay.relay(rounds=1000)
        rehanded = relay.sweep_abandoned()
        click.echo(f"handed {handed}, re-handed {rehanded}, pending {relay.pending_count()}")
        if once:
            return
        time.sleep(interval)


@notify_cli.command("failed")
@click.option("--json", "as_json", is_flag=True)
def failed_command(as_json: bool) -> None:
    """List jobs that exhausted their retries."""
    _need_redis()
    jobs = admin.failed_jobs()
    if as_json:
        click.echo(json.dumps(jobs, ensure_ascii=False))
        return
    for j in jobs:
        click.echo(f"{j['id']}  {j['queue']}  {j['function']}{tuple(j['args'])}  {j['error']}")
    click.echo(f"{len(jobs)} failed job(s)")


@notify_cli.command("requeue")
@click.argument("job_id", required=False)
@click.option("--all", "everything", is_flag=True)
def requeue_command(job_id: str | None, everything: bool) -> None:
    """Put a failed job (or all of them) back on its queue."""
    _need_redis()
    if everything:
        click.echo(f"requeued {admin.requeue_all()}")
    elif job_id and admin.requeue(job_id):
        click.echo(f"requeued {job_id}")
    else:
        raise click.ClickException(f"no failed job {job_id}")


@notify_cli.command("stuck")
def stuck_command() -> None:
    """List outbox rows the sweep gave up on."""
    rows = admin.stuck_outbox()
    for r in rows:
        click.echo(f"{r['id']}  {r['kind']}  application {r['application_id']}  attempts {r['attempts']}  "
                   f"{r['last_error'] or ''}")
    click.echo(f"{len(rows)} stuck row(s)")


@notify_cli.command("rehand")
@click.argument("outbox_id", type=int)
def rehand_command(outbox_id: int) -> None:
    """Make an undelivered outbox row pending again and relay it."""
    if not admin.rehand(outbox_id):
        raise click.ClickException(f"outbox row {outbox_id} is delivered or does not exist")
    click.echo(f"re-handed {outbox_id}")


@notify_cli.command("reminders")
def reminders_command() -> None:
    """Run the daily reminder scan now (normally scheduled by the worker)."""
    click.echo(json.dumps(reminders.run()))


@notify_cli.command("schedule")
def schedule_command() -> None:
    """Schedule the next run of every recurring job (a worker does this when it starts)."""
    _need_redis()
    schedule.ensure()
    click.echo("scheduled")


@click.command("head")
def head_command() -> None:
    """Record (once a day) and print the chain head, to be kept outside the database."""
    day, seq, h = sealing.record_head()
    click.echo(f"{day.isoformat()} {seq} {h}")


@click.command("check-head")
@click.argument("seq", type=int)
@click.argument("head_hash")
def check_head_command(seq: int, head_hash: str) -> None:
    """Verify the chain and that it still contains the head an auditor kept (detects tail truncation)."""
    from workflow import audit

    report = audit.check_head(seq, head_hash)
    if report.ok:
        click.echo(f"OK: head {seq} present; {report.sealed} sealed, {report.waiting} waiting")
        return
    click.echo(f"BROKEN: {report.problem} ({report.details.get('detail', '')})", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    from workflow.cli import audit_cli

    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(notify_cli)
    if "head" not in audit_cli.commands:
        audit_cli.add_command(head_command)
        audit_cli.add_command(check_head_command)

"""Command-line entry points: `flask --app wsgi demo|workflow|audit ...`."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import audit, demo
from .db import db
from .definitions import mermaid
from .loader import DataError, load_reference_data

demo_cli = AppGroup("demo", help="Demo data.")
workflow_cli = AppGroup("workflow", help="Title definitions, rubrics and approval chains.")
audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@demo_cli.command("seed")
@click.option("--password", default="hoctap-demo", show_default=True, help="Password of every demo user.")
def seed_command(password: str) -> None:
    """Build the demo once (a second run leaves existing data alone)."""
    if demo.already_seeded():
        click.echo("Demo data already present; nothing to do.")
        return
    counts = demo.seed(password, current_app.config["UPLOAD_DIR"])
    click.echo("Demo seeded: " + ", ".join(f"{state}={n}" for state, n in sorted(counts.items())))
    click.echo(f"Every demo user's password: {password}  (list them: flask --app wsgi demo users)")


@demo_cli.command("users")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_command(as_json: bool) -> None:
    """List each demo user with role and unit."""
    users = demo.demo_users()
    if as_json:
        click.echo(json.dumps(users, ensure_ascii=False, indent=1))
        return
    for u in users:
        click.echo(f"{u['username']:<22} {u['role']:<20} {u['unit']}")


@workflow_cli.command("diagram")
@click.argument("title")
def diagram_command(title: str) -> None:
    """Print the Mermaid state diagram generated from the title's machine."""
    try:
        click.echo(mermaid(title.upper()))
    except KeyError:
        raise click.BadParameter(f"unknown title {title}") from None


@workflow_cli.command("load")
def load_command() -> None:
    """Load title types, rubric versions and default approval chains from workflow/data."""
    try:
        rubrics = load_reference_data()
    except DataError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo("Loaded: " + ", ".join(f"{t} {r.version}" for t, r in rubrics.items()))


@audit_cli.command("seal")
def seal_command() -> None:
    """Chain every waiting audit event (normally done by the worker after each commit)."""
    click.echo(f"sealed {audit.seal_all()} events")


@audit_cli.command("verify")
@click.option("--json", "as_json", is_flag=True)
def verify_command(as_json: bool) -> None:
    """Recompute the chain; exit 1 and name the first bad event if anything was altered, removed or reordered."""
    report = audit.verify()
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "sealed": report.sealed, "waiting": report.waiting,
                               "first_bad": report.first_bad, "problem": report.problem,
                               "head_seq": report.head_seq, "head_hash": report.head_hash}))
    elif report.ok:
        click.echo(f"OK: {report.sealed} sealed, {report.waiting} waiting; head {report.head_seq} {report.head_hash}")
    else:
        click.echo(f"BROKEN at event {report.first_bad}: {report.problem} ({report.details['detail']}); "
                   f"{report.sealed} verified before it, {report.waiting} waiting", err=True)
    if not report.ok:
        sys.exit(1)


def register(app: Flask) -> None:
    for group in (demo_cli, workflow_cli, audit_cli):
        app.cli.add_command(group)

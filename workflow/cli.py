"""Command-line entry points: `flask --app wsgi demo|workflow|audit ...` and `db grant-runtime`."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import audit, dbroles, demo
from .db import db
from .definitions import mermaid
from .loader import DataError, load_reference_data

demo_cli = AppGroup("demo", help="Demo data.")
workflow_cli = AppGroup("workflow", help="Title definitions, rubrics and approval chains.")
audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")
users_cli = AppGroup("users", help="Accounts: end sessions, reset a password, deactivate.")
summary_cli = AppGroup("summary", help="Files per unit, campaign and state (the home page's and queue's counts).")


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
    """Recompute the chain with the audit key; exit 1 and name the first bad event if anything was altered, removed
    or reordered, or (when the head file exists) if the chain no longer holds the last head it kept."""
    report = audit.verify_kept()
    kept = report.details.get("kept_head")
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "sealed": report.sealed, "waiting": report.waiting,
                               "first_bad": report.first_bad, "problem": report.problem,
                               "head_seq": report.head_seq, "head_hash": report.head_hash, "kept_head": kept}))
    elif report.ok:
        against = f"; holds kept head {kept}" if kept is not None else ""
        click.echo(f"OK: {report.sealed} sealed, {report.waiting} waiting; head {report.head_seq} "
                   f"{report.head_hash}{against}")
    elif report.first_bad is None:
        click.echo(f"BROKEN: {report.problem} ({report.details['detail']}); {report.sealed} verified, "
                   f"{report.waiting} waiting", err=True)
    else:
        click.echo(f"BROKEN at event {report.first_bad}: {report.problem} ({report.details['detail']}); "
                   f"{report.sealed} verified before it, {report.waiting} waiting", err=True)
    if not report.ok:
        sys.exit(1)


@click.command("grant-runtime")
@click.argument("role", required=False)
def grant_runtime_command(role: str | None) -> None:
    """Give the runtime role exactly its privileges (PostgreSQL; also done after every `db upgrade`). ROLE defaults
    to DATABASE_RUNTIME_ROLE, else DATABASE_URL's user when DATABASE_OWNER_URL is set; runs as the owner."""
    from sqlalchemy import create_engine

    runtime_url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    role = role or dbroles.runtime_role(runtime_url)
    if not role:
        raise click.ClickException("no runtime role: pass ROLE, set DATABASE_RUNTIME_ROLE, or set "
                                   "DATABASE_OWNER_URL (then DATABASE_URL's user is the runtime role)")
    engine = create_engine(dbroles.owner_url() or runtime_url)
    try:
        if engine.dialect.name != "postgresql":
            click.echo(f"{engine.dialect.name} has no roles: nothing to grant")
            return
        with engine.begin() as conn:
            done = dbroles.grant_runtime(conn, role)
    except dbroles.RoleError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    for stmt in done:
        click.echo(stmt)
    click.echo(f"granted the runtime role {role} its privileges ({len(done)} statements)")


def _user(username: str):
    from sqlalchemy import func, select

    from .models import User

    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


def _account_change(change) -> None:
    """Run one change of workflow.accounts and commit it, or explain the refusal."""
    from .errors import WorkflowError

    try:
        change()
    except WorkflowError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message("en")) from exc
    db.session.commit()


@users_cli.command("end-sessions")
@click.argument("username")
def end_sessions_command(username: str) -> None:
    """End every page session and API token of a user at once (a lost phone, a shared computer)."""
    from . import accounts

    user = _user(username)
    _account_change(lambda: accounts.end_sessions(user))
    click.echo(f"every session and token of {user.username} has ended")


@users_cli.command("reset-password")
@click.argument("username")
@click.password_option(help="The new password (asked twice when not given).")
def reset_password_command(username: str, password: str) -> None:
    """Set a new password; the user's sessions and tokens end."""
    from . import accounts

    user = _user(username)
    _account_change(lambda: accounts.reset_password(user, password))
    click.echo(f"password of {user.username} reset; every session and token ended")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Deactivate a user (never the last admin of a province); the user's sessions and tokens end."""
    from . import accounts

    user = _user(username)
    _account_change(lambda: accounts.set_active(user, False))
    click.echo(f"{user.username} deactivated")


@summary_cli.command("check")
def summary_check_command() -> None:
    """Compare the summary with a recount of the applications; exit 1 and list the keys that differ."""
    from . import summary

    wrong = db.session.execute(summary.recount()).all()
    for unit_id, campaign_id, state, counted, actual in wrong:
        click.echo(f"unit {unit_id} campaign {campaign_id} {state}: summary {counted}, applications {actual}")
    from .reports import transitions  # issue 11 (B2): files per stage and outcome, against the audit trail

    moved = db.session.execute(transitions.recount()).all()
    for unit_id, campaign_id, stage, outcome, counted, actual in moved:
        click.echo(f"unit {unit_id} campaign {campaign_id} {stage} {outcome}: transition summary {counted}, "
                   f"audit trail {actual}")
    wrong = wrong + moved
    click.echo("summary OK" if not wrong else f"{len(wrong)} keys differ: run `flask summary rebuild`")
    sys.exit(1 if wrong else 0)


@summary_cli.command("rebuild")
def summary_rebuild_command() -> None:
    """Recount the summary from the applications (after a bulk load with triggers off, or a failed check)."""
    from . import summary
    from .reports import transitions

    keys = summary.rebuild()
    moved = transitions.rebuild()
    db.session.commit()
    click.echo(f"summary rebuilt: {keys} keys")
    click.echo(f"transition summary rebuilt: {moved} keys")


def register(app: Flask) -> None:
    from flask_migrate.cli import db as db_group

    for group in (demo_cli, workflow_cli, audit_cli, users_cli, summary_cli):
        app.cli.add_command(group)
    if "grant-runtime" not in db_group.commands:
        db_group.add_command(grant_runtime_command)

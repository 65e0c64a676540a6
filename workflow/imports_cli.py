"""`flask --app wsgi nominees import FILE --campaign ID --unit CODE [--dry-run] [--user USERNAME]`: the same import
as the page's, run in this process with progress on the terminal; `nominees resume JOB` continues a job a killed
worker left behind (rows already done are skipped, nothing is created twice)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .db import db

nominees_cli = AppGroup("nominees", help="Nominees: import a spreadsheet (xlsx or csv) into a campaign.")


def _progress(job, _begin: int, started: float = 0.0) -> None:
    seconds = max(time.monotonic() - started, 1e-3)
    click.echo(f"  {job.done}/{job.total} rows, {job.done / seconds:,.0f} rows/s, created {job.created}, "
               f"duplicates {job.duplicates}, rows in error {job.error_count}")


def _finish(job_id: int, file: Path | None, errors_path: Path | None) -> None:
    from . import jobs
    from .imports import error_workbook

    job = db.session.get(jobs.Job, job_id)
    s = jobs.status(job, "en")
    click.echo(f"{'Preview' if job.dry_run else 'Import'} {job.status}: {s['total']} rows, created {s['created']}, "
               f"duplicates {s['duplicates']}, valid {s['valid']}, rows in error {s['error_count']}, "
               f"{s['rows_per_second']:,.0f} rows/s")
    if job.failure:
        click.echo(f"Failed: {job.failure}", err=True)
    if job.error_count:
        target = errors_path or (file.with_name(f"{file.stem}.loi.xlsx") if file else Path(f"job-{job.id}.loi.xlsx"))
        target.write_bytes(error_workbook(job, "vi"))
        click.echo(f"Rows in error written to {target}")
    if job.status != "done":
        sys.exit(2)


def _run(job_id: int) -> None:
    from . import jobs

    started = time.monotonic()
    jobs.run(job_id, after_chunk=lambda job, begin: _progress(job, begin, started))


@nominees_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", required=True, type=int, help="The campaign's id.")
@click.option("--unit", "unit_code", required=True, help="The code of the unit importing (a branch or above).")
@click.option("--dry-run", is_flag=True, help="Judge every row and count; write nothing but the job.")
@click.option("--user", "username", default=None, help="Import as this user (default: the only officer of --unit).")
@click.option("--errors", "errors_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the rows in error (default: FILE.loi.xlsx beside the file).")
def import_command(file: Path, campaign_id: int, unit_code: str, dry_run: bool, username: str | None,
                   errors_path: Path | None) -> None:
    """Import nominees from FILE; prints progress and the counts; exits 1 on a refused file."""
    from . import imports
    from .errors import WorkflowError
    from .models import Campaign, RoleGrant, Unit, User

    campaign = db.session.get(Campaign, campaign_id)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if campaign is None or unit is None:
        click.echo("No such campaign or unit.", err=True)
        sys.exit(1)
    if username:
        user = db.session.scalar(select(User).where(User.username == username))
    else:
        users = db.session.scalars(select(User).join(RoleGrant).join(Unit, Unit.id == RoleGrant.unit_id).where(
            RoleGrant.role == "branch_officer", Unit.path.startswith(unit.path)).distinct()).all()
        user = users[0] if len(users) == 1 else None
        if user is None:
            click.echo("Name the importing officer with --user.", err=True)
            sys.exit(1)
    if user is None:
        click.echo("No such user.", err=True)
        sys.exit(1)
    try:
        job = imports.start(campaign, unit, user, file_name=file.name, data=file.read_bytes(), dry_run=dry_run)
    except WorkflowError as exc:
        db.session.rollback()
        click.echo(f"Refused ({exc.code}): {exc.message('en')}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Job {job.id}: {job.total} rows in {file.name}")
    job_id = job.id
    _run(job_id)
    _finish(job_id, file, errors_path)


@nominees_cli.command("resume")
@click.argument("job_id", type=int)
@click.option("--errors", "errors_path", default=None, type=click.Path(dir_okay=False, path_type=Path))
def resume_command(job_id: int, errors_path: Path | None) -> None:
    """Continue an import job from the rows it has done (after a killed worker); a finished job is left alone."""
    from . import jobs

    if db.session.get(jobs.Job, job_id) is None:
        click.echo("No such job.", err=True)
        sys.exit(1)
    _run(job_id)
    _finish(job_id, None, errors_path)


def register(app: Flask) -> None:
    """Add the nominees group to the app's CLI."""
    app.cli.add_command(nominees_cli)

"""`flask --app wsgi units ...`: the units commands. The group lives here so the mergers' commands (rehome) join
it; create_app registers it with `register(app)`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from ..db import db

units_cli = AppGroup("units", help="Units of a province: import the official commune list.")


@units_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--province", required=True, help="The province's name (created if absent), e.g. \"Bắc Ninh\".")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; store nothing.")
def import_command(file: Path, province: str, dry_run: bool) -> None:
    """Import a province's commune list (gso_code, name, type, population, area_km2, former_units): all or
    nothing; a second run of the same file changes nothing."""
    from .units import import_communes

    report = import_communes(province, file.read_bytes(), None, dry_run=dry_run)
    click.echo(f"Province: {report.province}" + (" (new)" if report.province_created else ""))
    for problem in report.errors:
        click.echo(f"  line {problem.line}: {problem.field}: {problem.message('en')}", err=True)
    click.echo(report.summary())
    if report.errors:
        db.session.rollback()
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()


def register(app: Flask) -> None:
    """Add the units group to the app's CLI."""
    app.cli.add_command(units_cli)


from . import mergers_cli  # noqa: E402, F401  (the 2025 mergers: `units rehome` joins this group)

"""`flask --app wsgi units rehome --province NAME [--dry-run] [--csv FILE]`: after a post-merger list is imported,
move the old units' records under their successors and say what was moved, what waits for a hand mapping and
which former names matched nothing. Runs as the system (no actor); one commit, or none on a dry run."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Unit
from . import mergers


def find_province(name: str) -> Unit:
    """A province by its name (as the import finds it: case, diacritics and "Tỉnh" ignored) or its code."""
    from .units import find_province as by_name

    unit = by_name(name) or db.session.scalar(select(Unit).where(Unit.level == "province", Unit.code == name))
    if unit is None:
        raise click.ClickException(f"no province named {name!r}")
    return unit


@click.command("rehome")
@click.option("--province", "province_name", required=True, help="The province's name (or code).")
@click.option("--dry-run", is_flag=True, help="Report what would move; write nothing.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the report to this CSV file.")
@with_appcontext
def rehome_command(province_name: str, dry_run: bool, csv_path: str | None) -> None:
    """Move the live files and recognitions of the old units under their successors (2025 mergers)."""
    province = find_province(province_name)
    try:
        rows = mergers.rehome(province, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    for row in rows:
        click.echo(f"{row.status:<19} {row.former} -> {row.successor}: branches={row.branches} "
                   f"applications={row.applications}{'  (' + row.note + ')' if row.note else ''}")
    totals = mergers.summary(rows)
    click.echo(("DRY RUN, nothing written. " if dry_run else "") + ", ".join(
        f"{k}={v}" for k, v in sorted(totals.items())))
    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(mergers.report_csv(rows))
        click.echo(f"report written to {csv_path}")


def _register() -> None:
    """Join the units command group when it exists (workflow/admin/cli.py imports this module at its end)."""
    try:
        from .cli import units_cli  # type: ignore[attr-defined]
    except ImportError:
        return
    if "rehome" not in units_cli.commands:
        units_cli.add_command(rehome_command)


_register()

"""`flask --app wsgi certificates issue|pdf`: certificates for files decided before certificates existed (the
backfill: all decisions or one), and a decision's PDFs for a print shop, one file per branch or commune."""
from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import certificates
from .db import db
from .models import Decision

certificates_cli = AppGroup("certificates", help="Certificates: issue missing ones, write a decision's PDFs.")


@certificates_cli.command("issue")
@click.option("--decision", "decision_id", type=int, default=None, help="Only this decision (default: all).")
def issue_command(decision_id: int | None) -> None:
    """Issue certificates for recognised files of decisions that have none yet (safe to run again)."""
    if decision_id is not None and db.session.get(Decision, decision_id) is None:
        raise click.ClickException(f"no decision {decision_id}")
    issued = certificates.backfill(decision_id)
    db.session.commit()
    click.echo(f"{sum(issued.values())} certificates issued for {len(issued)} decisions")


@certificates_cli.command("pdf")
@click.option("--decision", "decision_id", type=int, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("--base-url", default=None, help="The public address (default PUBLIC_BASE_URL).")
def pdf_command(decision_id: int, out_dir: str, base_url: str | None) -> None:
    """One PDF per branch (CDHT) or commune (XHT) of the decision."""
    from .papers import certificates as papers

    decision = db.session.get(Decision, decision_id)
    if decision is None:
        raise click.ClickException(f"no decision {decision_id}")
    base = base_url or current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise click.ClickException("set PUBLIC_BASE_URL or pass --base-url: the address under each QR code")
    os.makedirs(out_dir, exist_ok=True)
    for unit, _n in certificates.batches(decision):
        pdf, pages = papers.render(certificates.of_decision(decision, None, unit), base,
                                   current_app.config.get("CERTIFICATE_PAPER"))
        path = os.path.join(out_dir, f"giay-chung-nhan-{decision.id}-{unit.code}.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        click.echo(f"{path}: {pages} pages ({unit.name})")


def register(app: Flask) -> None:
    app.cli.add_command(certificates_cli)

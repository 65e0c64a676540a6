"""`flask --app wsgi records export|verify|key`: signed recognition records (workflow/records.py, docs/records.md).

The export runs on the server with the operator's rights (every recognition of the province-year or citizen);
the API (GET /api/v1/records) is the scoped way for callers from outside."""
from __future__ import annotations

import os
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import records, recordskey
from .admin.units import find_province
from .errors import WorkflowError
from .inputs import canonical_citizen_id

records_cli = AppGroup("records", help="Signed recognition records: export, verify, the public key.")
DEFAULT_ISSUER = "hoctap-workflow"


def signing_key():
    """The instance's private key (workflow/recordskey.py), from the app's configuration."""
    return recordskey.load(current_app.instance_path, current_app.config)


def issuer() -> str:
    return str(current_app.config.get("RECORDS_ISSUER") or os.environ.get("RECORDS_ISSUER") or DEFAULT_ISSUER)


def trusted_keys(extra_files: tuple[str, ...] = ()) -> dict[str, recordskey.PublicKey]:
    """The keys a file may be signed by: this instance's own, and any public key files given."""
    keys: dict[str, recordskey.PublicKey] = {}
    try:
        own = recordskey.PublicKey(signing_key().public_key())
        keys[own.key_id] = own
    except recordskey.RecordsKeyError:
        if not extra_files:
            raise
    for path in extra_files:
        with open(path, "rb") as f:
            key = recordskey.parse_public(f.read())
        keys[key.key_id] = key
    return keys


class _Counter:
    def __init__(self, rows):
        self.rows, self.n = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.n += 1
            yield records.record_of(row)


@records_cli.command("export")
@click.option("--province", help="The province's name (case, diacritics and a leading 'Tỉnh' ignored).")
@click.option("--year", type=int, help="The campaigns' year.")
@click.option("--citizen", help="Instead of a province-year: every recognition of this CCCD.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The file to write ('-' for standard output).")
def export_command(province: str | None, year: int | None, citizen: str | None, out: str) -> None:
    """Write the signed records of a province and year (or of one citizen) as JSON, streamed from the database."""
    if citizen:
        if province or year:
            raise click.UsageError("--citizen goes alone, without --province and --year")
        try:
            citizen_id = canonical_citizen_id(citizen)
        except WorkflowError as exc:
            raise click.BadParameter(exc.message("en"), param_hint="--citizen") from None
        stmt, scope = records.citizen_query(citizen_id), records.citizen_scope(citizen_id)
    else:
        if not province or year is None:
            raise click.UsageError("give --province and --year (or --citizen)")
        unit = find_province(province)
        if unit is None:
            raise click.BadParameter(f"no province named {province!r}", param_hint="--province")
        stmt, scope = records.province_year_query(unit.id, year), records.province_scope(unit, year)
    key = signing_key()
    rows = _Counter(records.stream_rows(stmt))
    started = time.perf_counter()
    stream = click.get_binary_stream("stdout") if out == "-" else open(out, "wb")  # noqa: SIM115
    try:
        for chunk in records.write(rows, scope, key, issuer=issuer()):
            stream.write(chunk)
    finally:
        if out != "-":
            stream.close()
    key_id = recordskey.PublicKey(key.public_key()).key_id
    click.echo(f"Wrote {rows.n} records to {out}, signed by key {key_id} "
               f"({time.perf_counter() - started:.1f} s)", err=out == "-")


@records_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A public key (PEM, as GET /api/v1/records/key publishes it) to trust besides this instance's.")
def verify_command(file: str, key_files: tuple[str, ...]) -> None:
    """Check a records file: JSON, the schema, a known key, the signature. Exit 0 when it verifies, 1 if not."""
    keys = trusted_keys(key_files)
    try:
        with open(file, "rb") as f:
            result = records.verify(f, keys)  # a record at a time: a million records are never parsed whole
    except records.VerifyError as exc:
        click.echo(f"FAILED ({exc.what}): {exc.detail}", err=True)
        sys.exit(1)
    click.echo(f"OK: {result.count} records, signed by key {result.key_id}")


@records_cli.command("key")
def key_command() -> None:
    """Print this instance's public key (PEM) and its id: what a receiving system is given to trust."""
    public = recordskey.PublicKey(signing_key().public_key())
    click.echo(f"key id: {public.key_id}")
    click.echo(public.pem, nl=False)


def register(app: Flask) -> None:
    """Add the records group; refuse a production app without a configured signing key."""
    recordskey.check_production(app.config)
    app.cli.add_command(records_cli)

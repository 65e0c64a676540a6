"""The migrations build the schema the models describe: every table, column, type, index and foreign key of
workflow/models.py, on SQLite and PostgreSQL, so a model change without its migration (or the reverse) fails here
instead of on a province's database."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table

from workflow.db import db

# Indexes with PostgreSQL operator classes the models cannot state (migration 0012 builds them by SQL).
BY_SQL = {"ix_applications_name_trgm", "ix_applications_citizen_prefix"}


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and reflected and compare_to is None and name in BY_SQL)


def differences(metadata) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
        return compare_metadata(context, metadata)


def test_the_migrated_database_matches_the_models(app):
    assert differences(db.metadata) == []


def test_a_model_without_its_migration_is_found(app):
    extra = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    assert [d[0] for d in differences(extra)] == ["add_table"]

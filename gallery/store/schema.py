"""Schema changes through Alembic: every process brings the database to the newest revision at start.

Runs inside database.schema_lock(), on its connection, so processes starting together migrate once.
A database made by a gallery before migrations existed (tables from create_all, no alembic_version)
is stamped at the baseline first, which is exactly the schema those galleries created.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from ..extensions import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # users, share links, audit events: the schema of galleries before Alembic

#: Engine-specific search structures made by the migrations, outside the metadata (SQLite FTS5
#: tables with their shadow tables; PostgreSQL pg_trgm and text_pattern_ops indexes); autogenerate
#: leaves them alone.
SEARCH_OBJECTS = (
    "index_patients_fts",
    "index_studies_fts",
    "ix_index_patients_search_trgm",
    "ix_index_studies_search_trgm",
    "ix_index_search_terms_pattern",
    "ix_index_search_terms_sorted",
)


def include_object(item: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate's filter: the engine-specific search structures are the migrations' alone."""
    return not (name and (name in SEARCH_OBJECTS or name.startswith(tuple(f"{t}_" for t in SEARCH_OBJECTS))))


def target_metadata() -> MetaData:
    """The tables the code declares (db.metadata; create_app has imported every module declaring some)."""
    from . import models  # noqa: F401 - registers the tables

    return db.metadata


def alembic_config(connection: Connection) -> Config:
    """Alembic's settings without an alembic.ini: the migrations folder, and the connection to run on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(connection: Connection) -> None:
    """Stamp a pre-Alembic database at the baseline, then upgrade to the newest revision."""
    config = alembic_config(connection)
    inspector = inspect(connection)
    if not inspector.has_table("alembic_version") and inspector.has_table("users"):
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")

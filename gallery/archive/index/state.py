"""What the index knows about itself: small JSON values by key in `index_state` (the syncer's checkpoint,
progress, Orthanc's statistics, sweeps) and the trigger-kept row counts."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ...orthanc.errors import OrthancError
from . import tables


def read_state(connection: Connection, key: str) -> Any:
    value = connection.scalar(select(tables.state.c.value).where(tables.state.c.key == key))
    return json.loads(value) if value is not None else None


def write_state(connection: Connection, key: str, value: Any) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(tables.state).values(key=key, value=json.dumps(value))
    update_value = {"value": statement.excluded.value}
    connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_=update_value))


def merge_state(connection: Connection, key: str, **values: Any) -> dict[str, Any]:
    current = read_state(connection, key) or {}
    current.update(values)
    write_state(connection, key, current)
    return current


def error_text(error: Exception) -> str:
    """What the status may show: the REST path and Orthanc's message, never a URL or host."""
    if isinstance(error, OrthancError):
        return f"{error.path}: {error.message}"
    return type(error).__name__


def index_counts(connection: Connection) -> dict[str, int]:
    """Studies and series in the index, from the trigger-kept index_counts (no count(*) at any size)."""
    c = tables.counts.c
    rows = dict(connection.execute(select(c.name, c.rows)).all())
    return {"studies": int(rows.get("index_studies", 0)), "series": int(rows.get("index_series", 0))}

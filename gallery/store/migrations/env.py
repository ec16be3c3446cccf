"""Alembic's entry point: migrations run on the connection that database.schema_lock() holds.

The gallery runs them itself at start (database.migrate); there is no alembic.ini. The
connection comes in `config.attributes["connection"]`, already inside the locked transaction,
so Alembic neither opens nor commits one of its own.
"""

from __future__ import annotations

from alembic import context

from gallery.store.schema import include_object, target_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

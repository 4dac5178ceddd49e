"""The Alembic environment of every migration history (runtime's and each service's).

The connection, the metadata and the version table come from ``nrm_runtime.schema``:
no URL here, the service's own settings decide where the database is.
"""

from __future__ import annotations

from typing import Any

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through nrm_runtime.schema, which gives the connection")
target_metadata = config.attributes["target_metadata"]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # Each history owns only its tables: the other history's tables (and version
    # table) in the same database are not this history's to create or drop.
    if type_ == "table":
        return name in target_metadata.tables
    return True


context.configure(
    connection=connection,
    target_metadata=target_metadata,
    version_table=config.attributes["version_table"],
    include_name=include_name,
    render_as_batch=True,  # SQLite alters a table by copying it; batch mode does that
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

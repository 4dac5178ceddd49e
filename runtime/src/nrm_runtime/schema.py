"""Schema migrations (Alembic): the runtime's tables and each service's own, versioned.

Every database holds two migration histories, each with its own version table: the
runtime's (outbox, processed messages: ``nrm_runtime/migration_env/runtime_versions``) and the
service's (``<service>/migrations``). Both share one Alembic environment
(``nrm_runtime/migration_env``). A service's start brings both to head. Autogenerate a
service's next revision with ``nrm migration <service> -m "what changed"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from nrm_runtime.tables import runtime_metadata

ENVIRONMENT = Path(__file__).parent / "migration_env"


@dataclass(frozen=True)
class MigrationHistory:
    """One line of schema versions: where its scripts are, what it describes."""

    name: str
    versions: Path
    metadata: MetaData
    version_table: str

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(ENVIRONMENT))
        # One location, given whole: a path may hold spaces, never the separator.
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(self.versions))
        config.attributes["connection"] = connection
        config.attributes["target_metadata"] = self.metadata
        config.attributes["version_table"] = self.version_table
        return config


def runtime_history() -> MigrationHistory:
    return MigrationHistory(
        "runtime", ENVIRONMENT / "runtime_versions", runtime_metadata, "nrm_runtime_version"
    )


def upgrade_to_head(connection: Connection, histories: list[MigrationHistory]) -> None:
    """Bring every history to its newest revision (synchronous: call via ``run_sync``)."""
    for history in histories:
        command.upgrade(history.config(connection), "head")


def pending_changes(connection: Connection, history: MigrationHistory) -> list[Any]:
    """What the metadata has that the migrated schema lacks (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    tables = history.metadata.tables

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return name in tables if type_ == "table" else True

    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, history.metadata))


def autogenerate_revision(history: MigrationHistory, message: str) -> None:
    """Write the next revision of ``history``: the difference between its head and its
    metadata, computed on a scratch in-memory SQLite database."""
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        upgrade_to_head(connection, [history])
        command.revision(history.config(connection), message=message, autogenerate=True)


def history_of(name: str) -> MigrationHistory:
    """The history of ``runtime`` or of an installed service (``referral``,
    ``shelter-registry``...), as the service registered its storage
    (:mod:`nrm_runtime.registration`)."""
    if name == "runtime":
        return runtime_history()
    from nrm_runtime.registration import storage_of

    storage = storage_of(name)
    return MigrationHistory(name, storage.migrations, storage.tables, "alembic_version")

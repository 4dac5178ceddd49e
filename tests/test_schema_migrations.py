"""Every table a service declares is built by its migrations, on SQLite and on
PostgreSQL: a model changed without a revision fails here (write the revision with
``nrm migration <service> -m "..."``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from nrm_runtime.schema import MigrationHistory, history_of, pending_changes, upgrade_to_head

HISTORIES = ["runtime", "identification", "referral", "shelter-registry", "repatriation"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def connection(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[AsyncConnection]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    engine = create_async_engine(url)
    async with engine.begin() as open_connection:
        yield open_connection
    await engine.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.mark.parametrize("name", HISTORIES)
async def test_migrations_build_exactly_the_declared_tables(name: str, connection) -> None:
    history = history_of(name)
    await connection.run_sync(upgrade_to_head, [history])
    assert await connection.run_sync(pending_changes, history) == []


def _down_and_up(connection: Connection, history: MigrationHistory) -> tuple[set[str], set[str]]:
    upgrade_to_head(connection, [history])
    command.downgrade(history.config(connection), "base")
    after_down = table_names(connection)
    upgrade_to_head(connection, [history])
    return after_down, table_names(connection)


@pytest.mark.parametrize("name", HISTORIES)
async def test_migrations_go_down_to_nothing_and_up_again(name: str, connection) -> None:
    history = history_of(name)
    after_down, after_up = await connection.run_sync(_down_and_up, history)
    assert after_down <= {history.version_table}
    assert set(history.metadata.tables) <= after_up


async def test_a_service_database_holds_both_histories_side_by_side(connection) -> None:
    histories = [history_of("runtime"), history_of("referral")]
    await connection.run_sync(upgrade_to_head, histories)
    await connection.run_sync(upgrade_to_head, histories)  # a restart: nothing to do
    for history in histories:
        assert await connection.run_sync(pending_changes, history) == []
    tables = await connection.run_sync(table_names)
    assert {"outbox", "processed_message", "referral_case"} <= tables
    assert {"alembic_version", "nrm_runtime_version"} <= tables

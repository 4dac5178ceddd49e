"""Every table a service declares is built by its migrations: a model changed without a
revision fails here (write one with ``nrm migration <service> -m "..."``)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from nrm_runtime.schema import history_of, pending_changes, upgrade_to_head

HISTORIES = ["runtime", "identification", "referral", "shelter-registry", "repatriation"]


@pytest.mark.parametrize("name", HISTORIES)
def test_migrations_build_exactly_the_declared_tables(name: str, tmp_path) -> None:
    history = history_of(name)
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.begin() as connection:
        upgrade_to_head(connection, [history])
        assert pending_changes(connection, history) == []


@pytest.mark.parametrize("name", HISTORIES)
def test_migrations_go_down_to_nothing_and_up_again(name: str, tmp_path) -> None:
    history = history_of(name)
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.begin() as connection:
        upgrade_to_head(connection, [history])
        command.downgrade(history.config(connection), "base")
        assert set(inspect(connection).get_table_names()) <= {history.version_table}
        upgrade_to_head(connection, [history])
        assert set(history.metadata.tables) <= set(inspect(connection).get_table_names())


def test_a_service_database_holds_both_histories_side_by_side(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    histories = [history_of("runtime"), history_of("referral")]
    with engine.begin() as connection:
        upgrade_to_head(connection, histories)
        upgrade_to_head(connection, histories)  # a restart: nothing to do, nothing broken
        tables = set(inspect(connection).get_table_names())
        for history in histories:
            assert pending_changes(connection, history) == []
    assert {"outbox", "processed_message", "referral_case"} <= tables
    assert {"alembic_version", "nrm_runtime_version"} <= tables

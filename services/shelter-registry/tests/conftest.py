"""The shelter registry in-process: real SQLite in tmp_path, no Kafka, a fake clock.

The reference facilities are loaded at start (as the setting asks), so tests read like
the registry MOSVY would run. Events going out are read from the outbox; events coming
in are run through the handlers as the runtime's consumer runs them. Test modules get
these helpers through fixtures only, never by importing this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nrm_contracts import Actor, Envelope, EventPayload
from nrm_deploy.testing import bearer
from nrm_runtime.database import Database
from nrm_runtime.fake_clock import FakeClock
from shelter_registry.app import create_app
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.entrypoints.events import placement_handlers
from shelter_registry.settings import ShelterRegistrySettings
from shelter_registry.usecases.reference_data import reference_facility_id
from shelter_registry.usecases.reservations import expire_reservations

UNUSED_BROKER = "127.0.0.1:1"
REFERRAL_SERVICE = Actor("mosvy", "case_manager")


# The case events a test looks for: not the audit log's signed tree heads, which the
# sequencer writes to the same outbox whenever its interval passes during a test.
CASE_EVENTS_IN_OUTBOX = (
    "SELECT * FROM outbox WHERE event_type NOT LIKE '%.audit.tree_head_signed.%' ORDER BY sequence"
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))


@pytest.fixture
def registry_db(tmp_path: Path) -> Path:
    return tmp_path / "shelter-registry.db"


@pytest.fixture
def make_app(registry_db: Path, token_keys: Path, clock: FakeClock) -> Callable[..., FastAPI]:
    """``make_app(load_reference_data=False, ...)``: the app with these settings."""

    def _make(**settings: Any) -> FastAPI:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": f"sqlite+aiosqlite:///{registry_db}",
            "kafka_bootstrap_servers": UNUSED_BROKER,
            "jwt_jwks_file": token_keys / "dev-jwks.json",
            "field_keys_file": token_keys / "field-keys.json",
            "load_reference_data": True,
            "reservation_hold_hours": 48,
            **settings,
        }
        return create_app(ShelterRegistrySettings(**values), clock=clock)

    return _make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    """The running registry with the reference facilities loaded."""
    with TestClient(make_app()) as running:
        yield running


@pytest.fixture
def auth(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``auth("ngo-kdei", "provider_staff")``: the headers of a caller of that organisation."""

    def _auth(organisation: str, *roles: str) -> dict[str, str]:
        return bearer(mint(organisation, *roles))

    return _auth


@pytest.fixture
def facility_id() -> Callable[[str], str]:
    """``facility_id("poipet-transit-centre")``: the id of a reference facility."""
    return lambda key: str(reference_facility_id(key))


@pytest.fixture
def registrar(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """MOSVY's registrar."""
    return auth("mosvy", "admin")


@pytest.fixture
def facility(client: TestClient, registrar: dict[str, str]) -> Callable[[str], dict[str, Any]]:
    """``facility(id)``: the directory entry as the API gives it now."""

    def _get(identifier: str) -> dict[str, Any]:
        response = client.get(f"/facilities/{identifier}", headers=registrar)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    return _get


def _rows(database: Path, query: str) -> list[sqlite3.Row]:
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


@pytest.fixture
def outbox_events(registry_db: Path) -> Callable[..., list[Envelope]]:
    """``outbox_events("capacity.changed")``: the events recorded, in commit order."""

    def _events(kind: str = "") -> list[Envelope]:
        rows = _rows(registry_db, CASE_EVENTS_IN_OUTBOX)
        envelopes = [
            Envelope.from_kafka(
                row["message_key"].encode(),
                row["message_value"],
                {"content-type": row["content_type"].encode()},
            )
            for row in rows
        ]
        return [e for e in envelopes if f".{kind}." in e.type or not kind]

    return _events


@pytest.fixture
def rows(registry_db: Path) -> Callable[[str], list[sqlite3.Row]]:
    return lambda query: _rows(registry_db, query)


@pytest.fixture
def deliver(client: TestClient) -> Callable[[EventPayload], None]:
    """Deliver a consumed event as the runtime's consumer does: the handler and the
    processed-message record in one unit of work, on the app's event loop."""
    context: ShelterRegistryContext = client.app.state.shelter_registry  # type: ignore[attr-defined]
    handlers = placement_handlers(context)
    database: Database = client.app.state.database  # type: ignore[attr-defined]

    async def _handle(event: EventPayload) -> None:
        async with database.unit_of_work(actor=REFERRAL_SERVICE) as uow:
            await handlers[type(event)](event, uow)
            await uow.commit()

    def _deliver(event: EventPayload) -> None:
        assert client.portal is not None
        client.portal.call(_handle, event)

    return _deliver


@pytest.fixture
def sweep(client: TestClient, clock: FakeClock) -> Callable[[], int]:
    """Run one sweep of the reservation-expiry task now; how many expired."""
    database: Database = client.app.state.database  # type: ignore[attr-defined]

    def _sweep() -> int:
        assert client.portal is not None
        return client.portal.call(expire_reservations, database, clock())

    return _sweep


@pytest.fixture
def new_id() -> Callable[[], str]:
    from uuid import uuid4

    return lambda: str(uuid4())

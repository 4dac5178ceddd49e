"""The referral service in-process: real SQLite in tmp_path, no Kafka.

Events come in by calling the handler in a unit of work, as the consumer does; events
going out are read from the outbox. Test modules get these helpers through fixtures only.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.trace import SpanKind

from nrm_contracts import Actor, Envelope, EventPayload
from nrm_contracts.events.identification import ConsentChanged, VictimPresumed
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_contracts.events.shelter_registry import FacilityRegistered
from nrm_deploy.testing import bearer
from nrm_runtime.database import Database
from nrm_runtime.fake_clock import FakeClock
from nrm_runtime.field_crypto import create_key_file
from nrm_runtime.tracing import span_from_traceparent
from referral import store
from referral.app import create_app
from referral.entrypoints.events import HANDLERS
from referral.settings import ReferralSettings

UNUSED_BROKER = "127.0.0.1:1"


class FakeResolver:
    """Answers the addresses the test gave each name, and counts the questions; any other
    name does not resolve, as an unknown name in DNS."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.names[host])


DECIDER = Actor("mosvy", "competent_authority")
# The trace of the request that decided, as the consumed event carries it.
INCOMING_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


# The case events a test looks for: not the audit log's signed tree heads, which the
# sequencer writes to the same outbox whenever its interval passes during a test.
CASE_EVENTS_IN_OUTBOX = (
    "SELECT * FROM outbox WHERE event_type NOT LIKE '%.audit.tree_head_signed.%' ORDER BY sequence"
)


@pytest.fixture
def victim_presumed() -> Callable[..., VictimPresumed]:
    """``victim_presumed(case_id=...)``: a positive preliminary decision on a new case,
    a child with a guardian's consent to referral unless the fields say otherwise."""

    def _event(**fields: Any) -> VictimPresumed:
        values: dict[str, Any] = {
            "case_id": uuid4(),
            "decision_id": uuid4(),
            "person_ref": uuid4(),
            "decided_on": date(2026, 3, 4),
            "sex": "female",
            "age_band": "12_to_17",
            "is_child": True,
            "nationality": "KHM",
            "exploitation_types": ["sexual_exploitation"],
            "province_code": "02",
            "consented_purposes": ["referral"],
            "referral_consent_basis": "guardian",
            "recovery_period_ends_on": date(2026, 4, 3),
            "final_decision_due_on": date(2026, 4, 18),
            **fields,
        }
        return VictimPresumed(**values)

    return _event


@pytest.fixture
def consent_changed() -> Callable[..., ConsentChanged]:
    """``consent_changed(case_id, status="withdrawn")``: consent to referral changed."""

    def _event(case_id: UUID, **fields: Any) -> ConsentChanged:
        values: dict[str, Any] = {
            "case_id": case_id,
            "consent_id": uuid4(),
            "person_ref": uuid4(),
            "purpose": "referral",
            "status": "withdrawn",
            "basis": "guardian",
            "is_child": True,
            "recorded_at": datetime.now(UTC),
            **fields,
        }
        return ConsentChanged(**values)

    return _event


async def handle(database: Database, event: EventPayload) -> list[Envelope]:
    """Run the event's handler as the consumer does: in the span continuing the event's
    trace, in a unit of work on behalf of the event's actor. Return the events it recorded."""
    with span_from_traceparent(
        f"process {event.event_type}", INCOMING_TRACEPARENT, SpanKind.CONSUMER
    ):
        async with database.unit_of_work(actor=DECIDER) as uow:
            await HANDLERS[type(event)](event, uow)
            await uow.commit()
            return uow.recorded


@pytest.fixture
def referral_db(tmp_path: Path) -> Path:
    return tmp_path / "referral.db"


@pytest.fixture
async def referral_database(referral_db: Path) -> AsyncIterator[Database]:
    """The service's database on its own, schema created, without the app."""
    database = Database(
        f"sqlite+aiosqlite:///{referral_db}",
        service_metadata=store.tables,
        event_source="/nrm/referral",
    )
    await database.create_schema()
    yield database
    await database.dispose()


@pytest.fixture
def field_keys(tmp_path: Path) -> Path:
    """A field-encryption key ring of the test's own."""
    return create_key_file(tmp_path / "field-keys.json")


@pytest.fixture
def clock() -> FakeClock:
    """The service's clock, moved by the test."""
    return FakeClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))


@pytest.fixture
def referral_settings(referral_db: Path, token_keys: Path, field_keys: Path) -> ReferralSettings:
    return ReferralSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{referral_db}",
        kafka_bootstrap_servers=UNUSED_BROKER,
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=field_keys,
        # The tests run the sweeps and deliveries themselves, on the fake clock.
        deadline_sweep_seconds=3600,
        delivery_poll_seconds=3600,
    )


@pytest.fixture
def referral_app(referral_settings: ReferralSettings, clock: FakeClock) -> FastAPI:
    return create_app(referral_settings, clock)


@pytest.fixture
def client(referral_app: FastAPI) -> Iterator[TestClient]:
    """The running app: the lifespan has created the schema."""
    with TestClient(referral_app) as running:
        yield running


@pytest.fixture
def resolve_names(client: TestClient) -> Callable[[dict[str, list[str]]], FakeResolver]:
    """``resolve_names({"ngo.example.org": ["93.184.216.34"]})``: from now on the app
    resolves webhook hosts so (no DNS), at registration and in the delivery workers the
    test builds from ``app.state.referral``."""

    def _resolve(names: dict[str, list[str]]) -> FakeResolver:
        resolver = FakeResolver(names)
        app: FastAPI = client.app  # type: ignore[assignment]
        app.state.referral = replace(app.state.referral, resolve=resolver)
        return resolver

    return _resolve


@pytest.fixture
def open_cases(
    client: TestClient, victim_presumed: Callable[..., VictimPresumed]
) -> Callable[[int], list[ReferralCaseOpened]]:
    """``open_cases(3)``: three victims presumed with consent to referral, handled through
    the app's database on the app's event loop."""

    def _open(count: int) -> list[ReferralCaseOpened]:
        database: Database = client.app.state.database  # type: ignore[attr-defined]
        assert client.portal is not None
        opened: list[ReferralCaseOpened] = []
        for _ in range(count):
            recorded = client.portal.call(handle, database, victim_presumed())
            opened += [envelope.data for envelope in recorded]  # type: ignore[misc]
        return opened

    return _open


@pytest.fixture
def handle_event() -> Callable[..., Any]:
    """``await handle_event(database, event)``: the consumer's way of running the handler."""
    return handle


@pytest.fixture
def incoming_traceparent() -> str:
    return INCOMING_TRACEPARENT


@pytest.fixture
def auth(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``auth("mosvy", "case_manager")``: the headers of a caller of that organisation."""

    def _auth(organisation: str, *roles: str) -> dict[str, str]:
        return bearer(mint(organisation, *roles))

    return _auth


@pytest.fixture
def outbox_rows(referral_db: Path) -> Callable[[], list[sqlite3.Row]]:
    """The outbox as stored, in commit order (read with a plain sqlite3 connection)."""

    def _rows() -> list[sqlite3.Row]:
        connection = sqlite3.connect(referral_db)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(CASE_EVENTS_IN_OUTBOX).fetchall()
        finally:
            connection.close()

    return _rows


@pytest.fixture
def parse_outbox_row() -> Callable[[sqlite3.Row], Envelope]:
    """Parse an outbox row as a consumer would parse the Kafka record the relay makes of it."""

    def _parse(row: sqlite3.Row) -> Envelope:
        return Envelope.from_kafka(
            row["message_key"].encode(),
            row["message_value"],
            {"content-type": row["content_type"].encode()},
        )

    return _parse


@pytest.fixture
def facility_event() -> Callable[..., FacilityRegistered]:
    """``facility_event(facility_id, "ngo-shelter-a", **state)``: a registered girls'
    shelter in province 02 with 5 free beds, unless the fields say otherwise."""

    def facility_event(
        facility_id: UUID, organisation: str, **overrides: Any
    ) -> FacilityRegistered:
        values: dict[str, Any] = {
            "facility_id": facility_id,
            "state_version": 1,
            "organisation_id": organisation,
            "organisation_kind": "ngo",
            "name": f"Shelter of {organisation}",
            "facility_type": "residential_shelter",
            "services": ["safe_accommodation", "psychosocial", "medical"],
            "eligibility": {
                "sexes": ["female"],
                "min_age": 10,
                "max_age": 17,
                "exploitation_types": ["sexual_exploitation", "forced_labour"],
                "nationalities": [],
            },
            "languages": ["km"],
            "location": {"province_code": "02"},
            "registration": {
                "status": "registered",
                "offered_for_referral": True,
                "status_changed_at": "2026-01-01T00:00:00Z",
            },
            "capacity": {"beds_total": 10, "beds_occupied": 5, "beds_reserved": 0, "beds_free": 5},
            "changed_at": "2026-01-01T00:00:00Z",
            **overrides,
        }
        return FacilityRegistered(**values)

    return facility_event

"""Fakes and fixtures for the runtime's unit tests: a real SQLite database, no Kafka.

Kafka is replaced by in-memory fakes behind the interfaces the runtime uses: a producer
whose ``send()`` returns the delivery future (as aiokafka's does), a broker holding it,
and aiokafka's own ``ConsumerRecord`` dataclass for consumed records.

Test modules get these through fixtures only, never by importing this module: another
test directory's conftest.py could stand under the same module name.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, MetaData, String, Table, select

from nrm_contracts import Actor, Envelope
from nrm_contracts.events.identification import EncounterType, ScreeningRecorded, Sex
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime.auth import TokenVerifier
from nrm_runtime.database import Database
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER, ServiceSettings
from nrm_runtime.tables import outbox_table, processed_message_table

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
EVENT_SOURCE = "/nrm/unit"


class UnitSettings(ServiceSettings):
    """A service's settings as a service declares them: its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="NRMUNIT_", extra="ignore", frozen=True)

    service_name: str = "unit"


# The "service tables" of these tests: one state table, next to the runtime's own.
service_metadata = MetaData()
referral_case_table = Table(
    "referral_case",
    service_metadata,
    Column("case_id", String(36), primary_key=True),
    Column("status", String(20), nullable=False),
)


# --- Kafka fakes -------------------------------------------------------------------------


@dataclass
class SentRecord:
    """A record handed to the fake producer."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


Failure = Callable[[SentRecord], BaseException | None]


class FakeProducer:
    """aiokafka's producer in memory.

    ``send()`` enqueues and returns the delivery future; ``refusal`` makes ``send()``
    itself raise (as aiokafka does for an oversized record or a full buffer), and
    ``delivery_failure`` makes the returned future fail (the broker did not take it).
    """

    def __init__(self) -> None:
        self.delivered: list[SentRecord] = []
        self.refusal: Failure = lambda _record: None
        self.delivery_failure: Failure = lambda _record: None
        self._delivery = asyncio.Event()

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[SentRecord]:
        record = SentRecord(topic, key, value, list(headers or ()))
        refused = self.refusal(record)
        if refused is not None:
            raise refused
        future: asyncio.Future[SentRecord] = asyncio.get_running_loop().create_future()
        failed = self.delivery_failure(record)
        if failed is not None:
            future.set_exception(failed)
        else:
            self.delivered.append(record)
            self._delivery.set()
            future.set_result(record)
        return future

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> SentRecord:
        future = await self.send(topic, value, key, partition, timestamp_ms, headers)
        return await future

    async def wait_until_delivered(self, count: int) -> list[SentRecord]:
        """Wait (the caller bounds how long) until ``count`` records were delivered."""
        while len(self.delivered) < count:
            self._delivery.clear()
            await self._delivery.wait()
        return self.delivered


@dataclass
class FakeBroker:
    """The parts of :class:`nrm_runtime.broker.Broker` the relay and consumers use."""

    settings: ServiceSettings
    producer: FakeProducer = field(default_factory=FakeProducer)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    # The causes the relay replaced the producer for (the fake keeps the same one).
    recoveries: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connected.set()

    async def recover(self, failed: FakeProducer, cause: BaseException) -> None:
        self.recoveries.append(cause)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def make_settings() -> Callable[..., UnitSettings]:
    """``make_settings(environment="production", ...)``: settings of a service named "unit"."""
    return UnitSettings


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every test that touches the database runs on both: SQLite (the embedded default)
    and PostgreSQL (production), each a real server or file."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}"
    server = request.getfixturevalue("postgres_server")
    url: str = server.create_database()
    return url


@pytest.fixture
def settings(make_settings: Callable[..., UnitSettings], database_url: str) -> UnitSettings:
    return make_settings(
        database_url=database_url,
        consumer_max_attempts=3,
        consumer_retry_backoff_seconds=0.001,
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A real database with the runtime's and the test service's tables."""
    db = Database(database_url, service_metadata=service_metadata, event_source=EVENT_SOURCE)
    await db.create_schema()
    yield db
    await db.dispose()


@pytest.fixture
def cases() -> Table:
    """The test service's state table: ``referral_case(case_id, status)``."""
    return referral_case_table


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics()


@pytest.fixture
def broker(settings: UnitSettings) -> FakeBroker:
    return FakeBroker(settings)


@pytest.fixture
def producer(broker: FakeBroker) -> FakeProducer:
    return broker.producer


@pytest.fixture
def request_span() -> Callable[[], AbstractContextManager[Span]]:
    """``with request_span() as span:`` a sampled span, as during a traced request.

    From a tracer provider of the test's own: the process-wide provider stays untouched.
    """
    tracer = TracerProvider().get_tracer("runtime-tests")

    @contextmanager
    def _span() -> Iterator[Span]:
        with tracer.start_as_current_span("request") as span:
            yield span

    return _span


@pytest.fixture
def case_opened() -> Callable[..., ReferralCaseOpened]:
    """``case_opened(case_id)``: a referral-case-opened payload keyed by ``case_id``."""

    def _payload(case_id: UUID | str | None = None) -> ReferralCaseOpened:
        return ReferralCaseOpened(
            referral_case_id=case_id or uuid4(),
            identification_case_id=uuid4(),
            opened_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        )

    return _payload


@pytest.fixture
def screening_recorded() -> Callable[..., Envelope]:
    """``screening_recorded()``: a consumed screening event, as identification publishes it."""

    def _envelope(case_id: UUID | None = None) -> Envelope:
        return Envelope(
            source="/nrm/identification",
            data=ScreeningRecorded(
                case_id=case_id or uuid4(),
                screening_id=uuid4(),
                reporting_organisation="moi-dahtjp",
                encounter_type=EncounterType.POLICE_OPERATION,
                sex=Sex.FEMALE,
                is_child=True,
                nationality="KHM",
                province_code="02",
                recorded_at=datetime(2026, 11, 20, 7, 30, tzinfo=UTC),
            ),
            traceparent=TRACEPARENT,
            actor=Actor("moi-dahtjp", "screener"),
        )

    return _envelope


@pytest.fixture
def consumer_record() -> Callable[..., ConsumerRecord[bytes, bytes]]:
    """``consumer_record(envelope)`` or ``consumer_record(value=b"...", key=b"...")``.

    A record as aiokafka hands it to the consumer, on ``nrm.identification`` by default,
    with increasing offsets.
    """
    offsets = itertools.count(40)

    def _record(
        envelope: Envelope | None = None,
        *,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        topic: str = "nrm.identification",
        partition: int = 1,
    ) -> ConsumerRecord[bytes, bytes]:
        if envelope is not None:
            message = envelope.to_kafka()
            key = message.key.encode() if isinstance(message.key, str) else message.key
            value = message.value
            headers = list(message.headers.items()) if headers is None else headers
        return ConsumerRecord(
            topic=topic,
            partition=partition,
            offset=next(offsets),
            timestamp=0,
            timestamp_type=0,
            key=key,
            value=value,
            checksum=None,
            serialized_key_size=len(key or b""),
            serialized_value_size=len(value or b""),
            headers=tuple(headers or ()),
        )

    return _record


@pytest.fixture
def read_outbox(database: Database) -> Callable[[], Any]:
    """``await read_outbox()``: every outbox row, in sequence order."""

    async def _rows() -> list[Any]:
        async with database.session() as session:
            result = await session.exec(select(outbox_table).order_by(outbox_table.c.sequence))
            return list(result.all())

    return _rows


@pytest.fixture
def read_processed(database: Database) -> Callable[[], Any]:
    """``await read_processed()``: every tracking row of processed messages."""

    async def _rows() -> list[Any]:
        async with database.session() as session:
            return list((await session.exec(select(processed_message_table))).all())

    return _rows


@pytest.fixture
def read_cases(database: Database) -> Callable[[], Any]:
    """``await read_cases()``: the test service's state, ``{case_id: status}``."""

    async def _rows() -> dict[str, str]:
        async with database.session() as session:
            rows = (await session.exec(select(referral_case_table))).all()
            return {row.case_id: row.status for row in rows}

    return _rows


@pytest.fixture
def dev_token_verifier(token_keys: Path) -> TokenVerifier:
    """A verifier of the dev issuer's tokens (the ``mint`` fixture's), for an app under test."""
    return TokenVerifier(
        token_keys / "dev-jwks.json",
        issuer=DEV_ISSUER,
        audience=DEFAULT_AUDIENCE,
        algorithms=("ES256",),
    )

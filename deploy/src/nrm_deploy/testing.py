"""Pytest fixtures for tests against the real parts: a Kafka broker, service processes.

Loaded by the repository's root ``conftest.py``. The session starts one broker on a
free port (or uses ``KAFKA_BOOTSTRAP_SERVERS``); each test gets its own topic prefix,
so tests share the broker but never each other's events.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nrm_deploy.catalogue import SERVICES, ServiceKind
from nrm_deploy.kafka_cluster import KafkaCluster, external_bootstrap, free_port

SERVICE_START_TIMEOUT = 60.0

# Fixtures that start a real broker, a database server or a service process: a test
# using one is marked ``broker`` (make test-fast leaves those out).
PROCESS_FIXTURES = frozenset(
    {"kafka_bootstrap", "restartable_kafka", "kafka_trio", "start_service", "postgres_server"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.broker)


@dataclass
class ServiceProcess:
    """A service running as a real uvicorn process on a loopback port."""

    kind: ServiceKind
    workdir: Path
    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.kind.name}.log"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        values = {
            "ENVIRONMENT": "test",
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / f'{self.kind.name}.db'}",
            **self.settings,
        }
        env.update({f"{self.kind.env_prefix}{key}": value for key, value in values.items()})
        return env

    def start(self, wait_for: str = "/healthz") -> ServiceProcess:
        """Start the process and wait until ``wait_for`` answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.kind.app_factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until(wait_for)
        return self

    def wait_until(self, path: str, timeout: float = SERVICE_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.kind.name} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.kind.name} {path} not 200 in {timeout}s: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to commit or clean up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real broker of this test session (started here unless KAFKA_BOOTSTRAP_SERVERS)."""
    external = external_bootstrap()
    if external:
        yield external
        return
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka"), nodes=1)
    cluster.start()
    try:
        yield cluster.bootstrap_servers
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def restartable_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A broker of the test module's own, for tests that stop and start it (outages).

    Its ports are below the ephemeral range (see ``free_ports``), so it starts again on
    the same port however many client sockets opened meanwhile. A test that stops it
    starts it again before it ends.
    """
    cluster = KafkaCluster(tmp_path_factory.mktemp("outage-kafka"), nodes=1, heap_mb=256)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def kafka_trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three brokers, for what a cluster changes (replication, min ISR)."""
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-trio"), nodes=3, heap_mb=256)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """``host:port`` of a socket that accepts connections (the kernel completes them into
    the backlog) and never answers: a broker that neither refuses nor serves."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        host, port = listener.getsockname()
        yield f"{host}:{port}"


@pytest.fixture(scope="session")
def token_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing key and JWKS of the session's own, not the developer's, and field
    encryption keys beside them (``field-keys.json``)."""
    from nrm_runtime.devtokens import ensure_dev_keys
    from nrm_runtime.field_crypto import create_key_file

    directory = tmp_path_factory.mktemp("keys")
    ensure_dev_keys(directory)
    create_key_file(directory / "field-keys.json")
    return directory


@pytest.fixture
def mint(token_keys: Path) -> Callable[..., str]:
    """``mint("moi-dahtjp", "screener")``: a valid token for that organisation and roles."""
    from nrm_runtime.devtokens import mint_token

    def _mint(organisation: str, *roles: str, **options: object) -> str:
        return mint_token(
            organisation=organisation,
            roles=list(roles),
            directory=token_keys,
            **options,  # type: ignore[arg-type]
        )

    return _mint


@pytest.fixture
def topic_prefix() -> str:
    """A prefix of this test's own: its topics, consumer offsets and dead letters."""
    return f"t{uuid.uuid4().hex[:10]}."


# Both engines, for a module's ``pytestmark = on_both_engines``.
DATABASE_KINDS = ["sqlite", "postgresql"]
on_both_engines = pytest.mark.parametrize("database_kind", DATABASE_KINDS)


@pytest.fixture
def database_kind() -> str:
    """The database the services of a test run on; parametrize it to run on both:
    ``@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])`` (or a
    module's ``pytestmark = on_both_engines``)."""
    return "sqlite"


@pytest.fixture
def start_service(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kafka_bootstrap: str,
    token_keys: Path,
    topic_prefix: str,
    database_kind: str,
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start a service process; all are stopped at the end of the test."""
    started: list[ServiceProcess] = []
    # A service started again in the same test finds its database again, as it finds
    # its SQLite file in its work directory.
    databases: dict[str, str] = {}

    def _start(name: str, wait_for: str = "/healthz", **settings: str) -> ServiceProcess:
        values = {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": topic_prefix,
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "JWT_JWKS_FILE": str(token_keys / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(token_keys / "field-keys.json"),
            "OUTBOX_POLL_SECONDS": "0.5",
            **{key.upper(): value for key, value in settings.items()},
        }
        if database_kind == "postgresql" and "DATABASE_URL" not in values:
            if name not in databases:
                server = request.getfixturevalue("postgres_server")
                databases[name] = server.create_database()
            values["DATABASE_URL"] = databases[name]
        service = ServiceProcess(SERVICES[name], tmp_path / name, values)
        started.append(service)
        return service.start(wait_for)

    yield _start
    for service in started:
        service.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(
    probe: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.1
) -> object:
    """Call ``probe`` until it returns a truthy value; fail with its last value at timeout.

    For effects that cross the broker: they happen, but not within the request.
    """
    deadline = time.monotonic() + timeout
    value: object = None
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last value: {value!r}")


def screening_form(**person: object) -> dict[str, object]:
    """A valid minimal screening; keyword arguments override the person's fields."""
    return {
        "person": {
            "given_name": "Sokha",
            "family_name": "Chan",
            "sex": "female",
            "estimated_age": 16,
            "nationality": "KHM",
            **person,
        },
        "encounter": {"type": "police_operation", "date": "2026-11-20", "province_code": "02"},
    }


def victim_presumed_fields(**overrides: object) -> dict[str, object]:
    """A ``VictimPresumed`` payload's fields: a girl presumed a victim who consented to
    referral and to data sharing (a fresh case id); keyword arguments override."""
    return {
        "case_id": str(uuid.uuid4()),
        "decision_id": str(uuid.uuid4()),
        "person_ref": str(uuid.uuid4()),
        "decided_on": "2026-03-01",
        "sex": "female",
        "age_band": "12_to_17",
        "is_child": True,
        "nationality": "KHM",
        "exploitation_types": ["sexual_exploitation"],
        "province_code": "02",
        "consented_purposes": ["referral", "data_sharing"],
        "referral_consent_basis": "guardian",
        "recovery_period_ends_on": "2026-03-31",
        "final_decision_due_on": "2026-04-15",
        **overrides,
    }


def facility_registered_fields(
    facility_id: uuid.UUID, organisation: str, **overrides: object
) -> dict[str, object]:
    """A ``FacilityRegistered`` payload's fields: ``organisation``'s registered girls'
    shelter in province 02 with 10 free beds; keyword arguments override."""
    return {
        "facility_id": str(facility_id),
        "state_version": 1,
        "organisation_id": organisation,
        "organisation_kind": "ngo",
        "name": f"Shelter of {organisation}",
        "facility_type": "residential_shelter",
        "services": ["safe_accommodation"],
        "eligibility": {
            "sexes": ["female"],
            "min_age": 10,
            "max_age": 17,
            "exploitation_types": ["sexual_exploitation"],
            "nationalities": [],
        },
        "languages": ["km"],
        "location": {"province_code": "02"},
        "registration": {
            "status": "registered",
            "offered_for_referral": True,
            "status_changed_at": "2026-01-01T00:00:00Z",
        },
        "capacity": {"beds_total": 10, "beds_occupied": 0, "beds_reserved": 0, "beds_free": 10},
        "changed_at": "2026-01-01T00:00:00Z",
        **overrides,
    }


async def produce_records(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
) -> None:
    """Write raw records (key, value, headers) to ``topic``, as a foreign producer would."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, expect: int, within: float = 30.0) -> list[Any]:
    """Read ``topic`` from the beginning until ``expect`` records arrived (or timeout)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(records) < expect and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server for this test session (started on first use)."""
    from nrm_deploy.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()

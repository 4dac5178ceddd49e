"""The backbone on the secure broker: every service connects over TLS as its own SCRAM
principal, the walking skeleton still works end to end, and a principal is refused
what its ACLs (generated from the services' code) do not grant.

One secure broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer, deny by default) for
the module; each test has its own topic prefix, its ACLs granted under it.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka import KafkaCluster, free_port
from nrm_deploy.kafka_cluster import BOOTSTRAP_ENV
from nrm_deploy.kafka_layout import port_is_free
from nrm_deploy.kafka_security import KafkaSecurity
from nrm_deploy.testing import ServiceProcess, bearer, eventually, screening_form

pytestmark = [pytest.mark.timeout(300), pytest.mark.broker]

GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    data_dir = tmp_path_factory.mktemp("kafka-secure")
    security = KafkaSecurity.ensure(data_dir / "security")
    with KafkaCluster(data_dir, ports=[free_port()], heap_mb=256, security=security) as cluster:
        yield cluster


@pytest.fixture
def secure_prefix(secure_kafka: KafkaCluster) -> str:
    """This test's topic prefix, the backbone's ACLs granted under it."""
    prefix = f"s{uuid.uuid4().hex[:10]}."
    secure_kafka.grant_service_access(prefix)
    return prefix


@pytest.fixture
def start_secure_service(
    secure_kafka: KafkaCluster, secure_prefix: str, token_keys: Path, tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start a service process connecting as its own principal; all stop at the end."""
    assert secure_kafka.security is not None
    security = secure_kafka.security
    started: list[ServiceProcess] = []

    def _start(name: str) -> ServiceProcess:
        settings = {
            "KAFKA_BOOTSTRAP_SERVERS": secure_kafka.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": secure_prefix,
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "JWT_JWKS_FILE": str(token_keys / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(token_keys / "field-keys.json"),
            "OUTBOX_POLL_SECONDS": "0.5",
            # Its own principal and password, and the CA the broker's certificate is checked
            # against (the names unprefixed: the process adds the service's prefix).
            **security.service_environment(name, env_prefix=""),
        }
        service = ServiceProcess(SERVICES[name], tmp_path / name, settings)
        started.append(service)
        # /readyz: connected to the broker (topics provisioned) and consuming.
        return service.start("/readyz")

    yield _start
    for service in started:
        service.stop()


def referral_cases(referral_url: str, token: str) -> list[dict[str, object]]:
    response = httpx.get(f"{referral_url}/referral-cases?limit=500", headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_a_presumed_victim_opens_a_referral_case_across_the_secure_broker(
    start_secure_service, mint
) -> None:
    identification = start_secure_service("identification")
    referral = start_secure_service("referral")

    recorded = httpx.post(
        f"{identification.url}/screenings",
        json={**screening_form(), "consents": GUARDIAN_CONSENT},
        headers=bearer(mint("moi-dahtjp", "screener")),
    )
    assert recorded.status_code == 201, recorded.text
    decided = httpx.post(
        f"{identification.url}/cases/{recorded.json()['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
        headers=bearer(mint("mosvy", "competent_authority")),
    )
    assert decided.status_code == 201, decided.text

    coordinator = mint("mosvy", "case_manager")
    cases = eventually(lambda: referral_cases(referral.url, coordinator), timeout=60)
    assert isinstance(cases, list) and len(cases) == 1
    assert cases[0]["identification_case_id"] == recorded.json()["case_id"]
    for service in (identification, referral):
        log = service.log_file.read_text(errors="replace")
        assert "connected to kafka" in log
        assert "TopicAuthorizationFailed" not in log and "GroupAuthorizationFailed" not in log


async def produce_as(cluster: KafkaCluster, principal: str, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap_servers,
        enable_idempotence=True,
        request_timeout_ms=10_000,
        **cluster.client_options(principal),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"case-1")
    finally:
        await producer.stop()


async def consume_as(
    cluster: KafkaCluster, principal: str, topic: str, group: str | None = None
) -> int:
    """Read ``topic`` from its start as ``principal`` (in ``group``, or assigned without
    one); how many records came."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cluster.bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **cluster.client_options(principal),
    )
    await consumer.start()
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, 0)])
        else:
            consumer.subscribe([topic])
        batches = await consumer.getmany(timeout_ms=10_000)
        return sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()


async def test_referral_may_not_forge_identifications_decisions(
    start_secure_service, secure_kafka, secure_prefix
) -> None:
    start_secure_service("identification")  # provisions its topic as itself
    decisions = f"{secure_prefix}nrm.identification"

    with pytest.raises(TopicAuthorizationFailedError):
        await produce_as(secure_kafka, "referral", decisions)
    await produce_as(secure_kafka, "identification", decisions)  # its owner may


def refused_topics(caplog: pytest.LogCaptureFixture) -> set[str]:
    """The topics the broker told a client it is not authorized for (aiokafka logs the
    refusal in the metadata answer and delivers nothing of them)."""
    return {
        record.getMessage().split()[1]
        for record in caplog.records
        if record.name == "aiokafka.cluster" and "is not authorized" in record.getMessage()
    }


async def test_a_service_may_not_read_a_topic_it_does_not_subscribe_to(
    start_secure_service, secure_kafka, secure_prefix, caplog
) -> None:
    # The services' runtime quiets aiokafka (it logs each reconnect as an error): this
    # test reads the refusal aiokafka logs, whatever an earlier test set.
    caplog.set_level(logging.WARNING, logger="aiokafka.cluster")
    start_secure_service("identification")
    start_secure_service("referral")
    referrals = f"{secure_prefix}nrm.referral"
    decisions = f"{secure_prefix}nrm.identification"
    await produce_as(secure_kafka, "referral", referrals)
    await produce_as(secure_kafka, "identification", decisions)

    # The shelter registry, in its own group, reads referral's topic, not identification's.
    assert await consume_as(secure_kafka, "shelter-registry", referrals, "shelter-registry") == 1
    assert refused_topics(caplog) == set()
    assert await consume_as(secure_kafka, "shelter-registry", decisions, "shelter-registry") == 0
    assert refused_topics(caplog) == {decisions}
    # Nor does referral read its own topic: it may see (describe) it, the fetch is refused.
    with pytest.raises(TopicAuthorizationFailedError):
        await consume_as(secure_kafka, "referral", referrals, "referral")


async def test_a_service_may_not_read_in_another_services_consumer_group(
    start_secure_service, secure_kafka, secure_prefix
) -> None:
    start_secure_service("referral")
    referrals = f"{secure_prefix}nrm.referral"

    # Shelter-registry may read nrm.referral, but not as referral's own group would.
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_as(secure_kafka, "shelter-registry", referrals, "referral")


HEALTHY_LINE = re.compile(r"all healthy in ([0-9.]+)s")


def stack_ports() -> tuple[int, int]:
    """Four consecutive free service ports (the first) and a free Kafka port."""
    for _ in range(50):
        base = free_port()
        if all(port_is_free(base + offset) for offset in range(len(SERVICES))):
            return base, free_port()
    raise RuntimeError("no four consecutive free ports found")


@pytest.fixture
def secure_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    """``nrm-stack --secure`` (what ``make run-secure`` runs) as a child; its output in
    ``<tmp>/stack.out``. Stopped with Ctrl-C's signal at the end."""
    base_port, kafka_port = stack_ports()
    var_dir = tmp_path / "var"
    output = tmp_path / "stack.out"
    env = {key: value for key, value in os.environ.items() if key != BOOTSTRAP_ENV}
    command = [sys.executable, "-m", "nrm_deploy.stack", "--secure", "--var-dir", str(var_dir)]
    command += ["--base-port", str(base_port), "--kafka-port", str(kafka_port)]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process, output, base_port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_make_run_secure_runs_every_service_as_its_own_principal(secure_stack) -> None:
    process, output, base_port = secure_stack
    deadline = time.monotonic() + 120
    while not HEALTHY_LINE.search(output.read_text(errors="replace")):
        assert process.poll() is None, output.read_text(errors="replace")
        assert time.monotonic() < deadline, output.read_text(errors="replace")
        time.sleep(0.5)

    banner = output.read_text()
    assert "secure: SASL_SSL/SCRAM-SHA-512, one principal per service" in banner
    for offset, name in enumerate(SERVICES):
        ready = httpx.get(f"http://127.0.0.1:{base_port + offset}/readyz", timeout=5)
        assert ready.status_code == 200, f"{name}: {ready.text}"
    logs = output.parent / "var" / "logs"
    security = KafkaSecurity.ensure(output.parent / "var" / "kafka-secure" / "security")
    for name in SERVICES:
        log = (logs / f"{name}.log").read_text(errors="replace")
        assert "connected to kafka" in log, name
        assert "AuthorizationFailed" not in log, name
        assert not [password for password in security.passwords.values() if password in log]
    assert not [password for password in security.passwords.values() if password in banner]

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, output.read_text()

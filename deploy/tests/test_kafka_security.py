"""The broker's secure mode: TLS and SCRAM principals, and each service only on its own topics.

One secure broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer, deny by default) serves
every test of this module; each test uses topics under a prefix of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from nrm_deploy.kafka import KafkaCluster, free_port
from nrm_deploy.kafka_acls import (
    Operation,
    PatternType,
    ResourceType,
    acl_bindings,
    backbone_access,
)
from nrm_deploy.kafka_security import KafkaSecurity

pytestmark = [pytest.mark.timeout(240), pytest.mark.broker]


@pytest.fixture(scope="module")
def secure_kafka(
    kafka_libs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaCluster]:
    data_dir = tmp_path_factory.mktemp("kafka-secure")
    security = KafkaSecurity.ensure(data_dir / "security")
    with KafkaCluster(data_dir, ports=[free_port()], heap_mb=256, security=security) as cluster:
        yield cluster


@pytest.fixture
def prefix(secure_kafka: KafkaCluster) -> str:
    """A topic prefix of this test's own, with the backbone's ACLs granted under it."""
    name = f"s{uuid.uuid4().hex[:8]}."
    secure_kafka.grant_service_access(name)
    return name


async def create_topics(cluster: KafkaCluster, principal: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=cluster.bootstrap_servers, **cluster.client_options(principal)
    )
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(topic, num_partitions=1, replication_factor=1) for topic in topics]
        )
        errors = {topic_error[0]: topic_error[1] for topic_error in response.topic_errors}
        if any(errors.values()):
            raise TopicAuthorizationFailedError(f"create topics: {errors}")
    finally:
        await admin.close()


async def produce_as(cluster: KafkaCluster, principal: str, topic: str, **extra: Any) -> None:
    options = {**cluster.client_options(principal), **extra}
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=10_000,
        **options,
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"case-1")
    finally:
        await producer.stop()


async def test_a_service_writes_its_own_topic(secure_kafka, prefix) -> None:
    own = f"{prefix}nrm.identification"
    await create_topics(secure_kafka, "identification", [own])

    await produce_as(secure_kafka, "identification", own)  # no error: written


async def test_a_service_is_denied_writing_another_services_topic(secure_kafka, prefix) -> None:
    others = f"{prefix}nrm.referral"
    await create_topics(secure_kafka, "referral", [others])

    with pytest.raises(TopicAuthorizationFailedError):
        await produce_as(secure_kafka, "identification", others)


async def test_a_service_cannot_create_another_services_topic(secure_kafka, prefix) -> None:
    # The shelter registry reads nothing of repatriation's: no grant on its topic at all.
    with pytest.raises(TopicAuthorizationFailedError):
        await create_topics(secure_kafka, "shelter-registry", [f"{prefix}nrm.repatriation"])


async def test_referral_writes_a_providers_own_topic_and_no_other_service_may(
    secure_kafka, prefix
) -> None:
    provider_topic = f"{prefix}nrm.referral.provider.ngo-shelter-a"
    await create_topics(secure_kafka, "referral", [provider_topic])

    await produce_as(secure_kafka, "referral", provider_topic)  # no error: written
    with pytest.raises(TopicAuthorizationFailedError):
        await produce_as(secure_kafka, "shelter-registry", provider_topic)


async def test_a_subscriber_reads_its_topic_in_its_group_and_no_other_group(
    secure_kafka, prefix
) -> None:
    topic = f"{prefix}nrm.identification"
    await create_topics(secure_kafka, "identification", [topic])
    await produce_as(secure_kafka, "identification", topic)

    async def first_record(group: str) -> bytes | None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=secure_kafka.bootstrap_servers,
            group_id=group,
            auto_offset_reset="earliest",
            **secure_kafka.client_options("referral"),
        )
        try:
            await consumer.start()
            batch = await consumer.getmany(timeout_ms=10_000)
            records = [record for part in batch.values() for record in part]
            return records[0].key if records else None
        finally:
            await consumer.stop()

    assert await first_record("referral") == b"case-1"
    with pytest.raises(GroupAuthorizationFailedError):
        await first_record("shelter-registry")


async def test_a_wrong_password_is_refused(secure_kafka, prefix) -> None:
    with pytest.raises(KafkaError):
        await produce_as(
            secure_kafka, "identification", f"{prefix}nrm.identification",
            sasl_plain_password="not-the-password",
        )  # fmt: skip


async def test_a_plaintext_client_gets_no_connection(secure_kafka) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=secure_kafka.bootstrap_servers, request_timeout_ms=3_000
    )
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


def test_each_service_may_write_only_its_own_topic_its_dead_letters_and_its_families() -> None:
    written = {
        access.principal: sorted(
            (binding.resource_name, binding.pattern.name)
            for binding in acl_bindings(access)
            if binding.operation is Operation.WRITE
        )
        for access in backbone_access()
    }

    # Each service's own topic and, beside it, its audit log's signed heads (.audit).
    assert written == {
        "identification": [
            ("nrm.identification", "LITERAL"),
            ("nrm.identification.audit", "LITERAL"),
            ("nrm.referral.dlq.identification", "LITERAL"),
            ("nrm.repatriation.dlq.identification", "LITERAL"),
        ],
        "referral": [
            ("nrm.identification.dlq.referral", "LITERAL"),
            ("nrm.referral", "LITERAL"),
            ("nrm.referral.audit", "LITERAL"),
            ("nrm.referral.provider.", "PREFIXED"),
            ("nrm.repatriation.dlq.referral", "LITERAL"),
            ("nrm.shelter-registry.dlq.referral", "LITERAL"),
        ],
        "shelter-registry": [
            ("nrm.referral.dlq.shelter-registry", "LITERAL"),
            ("nrm.shelter-registry", "LITERAL"),
            ("nrm.shelter-registry.audit", "LITERAL"),
        ],
        "repatriation": [("nrm.repatriation", "LITERAL"), ("nrm.repatriation.audit", "LITERAL")],
    }


def test_a_service_reads_only_what_it_subscribes_to_in_its_own_group() -> None:
    referral = next(access for access in backbone_access() if access.principal == "referral")
    reads = {
        (binding.resource_type, binding.resource_name, binding.pattern)
        for binding in acl_bindings(referral, "p.")
        if binding.operation is Operation.READ
    }

    assert reads == {
        (ResourceType.TOPIC, "p.nrm.identification", PatternType.LITERAL),
        (ResourceType.TOPIC, "p.nrm.shelter-registry", PatternType.LITERAL),
        (ResourceType.TOPIC, "p.nrm.repatriation", PatternType.LITERAL),
        (ResourceType.GROUP, "referral", PatternType.LITERAL),
    }


def test_the_security_material_is_private_and_made_once(tmp_path) -> None:
    first = KafkaSecurity.ensure(tmp_path / "security")
    again = KafkaSecurity.ensure(tmp_path / "security")

    assert again.passwords == first.passwords
    assert set(first.passwords) == {
        "admin",
        "identification",
        "referral",
        "shelter-registry",
        "repatriation",
    }
    for private in ("ca-key.pem", "broker-keystore.pem", "credentials.json"):
        assert (tmp_path / "security" / private).stat().st_mode & 0o077 == 0

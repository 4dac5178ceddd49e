"""Topics keep enough copies for the cluster they are on, and production insists: real brokers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from nrm_runtime.broker import Broker
from nrm_runtime.durability import TopicsNotDurable


@pytest.fixture
def production_settings(make_settings, tmp_path: Path, kafka_bootstrap, topic_prefix):
    """Settings a production service would accept, on the session's single broker."""

    def _settings(**overrides: object):
        return make_settings(
            environment="production",
            database_url="postgresql+asyncpg://unit@db.internal/unit",
            jwt_issuer="https://idp.example",
            jwt_jwks_url="https://idp.example/jwks",
            organisations_file=tmp_path / "organisations.yaml",
            operating_organisation="mosvy",
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_topic_prefix=topic_prefix,
            **overrides,
        )

    return _settings


async def describe(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, str]]:
    """Each topic's replication factor and min.insync.replicas, as the brokers say."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        factors: dict[str, int] = {}
        async with asyncio.timeout(20):
            while set(factors) != set(topics):  # a new topic's partitions show up late
                factors = {
                    t["topic"]: min(len(p["replicas"]) for p in t["partitions"])
                    for t in await admin.describe_topics(topics)
                    if t["partitions"]
                }
                await asyncio.sleep(0.2)
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        )
    finally:
        await admin.close()
    min_insync = {
        resource[3]: value
        for response in responses
        for resource in response.resources
        for name, value, *_ in resource[4]
        if name == "min.insync.replicas"
    }
    return {topic: (factors[topic], min_insync[topic]) for topic in topics}


async def test_topics_created_on_three_brokers_keep_three_copies_two_in_sync(
    make_settings, kafka_trio, topic_prefix
) -> None:
    topics = [f"{topic_prefix}nrm.referral", f"{topic_prefix}nrm.referral.dlq"]
    settings = make_settings(
        kafka_bootstrap_servers=kafka_trio.bootstrap_servers, kafka_topic_prefix=topic_prefix
    )

    await Broker(settings, topics).ensure_topics(topics)

    described = await describe(kafka_trio.bootstrap_servers, topics)
    assert described == {topic: (3, "2") for topic in topics}


async def test_an_existing_topic_with_fewer_copies_is_reported_not_silently_used(
    make_settings, kafka_trio, topic_prefix, caplog
) -> None:
    weak = f"{topic_prefix}nrm.identification"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_trio.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(weak, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    settings = make_settings(
        kafka_bootstrap_servers=kafka_trio.bootstrap_servers, kafka_topic_prefix=topic_prefix
    )
    broker = Broker(settings, [weak])

    with caplog.at_level(logging.WARNING, logger="nrm_runtime.broker"):
        await broker.ensure_topics([weak])

    assert [(s.topic, s.replication_factor) for s in broker.shortfalls] == [(weak, 1)]
    assert "kafka topic keeps fewer copies than it should" in caplog.text


async def test_production_refuses_topics_a_single_broker_would_hold(
    production_settings, topic_prefix
) -> None:
    topic = f"{topic_prefix}nrm.referral"
    broker = Broker(production_settings(), [topic])

    with pytest.raises(TopicsNotDurable):
        await broker.check_durability(wait_seconds=20)


async def test_the_single_broker_override_is_accepted_and_said_loudly(
    production_settings, topic_prefix, caplog
) -> None:
    topic = f"{topic_prefix}nrm.referral"
    broker = Broker(production_settings(kafka_allow_low_replication=True), [topic])

    with caplog.at_level(logging.CRITICAL, logger="nrm_runtime.durability"):
        await broker.check_durability(wait_seconds=20)

    assert "FEWER THAN 3 COPIES" in caplog.text

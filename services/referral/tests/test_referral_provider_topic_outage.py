"""The per-provider topics recover by themselves from a broker outage: real broker.

The outage is longer than the producer's delivery timeout, so the notices sent in it
fail and the idempotent producer is left unusable unless it is replaced. A failed
notice stays due in the delivery table and is attempted again (the delivery worker's
retry); once the broker is back, the retries land on the provider's topic without
restarting anything.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from nrm_runtime.field_crypto import KeyRing, create_key_file
from referral.context import ReferralContext
from referral.settings import ReferralSettings
from referral.store import Delivery
from referral.usecases.delivery import ProviderTopics, provider_topic

DELIVERY_TIMEOUT_MS = 5_000
OUTAGE_SECONDS = 15.0
RETRY_SECONDS = 1.0
DRAIN_LIMIT_SECONDS = 60.0
PROVIDER = "ngo-outage"

pytestmark = pytest.mark.broker


@pytest.fixture
def context(
    tmp_path: Path, restartable_kafka, topic_prefix: str, token_keys: Path
) -> ReferralContext:
    settings = ReferralSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.db'}",
        kafka_bootstrap_servers=restartable_kafka.bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        kafka_request_timeout_ms=DELIVERY_TIMEOUT_MS,
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=create_key_file(tmp_path / "field-keys.json"),
    )
    assert settings.field_keys_file is not None
    return ReferralContext(settings, KeyRing.load(settings.field_keys_file))


def _notice(referral_id: uuid.UUID, number: int) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        organisation_id=PROVIDER,
        referral_id=referral_id,
        channel="kafka",
        body=json.dumps({"event": "referral.sent", "referral_id": str(referral_id), "n": number}),
        next_attempt_at=now,
        created_at=now,
    )


async def _until_published(topics: ProviderTopics, delivery: Delivery, within: float) -> int:
    """Attempt ``delivery`` as the delivery worker does (again after each failure, a
    little later); the number of failed attempts before it landed."""
    failed = 0
    async with asyncio.timeout(within):
        while True:
            try:
                async with asyncio.timeout(DELIVERY_TIMEOUT_MS / 1000 * 3):
                    await topics.publish(delivery)
                return failed
            except Exception:  # noqa: BLE001 - every failure is a retry, as in the worker
                failed += 1
                await asyncio.sleep(RETRY_SECONDS)


async def _bodies_on(bootstrap: str, topic: str) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    bodies: list[dict[str, object]] = []
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                bodies += [json.loads(record.value) for record in batch]
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return bodies


async def test_notices_sent_in_an_outage_longer_than_the_delivery_timeout_land_after_it(
    context: ReferralContext, restartable_kafka
) -> None:
    topics = ProviderTopics(context)
    referral_id = uuid.uuid4()
    notices = [_notice(referral_id, number) for number in range(4)]
    try:
        assert await _until_published(topics, notices[0], within=30) == 0

        await asyncio.to_thread(restartable_kafka.stop_node, 0)
        try:
            # Attempts in the outage fail (each one's timeout is the producer's), and
            # the worker would keep them due: past the delivery timeout, twice.
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            failures_in_outage = 0
            while time.monotonic() < outage_ends:
                with pytest.raises(Exception):  # noqa: B017 - any failure: a retry
                    async with asyncio.timeout(DELIVERY_TIMEOUT_MS / 1000 * 2):
                        await topics.publish(notices[1])
                failures_in_outage += 1
            assert failures_in_outage >= 1
        finally:
            await asyncio.to_thread(restartable_kafka.start_node, 0)

        back = time.monotonic()
        for delivery in notices[1:]:
            await _until_published(topics, delivery, within=DRAIN_LIMIT_SECONDS)
        drained = time.monotonic() - back
    finally:
        await topics.close(grace_seconds=3.0)

    bodies = await _bodies_on(
        context.settings.kafka_bootstrap_servers, provider_topic(context, PROVIDER)
    )
    # Every notice is there; a notice attempted again may be there twice (the receiver
    # skips a delivery id it has seen), but none is missing and none out of order.
    numbers = [body["n"] for body in bodies]
    assert sorted(set(numbers)) == [0, 1, 2, 3]
    first_seen = sorted(set(numbers), key=numbers.index)
    assert first_seen == [0, 1, 2, 3]
    print(f"provider topic: 3 notices landed {drained:.1f} s after the broker returned")

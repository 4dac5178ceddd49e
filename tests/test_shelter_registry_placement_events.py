"""The referral service's placement events move beds in the shelter registry, across the
real broker: the same event delivered twice is one change, and a placement for a full
facility is refused (announced on the registry's topic), never overbooked nor
dead-lettered."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx

from nrm_contracts import Actor, Envelope, Topic, dead_letter_topic
from nrm_contracts.events.referral import PlacementStarted
from nrm_deploy.testing import bearer, eventually, on_both_engines, produce_records, read_topic
from shelter_registry.usecases.reference_data import reference_facility_id

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
KDEI_PP = str(reference_facility_id("kdei-pp-women"))  # 12 of 18 occupied
FULL = str(reference_facility_id("chantrea-kandal-girls"))  # 25 of 25 occupied


def placement_started(facility_id: str) -> Envelope:
    return Envelope(
        source="/nrm/referral",
        data=PlacementStarted(
            referral_case_id=uuid.uuid4(),
            referral_id=uuid.uuid4(),
            placement_id=uuid.uuid4(),
            facility_id=uuid.UUID(facility_id),
            population_group="adult_women",
            sex="female",
            age_band="25_to_39",
            started_at=datetime.now(UTC),
        ),
        traceparent=TRACEPARENT,
        actor=Actor("mosvy", "case_manager"),
    )


def as_record(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    message = envelope.to_kafka()
    key = message.key.encode() if isinstance(message.key, str) else message.key
    assert key is not None
    return key, message.value, list(message.headers.items())


def consumed(registry_url: str, outcome: str) -> float:
    text = httpx.get(f"{registry_url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("nrm_consumer_events_total{") and f'outcome="{outcome}"' in line
    )


def test_placement_events_count_once_and_never_overbook(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    registry = start_service("shelter-registry", wait_for="/readyz", LOAD_REFERENCE_DATA="true")
    reader = bearer(mint("mosvy", "case_manager"))

    def occupied(facility_id: str) -> int:
        found = httpx.get(f"{registry.url}/facilities/{facility_id}", headers=reader).json()
        return int(found["capacity"]["beds_occupied"])

    admission, overbooking = placement_started(KDEI_PP), placement_started(FULL)
    referral_topic = f"{topic_prefix}{Topic.REFERRAL}"
    asyncio.run(
        produce_records(
            kafka_bootstrap,
            referral_topic,
            [as_record(admission), as_record(admission), as_record(overbooking)],
        )
    )

    eventually(
        lambda: consumed(registry.url, "processed") + consumed(registry.url, "duplicate") >= 3
    )
    assert consumed(registry.url, "duplicate") == 1
    assert occupied(KDEI_PP) == 13  # the same event twice: one change
    assert occupied(FULL) == 25  # never above its 25 beds

    placement = httpx.get(
        f"{registry.url}/facilities/{FULL}/placements/{overbooking.data.placement_id}",  # type: ignore[attr-defined]
        headers=reader,
    ).json()
    assert (placement["outcome"], placement["refusal_reason"]) == ("refused", "facility_full")
    records = asyncio.run(
        read_topic(kafka_bootstrap, f"{topic_prefix}{Topic.SHELTER_REGISTRY}", expect=35 + 2)
    )
    refused = [
        json.loads(r.value)
        for r in records
        if json.loads(r.value)["type"] == "kh.nrm.shelter_registry.placement.refused.v1"
    ]
    assert len(refused) == 1
    assert refused[0]["subject"] == FULL
    assert refused[0]["data"]["reason"] == "facility_full"
    dead = asyncio.run(
        read_topic(
            kafka_bootstrap,
            f"{topic_prefix}{dead_letter_topic(Topic.REFERRAL, 'shelter-registry')}",
            expect=1,
            within=3,
        )
    )
    assert dead == []

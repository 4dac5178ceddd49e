"""50 simultaneous admissions to a facility with 10 free beds, against a running
shelter-registry process: exactly 10 succeed, 40 are refused with the reason, and
occupancy never exceeds capacity, neither in the database nor in any event. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest

from nrm_contracts import Topic
from nrm_deploy.testing import bearer, read_topic
from shelter_registry.usecases.reference_data import reference_facilities, reference_facility_id

ADMISSIONS = 50
FREE_BEDS = 10
FACILITY = str(reference_facility_id("kdei-pp-women"))  # 12 of 18 occupied


async def admit_all(url: str, headers: dict[str, str]) -> list[httpx.Response]:
    """Every admission sent at once, each on its own connection."""
    limits = httpx.Limits(max_connections=ADMISSIONS)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:
        return list(
            await asyncio.gather(
                *(
                    http.post(
                        f"/facilities/{FACILITY}/placements",
                        json={"placement_id": str(uuid.uuid4()), "sex": "female"},
                    )
                    for _ in range(ADMISSIONS)
                )
            )
        )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_fifty_simultaneous_admissions_to_ten_free_beds(
    request, database, start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    settings = {"LOAD_REFERENCE_DATA": "true"}
    if database == "postgresql":
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_server").create_database()
    registry = start_service("shelter-registry", wait_for="/readyz", **settings)
    staff = bearer(mint("ngo-kdei", "provider_staff"))
    beds = httpx.put(
        f"{registry.url}/facilities/{FACILITY}/capacity",
        json={"beds_total": 12 + FREE_BEDS},
        headers=staff,
    )
    assert beds.status_code == 200, beds.text
    assert beds.json()["capacity"]["beds_free"] == FREE_BEDS

    started = time.perf_counter()
    answers = asyncio.run(admit_all(registry.url, staff))
    elapsed = time.perf_counter() - started

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * FREE_BEDS + [409] * (ADMISSIONS - FREE_BEDS), statuses
    refusals = {answer.json()["error"]["code"] for answer in answers if answer.status_code == 409}
    assert refusals == {"facility_full"}
    capacity = httpx.get(f"{registry.url}/facilities/{FACILITY}", headers=staff).json()["capacity"]
    assert capacity == {"beds_total": 22, "beds_occupied": 22, "beds_reserved": 0, "beds_free": 0}

    history = httpx.get(
        f"{registry.url}/facilities/{FACILITY}/capacity/history", headers=staff
    ).json()
    admitted = [h for h in history if h["cause"] == "placement_started"]
    assert [h["beds_occupied"] for h in admitted] == list(range(13, 23))
    assert all(h["beds_occupied"] + h["beds_reserved"] <= h["beds_total"] for h in history)

    expected_events = len(reference_facilities()) + 1 + FREE_BEDS
    records = asyncio.run(
        read_topic(
            kafka_bootstrap, f"{topic_prefix}{Topic.SHELTER_REGISTRY}", expect=expected_events
        )
    )
    changes = [
        json.loads(record.value)["data"]
        for record in records
        if json.loads(record.value)["type"] == "kh.nrm.shelter_registry.capacity.changed.v1"
    ]
    assert len(changes) == 1 + FREE_BEDS
    assert all(
        c["capacity"]["beds_occupied"] + c["capacity"]["beds_reserved"]
        <= c["capacity"]["beds_total"]
        for c in changes
    )
    print(f"\n{database}: {ADMISSIONS} simultaneous admissions answered in {elapsed:.2f}s")

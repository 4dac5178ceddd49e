"""Live capacity: admissions, discharges, reservations that expire, the placement events
of the referral service; occupancy + reservations never above the beds."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from nrm_contracts.events.referral import PlacementEnded, PlacementStarted

FULL = "chantrea-kandal-girls"  # 25 of 25 occupied, owned by ngo-chantrea
KDEI_PP = "kdei-pp-women"  # 12 of 18 occupied, owned by ngo-kdei


@pytest.fixture
def kdei(auth):
    return auth("ngo-kdei", "provider_staff")


@pytest.fixture
def chantrea(auth):
    return auth("ngo-chantrea", "provider_staff")


def beds(facility, identifier: str) -> tuple[int, int, int]:
    capacity = facility(identifier)["capacity"]
    return capacity["beds_total"], capacity["beds_occupied"], capacity["beds_reserved"]


def started(facility_id: str, placement_id: UUID | None = None, **fields) -> PlacementStarted:
    values = {
        "referral_case_id": uuid4(),
        "referral_id": uuid4(),
        "placement_id": placement_id or uuid4(),
        "facility_id": UUID(facility_id),
        "population_group": "adult_women",
        "sex": "female",
        "age_band": "18_to_24",
        "started_at": datetime(2026, 11, 28, 7, 0, tzinfo=UTC),
        **fields,
    }
    return PlacementStarted(**values)


def test_an_admission_takes_one_bed_and_is_announced(
    client, kdei, facility_id, facility, new_id, outbox_events
) -> None:
    identifier = facility_id(KDEI_PP)

    response = client.post(
        f"/facilities/{identifier}/placements",
        json={"placement_id": new_id(), "sex": "female", "age_band": "25_to_39"},
        headers=kdei,
    )

    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "admitted"
    assert beds(facility, identifier) == (18, 13, 0)
    [changed] = [e.data for e in outbox_events("capacity.changed") if e.subject == identifier]
    assert changed.cause == "placement_started"
    assert (changed.capacity.beds_occupied, changed.capacity.beds_free) == (13, 5)


def test_the_same_admission_twice_is_one_change(
    client, kdei, facility_id, facility, new_id
) -> None:
    identifier, placement = facility_id(KDEI_PP), new_id()
    body = {"placement_id": placement}

    first = client.post(f"/facilities/{identifier}/placements", json=body, headers=kdei)
    second = client.post(f"/facilities/{identifier}/placements", json=body, headers=kdei)

    assert (first.status_code, second.status_code) == (201, 200)
    assert beds(facility, identifier) == (18, 13, 0)


def test_a_full_facility_refuses_an_admission_with_the_reason_and_writes_nothing(
    client, chantrea, facility_id, facility, new_id, rows
) -> None:
    identifier = facility_id(FULL)

    response = client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": new_id()}, headers=chantrea
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "facility_full"
    assert "no free bed" in response.json()["error"]["message"]
    assert beds(facility, identifier) == (25, 25, 0)
    assert rows("SELECT * FROM placement") == []


def test_a_suspended_facility_admits_nobody(client, registrar, facility_id, new_id) -> None:
    identifier = facility_id("kdei-kampong-cham")  # suspended, 2 of 10 occupied

    response = client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": new_id()}, headers=registrar
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "facility_not_registered"


def test_a_discharge_frees_the_bed_once(client, kdei, facility_id, facility, new_id) -> None:
    identifier, placement = facility_id(KDEI_PP), new_id()
    client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": placement}, headers=kdei
    )
    end = f"/facilities/{identifier}/placements/{placement}/end"

    first = client.post(end, json={"exit_reason": "reintegrated"}, headers=kdei)
    second = client.post(end, json={"exit_reason": "reintegrated"}, headers=kdei)

    assert first.status_code == 200
    assert first.json()["outcome"] == "ended"
    assert second.status_code == 409
    assert beds(facility, identifier) == (18, 12, 0)


def test_a_reservation_holds_a_bed_for_the_referral(
    client, auth, facility_id, facility, new_id
) -> None:
    identifier, referral = facility_id(KDEI_PP), new_id()
    coordinator = auth("mosvy", "case_manager")
    path = f"/facilities/{identifier}/reservations"

    first = client.post(path, json={"referral_id": referral}, headers=coordinator)
    again = client.post(path, json={"referral_id": referral}, headers=coordinator)

    assert first.status_code == 201
    assert first.json()["expires_at"] == "2026-11-30T08:00:00Z"  # 48 hours
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert beds(facility, identifier) == (18, 12, 1)


def test_the_reserved_bed_becomes_occupied_even_when_no_other_bed_is_free(
    client, kdei, facility_id, facility, new_id
) -> None:
    identifier, referral = facility_id(KDEI_PP), new_id()
    client.put(f"/facilities/{identifier}/capacity", json={"beds_total": 13}, headers=kdei)
    client.post(
        f"/facilities/{identifier}/reservations", json={"referral_id": referral}, headers=kdei
    )
    assert beds(facility, identifier) == (13, 12, 1)  # full: 12 occupied + 1 held

    stranger = client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": new_id()}, headers=kdei
    )
    expected = client.post(
        f"/facilities/{identifier}/placements",
        json={"placement_id": new_id(), "referral_id": referral},
        headers=kdei,
    )

    assert stranger.status_code == 409
    assert expected.status_code == 201
    assert beds(facility, identifier) == (13, 13, 0)


def test_a_reservation_expires_after_the_hold_time(
    client, auth, facility_id, facility, new_id, clock, sweep, outbox_events
) -> None:
    identifier = facility_id(KDEI_PP)
    held = client.post(
        f"/facilities/{identifier}/reservations",
        json={"referral_id": new_id()},
        headers=auth("mosvy", "case_manager"),
    ).json()

    clock.advance(hours=47, minutes=59)
    assert sweep() == 0
    clock.advance(minutes=1)
    assert sweep() == 1

    assert beds(facility, identifier) == (18, 12, 0)
    reservation = client.get(
        f"/facilities/{identifier}/reservations/{held['id']}", headers=auth("mosvy", "admin")
    )
    assert reservation.json()["state"] == "expired"
    causes = [e.data.cause for e in outbox_events("capacity.changed") if e.subject == identifier]
    assert causes == ["reservation_made", "reservation_expired"]


def test_an_expired_hold_never_blocks_an_admission_even_before_the_sweep(
    client, kdei, facility_id, facility, new_id, clock
) -> None:
    identifier = facility_id(KDEI_PP)
    client.put(f"/facilities/{identifier}/capacity", json={"beds_total": 13}, headers=kdei)
    client.post(
        f"/facilities/{identifier}/reservations", json={"referral_id": new_id()}, headers=kdei
    )
    clock.advance(hours=49)

    response = client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": new_id()}, headers=kdei
    )

    assert response.status_code == 201
    assert beds(facility, identifier) == (13, 13, 0)


def test_the_hold_time_is_a_setting(make_app, auth, facility_id, new_id) -> None:
    from fastapi.testclient import TestClient

    with TestClient(make_app(reservation_hold_hours=2)) as client:
        held = client.post(
            f"/facilities/{facility_id(KDEI_PP)}/reservations",
            json={"referral_id": new_id()},
            headers=auth("mosvy", "case_manager"),
        )

    assert held.json()["expires_at"] == "2026-11-28T10:00:00Z"


def test_a_released_reservation_gives_the_bed_back(
    client, kdei, facility_id, facility, new_id
) -> None:
    identifier = facility_id(KDEI_PP)
    held = client.post(
        f"/facilities/{identifier}/reservations", json={"referral_id": new_id()}, headers=kdei
    ).json()
    release = f"/facilities/{identifier}/reservations/{held['id']}/release"

    assert client.post(release, headers=kdei).json()["state"] == "released"
    assert client.post(release, headers=kdei).status_code == 409
    assert beds(facility, identifier) == (18, 12, 0)


def test_a_full_facility_holds_no_bed(client, chantrea, facility_id, new_id) -> None:
    response = client.post(
        f"/facilities/{facility_id(FULL)}/reservations",
        json={"referral_id": new_id()},
        headers=chantrea,
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "facility_full"


def test_the_history_keeps_every_change_with_its_cause(client, kdei, facility_id, new_id) -> None:
    identifier, placement = facility_id(KDEI_PP), new_id()
    client.put(f"/facilities/{identifier}/capacity", json={"beds_total": 20}, headers=kdei)
    client.post(
        f"/facilities/{identifier}/placements", json={"placement_id": placement}, headers=kdei
    )
    client.post(
        f"/facilities/{identifier}/placements/{placement}/end",
        json={"exit_reason": "transferred"},
        headers=kdei,
    )

    history = client.get(f"/facilities/{identifier}/capacity/history", headers=kdei).json()

    assert [(h["cause"], h["beds_total"], h["beds_occupied"]) for h in history] == [
        ("provider_update", 20, 12),
        ("placement_started", 20, 13),
        ("placement_ended", 20, 12),
    ]
    assert history[1]["placement_id"] == placement


# The referral service's placement events


def test_a_placement_event_occupies_a_bed(deliver, facility_id, facility) -> None:
    identifier = facility_id(KDEI_PP)

    deliver(started(identifier))

    assert beds(facility, identifier) == (18, 13, 0)


def test_the_same_placement_delivered_twice_is_one_change(
    deliver, facility_id, facility, outbox_events
) -> None:
    identifier = facility_id(KDEI_PP)
    event = started(identifier)

    deliver(event)
    deliver(event)  # a new event id would not help either: the placement id counts once
    deliver(started(identifier, placement_id=event.placement_id))

    assert beds(facility, identifier) == (18, 13, 0)
    assert len([e for e in outbox_events("capacity.changed") if e.subject == identifier]) == 1


def test_a_placement_for_a_full_facility_is_refused_not_overbooked(
    client, deliver, facility_id, facility, outbox_events, registrar
) -> None:
    identifier = facility_id(FULL)
    event = started(identifier, population_group="girls", age_band="12_to_17")

    deliver(event)
    deliver(event)

    assert beds(facility, identifier) == (25, 25, 0)
    [refused] = [e.data for e in outbox_events("placement.refused")]
    assert (refused.placement_id, refused.reason) == (event.placement_id, "facility_full")
    assert refused.referral_case_id == event.referral_case_id
    placement = client.get(
        f"/facilities/{identifier}/placements/{event.placement_id}", headers=registrar
    ).json()
    assert (placement["outcome"], placement["refusal_reason"]) == ("refused", "facility_full")


def test_a_placement_for_an_unknown_facility_is_refused(deliver, outbox_events) -> None:
    event = started(str(uuid4()))

    deliver(event)

    [refused] = [e.data for e in outbox_events("placement.refused")]
    assert refused.reason == "unknown_facility"


def test_a_placement_ended_event_frees_the_bed_once(deliver, facility_id, facility) -> None:
    identifier = facility_id(KDEI_PP)
    begun = started(identifier)
    deliver(begun)
    ended = PlacementEnded(
        **begun.model_dump(exclude={"started_at"}),
        exit_reason="reintegrated",
        ended_at=datetime(2026, 12, 20, tzinfo=UTC),
    )

    deliver(ended)
    deliver(ended)
    deliver(PlacementEnded(**{**ended.model_dump(), "placement_id": uuid4()}))  # never began

    assert beds(facility, identifier) == (18, 12, 0)


def test_a_placement_converts_the_referrals_reservation(
    client, auth, deliver, facility_id, facility
) -> None:
    identifier, referral = facility_id(KDEI_PP), uuid4()
    client.post(
        f"/facilities/{identifier}/reservations",
        json={"referral_id": str(referral)},
        headers=auth("mosvy", "case_manager"),
    )

    deliver(started(identifier, referral_id=referral))

    assert beds(facility, identifier) == (18, 13, 0)


def test_the_background_sweep_expires_reservations_on_its_own(
    make_app, auth, facility_id, clock, registrar
) -> None:
    import time

    from fastapi.testclient import TestClient

    identifier = facility_id(KDEI_PP)
    with TestClient(make_app(reservation_sweep_seconds=0.05)) as client:
        client.post(
            f"/facilities/{identifier}/reservations",
            json={"referral_id": str(uuid4())},
            headers=auth("mosvy", "case_manager"),
        )
        clock.advance(hours=48)
        deadline = time.monotonic() + 10
        reserved = 1
        while reserved and time.monotonic() < deadline:
            time.sleep(0.05)
            found = client.get(f"/facilities/{identifier}", headers=registrar).json()
            reserved = found["capacity"]["beds_reserved"]

    assert reserved == 0

"""The reference data: Cambodia's provinces and about 35 invented facilities, loaded
idempotently at start when the setting asks for it."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from shelter_registry.domain.geography import geography
from shelter_registry.usecases.reference_data import reference_facilities, reference_organisations


def test_the_25_provinces_with_their_official_codes() -> None:
    provinces = geography().provinces
    assert sorted(provinces) == [f"{code:02d}" for code in range(1, 26)]
    assert provinces["12"].name == "Phnom Penh"
    assert provinces["01"].name == "Banteay Meanchey"
    assert provinces["18"].name == "Preah Sihanouk"


def test_borders_are_symmetric_and_every_province_has_a_neighbour() -> None:
    places = geography()
    for code in places.provinces:
        assert places.neighbours(code), code
        for neighbour in places.neighbours(code):
            assert places.are_adjacent(neighbour, code)
    assert places.are_adjacent("12", "08")  # Phnom Penh, Kandal
    assert not places.are_adjacent("12", "01")


def test_reference_facilities_are_about_35_and_valid_as_api_input() -> None:
    facilities = reference_facilities()  # validated by the API's own models
    assert 30 <= len(facilities) <= 40
    assert len({f.key for f in facilities}) == len(facilities)
    organisations = {o.id for o in reference_organisations()}
    assert {f.form.organisation_id for f in facilities} <= organisations


def test_reference_data_has_what_the_issue_names() -> None:
    facilities = reference_facilities()
    poipet = [f for f in facilities if f.key == "poipet-transit-centre"]
    assert poipet and poipet[0].form.facility_type == "transit_centre"
    assert poipet[0].form.location.province_code == "01"
    girls_and_women = Counter(
        f.form.location.province_code
        for f in facilities
        if f.form.facility_type == "residential_shelter" and f.form.eligibility.sexes == ["female"]
    )
    for province in ("12", "17", "02", "18", "09"):  # PP, Siem Reap, Battambang, SHV, Koh Kong
        assert girls_and_women[province] >= 1, province
    assert not [
        f
        for f in facilities
        if f.form.facility_type == "residential_shelter"
        and "male" in f.form.eligibility.sexes
        and f.form.eligibility.max_age >= 18
    ], "the source report: no residential shelter for adult men"


def test_loading_at_start_twice_adds_nothing_the_second_time(
    make_app, registrar, outbox_events
) -> None:
    with TestClient(make_app()) as first:
        count = len(first.get("/directory?limit=500", headers=registrar).json()["items"])
    registered_events = len(outbox_events("facility"))
    with TestClient(make_app()) as second:
        again = second.get("/directory?limit=500", headers=registrar).json()["items"]

    assert count == len(reference_facilities()) == len(again)
    assert registered_events == count
    assert len(outbox_events("facility")) == registered_events


def test_without_the_setting_the_registry_starts_empty(make_app, registrar) -> None:
    with TestClient(make_app(load_reference_data=False)) as client:
        assert client.get("/directory", headers=registrar).json()["items"] == []


def test_the_load_command_is_idempotent(tmp_path, capsys) -> None:
    from shelter_registry.entrypoints.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"

    assert main(["load", "--database-url", url]) == 0
    assert main(["load", "--database-url", url]) == 0

    first, second = capsys.readouterr().out.strip().splitlines()
    assert first == "organisations added: 12, facilities added: 35, already present: 0"
    assert second == "organisations added: 0, facilities added: 0, already present: 35"

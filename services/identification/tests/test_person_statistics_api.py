"""The authoritative count: unique persons beside records, grouped and filtered; counts
only, never a name; cells with fewer than k persons suppressed."""

from __future__ import annotations

from typing import Any

import pytest

from identification.domain.statistics import CountedRecord, Dimension, Period, tabulate

POLICE_IN_KHMER: dict[str, Any] = {
    "given_name": None,
    "family_name": None,
    "given_name_khmer": "សុខា",
    "family_name_khmer": "ចាន់",
    "birth_date": "2004-03-09",
}
NGO_IN_LATIN: dict[str, Any] = {
    "given_name": "Chan",
    "family_name": "Sok Kha",
    "given_name_khmer": None,
    "family_name_khmer": None,
    "birth_date": "2004-03-09",
}
OTHER_PERSON: dict[str, Any] = {
    "given_name": "Dara",
    "family_name": "Meas",
    "given_name_khmer": None,
    "family_name_khmer": None,
    "sex": "male",
    "birth_date": "1990-01-20",
}


def statistics(client, headers, **query: Any) -> dict[str, Any]:
    response = client.get("/statistics/victims", params=query, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("min_cell", [1])
def test_one_person_screened_by_police_in_khmer_and_an_ngo_in_latin_counts_once(
    client, auth, screen, min_cell
) -> None:
    screen("moi-dahtjp", **POLICE_IN_KHMER)
    screen("ngo-shelter-a", encounter={"province_code": "12"}, **NGO_IN_LATIN)

    body = statistics(client, auth("mosvy", "analyst"), group_by="agency")

    assert body["total"] == {"records": 2, "persons": 1, "suppressed": False}
    assert [(cell["group"], cell["persons"]) for cell in body["cells"]] == [
        ({"agency": "moi-dahtjp"}, 1),
        ({"agency": "ngo-shelter-a"}, 1),
    ]


@pytest.mark.parametrize("min_cell", [1])
def test_an_analyst_gets_counts_and_never_a_name(client, auth, screen, min_cell) -> None:
    police = screen("moi-dahtjp", **POLICE_IN_KHMER)
    screen("ngo-shelter-a", **NGO_IN_LATIN)
    analyst = auth("mosvy", "analyst")

    answers = [
        client.get("/statistics/victims", params={"group_by": dimension}, headers=analyst).text
        for dimension in Dimension
    ]

    for text in answers:
        for name in ("សុខា", "ចាន់", "Chan", "Sok Kha", police["id"], police["case_id"]):
            assert name not in text
    # Nor through any other door.
    assert client.get(f"/screenings/{police['id']}", headers=analyst).status_code == 403
    assert client.get("/persons/review-pairs", headers=analyst).status_code == 403
    assert client.get(f"/cases/{police['case_id']}", headers=analyst).status_code == 403


WOMEN = [
    ("Bopha", "Keo", "1995-02-11"),
    ("Sophea", "Heng", "1998-06-30"),
    ("Thida", "Prak", "2001-09-04"),
    ("Kanha", "Touch", "1993-12-25"),
    ("Nary", "Meas", "2000-04-17"),
]


def screen_women(screen, count: int = 5, **encounter: Any) -> None:
    for given, family, born in WOMEN[:count]:
        screen(
            "moi-dahtjp",
            encounter=encounter or None,
            given_name=given,
            family_name=family,
            given_name_khmer=None,
            family_name_khmer=None,
            birth_date=born,
        )


def test_cells_with_fewer_persons_than_k_are_suppressed_with_their_complement(
    client, auth, screen
) -> None:
    screen_women(screen)
    screen("moi-dahtjp", **OTHER_PERSON)

    body = statistics(client, auth("mosvy", "analyst"), group_by="sex")

    assert body["min_cell"] == 5
    assert body["total"] == {"records": 6, "persons": 6, "suppressed": False}
    # The one man is hidden, and so are the five women: 6 - 5 would give him away.
    assert body["cells"] == [
        {"group": {"sex": "female"}, "records": None, "persons": None, "suppressed": True},
        {"group": {"sex": "male"}, "records": None, "persons": None, "suppressed": True},
    ]


def test_a_small_total_is_suppressed_too(client, auth, screen) -> None:
    screen_women(screen, count=2)

    body = statistics(client, auth("mosvy", "analyst"))

    assert body["total"] == {"records": None, "persons": None, "suppressed": True}


@pytest.mark.parametrize("min_cell", [1])
@pytest.mark.parametrize(
    ("query", "persons"),
    [
        ({"sex": "male"}, 1),
        ({"sex": "female"}, 5),
        ({"province": "02"}, 5),
        ({"province": "12"}, 1),
        ({"agency": "moi-dahtjp"}, 6),
        ({"agency": "ngo-shelter-a"}, 0),
        ({"nationality": "KHM"}, 6),
        ({"age_band": "18_to_24"}, 1),
        ({"age_band": "25_to_39"}, 5),
        ({"decision_stage": "awaiting_preliminary_decision"}, 6),
        ({"decision_stage": "identified"}, 0),
        ({"from": "2026-03-03"}, 0),
        ({"to": "2026-03-02"}, 6),
        ({"exploitation_type": "sexual_exploitation"}, 0),
    ],
)
def test_filters_narrow_the_count(client, auth, screen, min_cell, query, persons) -> None:
    screen_women(screen)
    screen("moi-dahtjp", encounter={"province_code": "12"}, **OTHER_PERSON)

    body = statistics(client, auth("mosvy", "competent_authority"), **query)

    assert body["total"]["persons"] == persons


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "name"}, "group_by.0"),
        ({"group_by": ["sex", "sex"]}, "group_by"),
        ({"sex": "f"}, "sex"),
        ({"province": "2"}, "province"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"period": "week"}, "period"),
    ],
)
def test_a_bad_query_is_422_naming_the_parameter(client, auth, query, field) -> None:
    response = client.get("/statistics/victims", params=query, headers=auth("mosvy", "analyst"))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("organisation", "role"), [("moi-dahtjp", "screener"), ("moj", "competent_authority")]
)
def test_statistics_are_for_analysts_and_the_competent_authority(
    client, auth, organisation, role
) -> None:
    response = client.get("/statistics/victims", headers=auth(organisation, role))

    assert response.status_code == 403


def _record(person: str, day: str, purposes: tuple[str, ...] = ()) -> CountedRecord:
    from datetime import date

    return CountedRecord(
        person_id=person,
        encounter_date=date.fromisoformat(day),
        sex="female",
        age_band="18_to_24",
        nationality="KHM",
        purposes=purposes,
        agency="moi-dahtjp",
        province="02",
        decision_stage="identified",
    )


def test_a_person_counts_once_per_cell_and_once_in_the_total() -> None:
    rows = [
        _record("p1", "2025-11-30", ("sexual_exploitation",)),
        _record("p1", "2026-01-05", ("sexual_exploitation", "forced_labour")),
        _record("p2", "2026-02-01"),
    ]

    table = tabulate(rows, group_by=[Dimension.PERIOD], period=Period.QUARTER, min_cell=1)

    assert (table.total.records, table.total.persons) == (3, 2)
    assert [(g, c.records, c.persons) for g, c in table.cells] == [
        ({"period": "2025-Q4"}, 1, 1),
        ({"period": "2026-Q1"}, 2, 2),
    ]


def test_a_record_of_several_exploitation_types_counts_in_each() -> None:
    rows = [_record("p1", "2026-01-05", ("sexual_exploitation", "forced_labour"))]

    table = tabulate(rows, group_by=[Dimension.EXPLOITATION_TYPE], period=Period.YEAR, min_cell=1)

    assert len(table.cells) == 2
    assert all(count.persons == 1 for _, count in table.cells)

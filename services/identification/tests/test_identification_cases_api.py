"""GET /cases and /cases/{id}: a screener sees its own organisation's cases, the
Competent Authority all; filters and pages. POST /screenings with an Idempotency-Key
opens one case however often it is retried. Law enforcement sees the non-punishment flag."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

CA = ("mosvy", "competent_authority")
POLICE = ("moi-dahtjp", "screener")
IMMIGRATION = ("moi-immigration", "screener")


def listed(client, auth, who, **params) -> list[str]:
    response = client.get("/cases", params=params, headers=auth(*who))
    assert response.status_code == 200, response.text
    return [case["id"] for case in response.json()["items"]]


def decide(client, auth, case_id, outcome="identified") -> None:
    response = client.post(
        f"/cases/{case_id}/decisions",
        json={"stage": "preliminary", "outcome": outcome, "rationale": "r"},
        headers=auth(*CA),
    )
    assert response.status_code == 201


def test_a_screener_sees_its_organisations_cases_the_competent_authority_all(
    client, auth, screen
) -> None:
    police = screen("moi-dahtjp")
    border = screen("moi-immigration", encounter={"province_code": "01"})

    assert listed(client, auth, POLICE) == [police["case_id"]]
    assert listed(client, auth, IMMIGRATION) == [border["case_id"]]
    assert listed(client, auth, CA) == [police["case_id"], border["case_id"]]


@pytest.mark.parametrize(
    ("who", "status"),
    [(POLICE, 200), (CA, 200), (IMMIGRATION, 404), (("mosvy", "screener"), 404)],
)
def test_another_organisation_is_told_the_case_does_not_exist(
    client, auth, screen, who, status
) -> None:
    case = screen("moi-dahtjp")

    response = client.get(f"/cases/{case['case_id']}", headers=auth(*who))

    assert response.status_code == status


def test_a_later_screening_joins_the_case_and_its_organisation_then_sees_it(
    client, auth, screen, screening_form, clock
) -> None:
    case = screen("moi-dahtjp")
    form = {**screening_form(), "case_id": case["case_id"]}
    clock.now += timedelta(seconds=1)  # later, so it lists after the first

    denied = client.post("/screenings", json=form, headers=auth(*IMMIGRATION))
    joined = client.post("/screenings", json=form, headers=auth(*POLICE))

    assert denied.status_code == 404  # not a case the border post has seen
    assert joined.status_code == 201
    read = client.get(f"/cases/{case['case_id']}", headers=auth(*CA)).json()
    assert [s["id"] for s in read["screenings"]] == [case["id"], joined.json()["id"]]


@pytest.mark.parametrize("who", [("ngo-shelter-a", "provider_staff"), ("mosvy", "analyst")])
def test_a_role_that_may_not_read_cases_is_403(client, auth, who) -> None:
    assert client.get("/cases", headers=auth(*who)).status_code == 403


def test_cases_are_filtered_by_status_stage_agency_and_province(client, auth, screen) -> None:
    presumed = screen("moi-dahtjp")
    waiting = screen("moi-immigration", encounter={"province_code": "01"})
    decide(client, auth, presumed["case_id"])

    assert listed(client, auth, CA, status="presumed_victim") == [presumed["case_id"]]
    assert listed(client, auth, CA, status="awaiting_preliminary_decision") == [waiting["case_id"]]
    assert listed(client, auth, CA, stage="preliminary") == [presumed["case_id"]]
    assert listed(client, auth, CA, agency="moi-immigration") == [waiting["case_id"]]
    assert listed(client, auth, CA, province="01") == [waiting["case_id"]]
    assert listed(client, auth, POLICE, agency="moi-immigration") == []  # still only its own


@pytest.mark.parametrize(
    ("param", "value"),
    [("status", "closed"), ("stage", "x"), ("province", "1"), ("overdue", "soon"), ("limit", "0")],
)
def test_an_invalid_filter_is_422_naming_it(client, auth, param, value) -> None:
    response = client.get("/cases", params={param: value}, headers=auth(*CA))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == param


def test_pages_follow_the_cursor_to_the_end(client, auth, clock, screen) -> None:
    opened = []
    for minute in range(5):
        clock.now = clock.now.replace(minute=minute)
        opened.append(screen()["case_id"])

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/cases", params=params, headers=auth(*CA)).json()
        seen += [case["id"] for case in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == opened


def test_a_retried_screening_with_the_same_idempotency_key_opens_one_case(
    client, auth, screening_form, screening_rows, events
) -> None:
    headers = {**auth(*POLICE), "Idempotency-Key": "dahtjp-2026-03-02-0001"}

    first = client.post("/screenings", json=screening_form(), headers=headers)
    retry = client.post("/screenings", json=screening_form(), headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert len(screening_rows()) == 1
    assert len(events("screening.recorded")) == 1
    assert listed(client, auth, CA) == [first.json()["case_id"]]


def test_the_same_key_with_another_form_is_409(client, auth, screening_form) -> None:
    headers = {**auth(*POLICE), "Idempotency-Key": "k-1"}
    client.post("/screenings", json=screening_form(), headers=headers)

    response = client.post("/screenings", json=screening_form(sex="male"), headers=headers)

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "Idempotency-Key"


def test_idempotency_keys_are_per_organisation(client, auth, screening_form) -> None:
    key = {"Idempotency-Key": "0001"}
    police = client.post("/screenings", json=screening_form(), headers={**auth(*POLICE), **key})
    border = client.post(
        "/screenings", json=screening_form(), headers={**auth(*IMMIGRATION), **key}
    )

    assert police.json()["case_id"] != border.json()["case_id"]


def test_a_screening_reads_back_with_its_assessment_and_documents(
    client, auth, screening_form
) -> None:
    form = screening_form(
        identity_documents=[{"kind": "passport", "status": "confiscated", "number": "N0123"}],
        languages=["km", "th"],
        indicators={
            "acts": ["recruitment"],
            "means": ["confiscated_documents"],
            "purposes": ["forced_labour"],
            "labour_sectors": ["domestic_work"],
        },
    )
    created = client.post("/screenings", json=form, headers=auth(*POLICE)).json()

    read = client.get(f"/screenings/{created['id']}", headers=auth(*POLICE)).json()

    assert read == created
    assert read["person"]["identity_documents"] == [
        {"kind": "passport", "status": "confiscated", "issuing_country": None, "number": "N0123"}
    ]
    assert read["presumptive_assessment"]["result"] == "presumed_victim"
    assert read["presumptive_assessment"]["means"]["answers"] == ["means: confiscated_documents"]
    assert read["age_band"] == "12_to_17"


def test_a_screening_abroad_names_a_country_not_cambodia(client, auth, screening_form) -> None:
    abroad = screening_form(encounter={"province_code": None, "country_code": "KHM"})

    response = client.post("/screenings", json=abroad, headers=auth(*POLICE))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "encounter.country_code"


# --- non-punishment ---------------------------------------------------------------


def check(client, auth, who, given_name, family_name):
    return client.post(
        "/non-punishment-checks",
        json={"given_name": given_name, "family_name": family_name},
        headers=auth(*who),
    )


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [
        ("Sreymom", "Keovathana"),
        ("SREYMOM", "keovathana"),
        ("Keovathana", "Sreymom"),  # family name first
        ("ស្រីមុំ", "កែវវឌ្ឍនា"),  # Khmer script
    ],
)
def test_law_enforcement_sees_the_non_punishment_flag_when_looking_the_person_up(
    client, auth, screen, given_name, family_name
) -> None:
    case = screen("moi-dahtjp")
    decide(client, auth, case["case_id"])

    response = check(client, auth, ("moi-immigration", "screener"), given_name, family_name)

    assert response.status_code == 200
    [match] = response.json()["matches"]
    assert match["case_id"] == case["case_id"]
    assert match["status"] == "presumed_victim"
    assert match["non_punishment"] == {"applies": True, "since": "2026-03-02"}


def test_vietnamese_names_match_with_or_without_diacritics(client, auth, screen) -> None:
    case = screen(given_name="Thị Lan", family_name="Nguyễn", nationality="VNM")
    decide(client, auth, case["case_id"])

    [match] = check(client, auth, POLICE, "Thi Lan", "Nguyen").json()["matches"]

    assert match["case_id"] == case["case_id"]


@pytest.mark.parametrize("outcome", [None, "not_identified", "more_information_needed"])
def test_a_person_without_the_flag_is_not_named(client, auth, screen, outcome) -> None:
    case = screen()
    if outcome:
        decide(client, auth, case["case_id"], outcome)

    response = check(client, auth, POLICE, "Sreymom", "Keovathana")

    assert response.json() == {"matches": []}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (("moi-immigration", "screener"), 200),  # law enforcement meeting persons
        (("moi-dahtjp", "case_manager"), 200),
        (CA, 200),
        (("moi-immigration", "auditor"), 403),  # an auditor reads the audit log only
        (("moi-dahtjp", "analyst"), 403),  # an analyst gets counts only
        (("ngo-shelter-a", "screener"), 403),  # a first responder, not law enforcement
        (("moj", "competent_authority"), 403),  # not the Competent Authority (MOSVY)
        (("ngo-shelter-a", "provider_staff"), 403),
        (("moj", "analyst"), 403),
    ],
)
def test_who_may_check_non_punishment(client, auth, who, status) -> None:
    assert check(client, auth, who, "A", "B").status_code == status


def test_an_unknown_case_is_404(client, auth) -> None:
    response = client.get(f"/cases/{uuid4()}", headers=auth(*CA))

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "case not found"}}

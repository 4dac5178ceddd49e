"""POST /cases/{id}/decisions: only the Competent Authority decides; preliminary first,
then final; append-only, a reconsideration names the decision it revisits; each
decision announces what downstream services need, without personal data."""

from __future__ import annotations

from uuid import uuid4

import pytest

CA = ("mosvy", "competent_authority")
FISHING_BOAT = {
    "acts": ["recruitment", "transport"],
    "means": ["deception_or_false_promises", "debt_bondage"],
    "purposes": ["forced_labour"],
    "labour_sectors": ["fishing"],
    "continuum_position": "B",
}


@pytest.fixture
def case(screen) -> dict:
    """A case opened by a police screening on Monday 2 March 2026 (a girl of 15)."""
    return screen(
        indicators={"acts": ["harbouring"], "purposes": ["sexual_exploitation"]},
        consents=[{"purpose": "referral", "given": True, "basis": "guardian"}],
    )


@pytest.fixture
def decide(client, auth):
    def _decide(case_id: str, who: tuple[str, ...] = CA, **decision) -> object:
        body = {"stage": "preliminary", "outcome": "identified", "rationale": "r", **decision}
        return client.post(f"/cases/{case_id}/decisions", json=body, headers=auth(*who))

    return _decide


def read_case(client, auth, case_id: str) -> dict:
    response = client.get(f"/cases/{case_id}", headers=auth(*CA))
    assert response.status_code == 200
    return response.json()


def test_a_positive_preliminary_decision_presumes_the_victim(client, auth, case, decide) -> None:
    response = decide(case["case_id"], rationale="reasonable grounds: harboured in a brothel")

    assert response.status_code == 201
    decision = response.json()
    assert (decision["stage"], decision["outcome"]) == ("preliminary", "identified")
    assert decision["decided_on"] == "2026-03-02"  # today in Cambodia, on the fake clock
    assert decision["decided_by_organisation"] == "mosvy"
    read = read_case(client, auth, case["case_id"])
    assert (read["status"], read["stage"]) == ("presumed_victim", "preliminary")
    assert read["deadlines"] == {
        "preliminary_due_on": "2026-03-09",
        "final_due_on": "2026-04-16",  # 45 days
        "recovery_period_ends_on": "2026-04-01",  # at least 30 days
        "next_deadline": "final_decision",
        "next_deadline_on": "2026-04-16",
        "overdue": False,
    }
    assert read["non_punishment"] == {"applies": True, "since": "2026-03-02"}
    assert read["decisions"] == [decision]


def test_the_presumption_is_announced_with_what_referral_needs_and_no_personal_data(
    case, decide, events, outbox_rows, screening_form
) -> None:
    decision = decide(case["case_id"]).json()

    [presumed] = events("victim.presumed")
    assert presumed.subject == case["case_id"]
    data = presumed.data.model_dump(mode="json")
    assert data == {
        "case_id": case["case_id"],
        "decision_id": decision["id"],
        "person_ref": data["person_ref"],
        "decided_on": "2026-03-02",
        "sex": "female",
        "age_band": "12_to_17",
        "is_child": True,
        "nationality": "KHM",
        "exploitation_types": ["sexual_exploitation"],
        "labour_sectors": [],
        "province_code": "02",
        "country_code": None,
        "needs_hints": [],
        "consented_purposes": ["referral"],
        "referral_consent_basis": "guardian",
        "recovery_period_ends_on": "2026-04-01",
        "final_decision_due_on": "2026-04-16",
    }
    assert str(presumed.actor) == "mosvy/competent_authority"
    stored = b"".join(row["message_value"] for row in outbox_rows())
    for value in ("Sreymom", "Keovathana", "2010-05-17"):
        assert value.encode() not in stored


def test_a_positive_final_decision_identifies_the_victim(
    client, auth, case, decide, events
) -> None:
    decide(case["case_id"])

    response = decide(case["case_id"], stage="final", rationale="conclusive grounds")

    assert response.status_code == 201
    read = read_case(client, auth, case["case_id"])
    assert (read["status"], read["stage"]) == ("identified", "final")
    assert read["deadlines"]["next_deadline"] is None
    assert read["non_punishment"] == {"applies": True, "since": "2026-03-02"}
    [identified] = events("victim.identified")
    assert str(identified.data.decision_id) == response.json()["id"]
    assert identified.data.referral_consent_basis == "guardian"


def test_a_negative_decision_is_announced_and_lifts_no_flag(
    client, auth, case, decide, events
) -> None:
    response = decide(case["case_id"], outcome="not_identified")

    assert response.status_code == 201
    read = read_case(client, auth, case["case_id"])
    assert read["status"] == "not_identified"
    assert read["non_punishment"] == {"applies": False, "since": None}
    assert read["deadlines"]["next_deadline"] is None
    [negative] = events("victim.not_identified")
    assert (negative.data.stage, str(negative.data.decision_id)) == (
        "preliminary",
        response.json()["id"],
    )
    assert events("victim.presumed") == []


def test_more_information_needed_keeps_the_clock_running(
    client, auth, case, decide, events
) -> None:
    response = decide(case["case_id"], outcome="more_information_needed")

    assert response.status_code == 201
    read = read_case(client, auth, case["case_id"])
    assert (read["status"], read["stage"]) == ("more_information_needed", "preliminary")
    assert read["deadlines"]["next_deadline"] == "preliminary_decision"
    assert read["deadlines"]["next_deadline_on"] == "2026-03-09"
    assert decide(case["case_id"]).status_code == 201  # then the decision itself
    assert len(events("victim.presumed")) == 1


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("moi-dahtjp", "screener"),  # the screener who opened the case
        ("mosvy", "screener"),
        ("mosvy", "case_manager"),
        ("moi-dahtjp", "competent_authority"),  # the role, but not in the Competent Authority
        ("ngo-shelter-a", "competent_authority"),
    ],
)
def test_only_the_competent_authority_decides(
    client, auth, case, decide, outbox_rows, organisation, role
) -> None:
    before = len(outbox_rows())

    response = decide(case["case_id"], who=(organisation, role))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert read_case(client, auth, case["case_id"])["decisions"] == []
    assert len(outbox_rows()) == before


def test_a_final_decision_before_a_preliminary_one_is_409(
    client, auth, case, decide, outbox_rows
) -> None:
    before = len(outbox_rows())

    response = decide(case["case_id"], stage="final")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "a final decision needs a preliminary decision first",
    }
    assert read_case(client, auth, case["case_id"])["decisions"] == []
    assert len(outbox_rows()) == before


@pytest.mark.parametrize("preliminary", ["not_identified", "more_information_needed"])
def test_a_final_decision_needs_a_positive_preliminary_one(case, decide, preliminary) -> None:
    decide(case["case_id"], outcome=preliminary)

    response = decide(case["case_id"], stage="final")

    assert response.status_code == 409
    assert "positive preliminary" in response.json()["error"]["message"]


def test_a_second_decision_of_a_stage_must_name_the_one_it_reconsiders(case, decide) -> None:
    decide(case["case_id"], outcome="not_identified")

    response = decide(case["case_id"])

    assert response.status_code == 409
    assert "reconsideration" in response.json()["error"]["message"]


def test_a_reconsideration_is_a_new_decision_and_the_old_one_stays(
    client, auth, case, decide, events
) -> None:
    negative = decide(case["case_id"], outcome="not_identified").json()

    response = decide(case["case_id"], reconsiders=negative["id"], rationale="new evidence")

    assert response.status_code == 201
    assert response.json()["reconsiders"] == negative["id"]
    read = read_case(client, auth, case["case_id"])
    assert [d["id"] for d in read["decisions"]] == [negative["id"], response.json()["id"]]
    assert read["decisions"][0] == negative  # unchanged: decisions are append-only
    assert read["status"] == "presumed_victim"
    assert len(events("victim.presumed")) == 1


def test_a_decision_already_reconsidered_cannot_be_reconsidered_again(case, decide) -> None:
    first = decide(case["case_id"], outcome="not_identified").json()
    decide(case["case_id"], reconsiders=first["id"])

    response = decide(case["case_id"], outcome="not_identified", reconsiders=first["id"])

    assert response.status_code == 409


def test_a_preliminary_decision_cannot_be_revisited_after_the_final_one(case, decide) -> None:
    first = decide(case["case_id"]).json()
    decide(case["case_id"], stage="final")

    response = decide(case["case_id"], outcome="not_identified", reconsiders=first["id"])

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"decided_on": "2026-03-01"}, "decided_on"),  # before the screening
        ({"decided_on": "2026-03-03"}, "decided_on"),  # tomorrow, in Cambodia
        ({"decided_on": "02/03/2026"}, "decided_on"),
        ({"rationale": ""}, "rationale"),
        ({"rationale": None}, "rationale"),
        ({"outcome": "victim"}, "outcome"),
        ({"stage": "conclusive"}, "stage"),
        ({"reconsiders": "not-a-uuid"}, "reconsiders"),
        ({"reconsiders": str(uuid4())}, "reconsiders"),  # not a decision of this case
        ({"decided_by": "someone"}, "decided_by"),
    ],
)
def test_an_invalid_decision_is_422_naming_the_field_and_writes_nothing(
    client, auth, case, decide, outbox_rows, change, field
) -> None:
    before = len(outbox_rows())

    response = decide(case["case_id"], **change)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert read_case(client, auth, case["case_id"])["decisions"] == []
    assert len(outbox_rows()) == before


def test_a_reconsideration_must_revisit_a_decision_of_its_own_stage(case, decide) -> None:
    preliminary = decide(case["case_id"]).json()

    response = decide(case["case_id"], stage="final", reconsiders=preliminary["id"])

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reconsiders"


def test_a_final_decision_dated_before_the_preliminary_one_is_422(
    client, auth, clock, case, decide
) -> None:
    clock.set_cambodian_day("2026-03-10")
    decide(case["case_id"], decided_on="2026-03-06")

    response = decide(case["case_id"], stage="final", decided_on="2026-03-05")

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "decided_on"


def test_a_decision_on_an_unknown_case_is_404(decide) -> None:
    response = decide(str(uuid4()))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_adult_fishing_case_is_announced_with_its_sector(screen, decide, events) -> None:
    opened = screen(
        sex="male",
        birth_date="1990-04-02",
        nationality="KHM",
        encounter={"type": "border_or_deportation_screening", "province_code": "01"},
        indicators=FISHING_BOAT,
        consents=[{"purpose": "referral", "given": True, "basis": "own_consent"}],
    )
    assert opened["presumptive_assessment"]["result"] == "presumed_victim"

    decide(opened["case_id"])

    [presumed] = events("victim.presumed")
    assert presumed.data.age_band == "25_to_39"
    assert presumed.data.exploitation_types == ["forced_labour"]
    assert presumed.data.labour_sectors == ["fishing"]
    assert presumed.data.referral_consent_basis == "own_consent"

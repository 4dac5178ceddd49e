"""Consent: purpose-specific, given, refused or withdrawn, recorded when and by whom; a
child's rests on a guardian or a best-interest decision. Each change is announced."""

from __future__ import annotations

import pytest

CA = ("mosvy", "competent_authority")
POLICE = ("moi-dahtjp", "screener")


@pytest.fixture
def adult_case(screen) -> dict:
    return screen(
        birth_date="1995-01-20",
        consents=[{"purpose": "referral", "given": True, "basis": "own_consent"}],
    )


def change(client, auth, case_id, who=POLICE, **consent):
    body = {"purpose": "referral", "status": "withdrawn", "basis": "own_consent", **consent}
    return client.post(f"/cases/{case_id}/consents", json=body, headers=auth(*who))


def test_consent_given_at_screening_is_recorded_and_announced(
    client, auth, adult_case, events
) -> None:
    read = client.get(f"/cases/{adult_case['case_id']}", headers=auth(*CA)).json()

    [given] = read["consents_in_force"]
    assert (given["purpose"], given["status"], given["basis"]) == (
        "referral",
        "given",
        "own_consent",
    )
    assert (given["given_on"], given["recorded_by_organisation"]) == ("2026-03-02", "moi-dahtjp")
    [announced] = events("consent.changed")
    assert (announced.data.purpose, announced.data.status) == ("referral", "given")


def test_a_withdrawal_is_recorded_and_announced(client, auth, adult_case, events) -> None:
    response = change(client, auth, adult_case["case_id"])

    assert response.status_code == 201
    assert response.json()["status"] == "withdrawn"
    read = client.get(f"/cases/{adult_case['case_id']}", headers=auth(*CA)).json()
    assert [c["status"] for c in read["consents_in_force"]] == ["withdrawn"]
    assert [c["status"] for c in read["consent_history"]] == ["given", "withdrawn"]
    withdrawn = events("consent.changed")[-1]
    assert withdrawn.subject == adult_case["case_id"]
    assert (withdrawn.data.purpose, withdrawn.data.status, withdrawn.data.is_child) == (
        "referral",
        "withdrawn",
        False,
    )
    assert str(withdrawn.data.consent_id) == response.json()["id"]
    assert str(withdrawn.actor) == "moi-dahtjp/screener"


def test_consent_is_specific_to_its_purpose(client, auth, adult_case) -> None:
    change(client, auth, adult_case["case_id"], purpose="data_sharing", status="given")

    read = client.get(f"/cases/{adult_case['case_id']}", headers=auth(*CA)).json()

    assert {(c["purpose"], c["status"]) for c in read["consents_in_force"]} == {
        ("referral", "given"),
        ("data_sharing", "given"),
    }


def test_withdrawing_what_was_never_given_is_409(client, auth, adult_case, events) -> None:
    before = len(events("consent.changed"))

    response = change(client, auth, adult_case["case_id"], purpose="repatriation")

    assert response.status_code == 409
    assert len(events("consent.changed")) == before


@pytest.mark.parametrize(
    ("birth_date", "basis", "status"),
    [
        ("2012-01-01", "guardian", 201),
        ("2012-01-01", "best_interest_decision", 201),
        ("2012-01-01", "own_consent", 422),  # a child does not consent alone
        ("1995-01-20", "own_consent", 201),
        ("1995-01-20", "guardian", 422),
    ],
)
def test_a_childs_consent_rests_on_a_guardian_or_a_best_interest_decision(
    client, auth, screen, birth_date, basis, status
) -> None:
    case = screen(birth_date=birth_date)

    response = change(client, auth, case["case_id"], status="given", basis=basis)

    assert response.status_code == status
    if status == 422:
        assert response.json()["error"]["field"] == "basis"


@pytest.mark.parametrize(
    ("change_", "field"),
    [
        ({"given_on": "2026-03-01"}, "given_on"),  # before the screening
        ({"given_on": "2026-03-03"}, "given_on"),  # tomorrow in Cambodia
        ({"purpose": "marketing"}, "purpose"),
        ({"status": "maybe"}, "status"),
        ({"basis": None}, "basis"),
    ],
)
def test_an_invalid_consent_is_422_naming_the_field(
    client, auth, adult_case, change_, field
) -> None:
    response = change(client, auth, adult_case["case_id"], **{"status": "given", **change_})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (CA, 201),
        (("moi-immigration", "screener"), 404),  # not its case: it does not exist for them
        (("ngo-shelter-a", "provider_staff"), 403),
    ],
)
def test_who_may_record_consent(client, auth, adult_case, who, status) -> None:
    assert change(client, auth, adult_case["case_id"], who=who).status_code == status

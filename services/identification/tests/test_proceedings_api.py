"""Prosecution liaison: MOSVY records a criminal case and links victims' cases to it, on
their consent to legal_proceedings or a legal basis it accepts; the case's investigators
and prosecutors see what the prosecution needs (victim status, non-punishment, whether
the person is here and in assistance, whom to contact) and nothing more; nobody else
learns that the record exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

CA = ("mosvy", "competent_authority")
POLICE = ("moi-dahtjp", "screener")
INVESTIGATOR = ("moi-dahtjp", "investigator")
PROSECUTOR = ("court-phnom-penh", "prosecutor")
RECORD = {
    "reference_kind": "police_case",
    "reference": "DAHTJP-2026/0117",
    "investigating_organisation": "moi-dahtjp",
    "prosecuting_office": "court-phnom-penh",
}
OUTSIDERS = [
    ("court-banteay-meanchey", "prosecutor"),  # another court
    ("moj", "prosecutor"),  # the ministry, not the prosecuting office
    ("police-banteay-meanchey", "investigator"),  # another unit
    ("moi-immigration", "investigator"),
    ("ngo-shelter-a", "investigator"),  # an NGO claiming the role
    ("ngo-legal-aid", "prosecutor"),
    ("vnm-mps", "investigator"),  # a foreign agency
    ("court-banteay-meanchey", "competent_authority"),  # not MOSVY's
]


@pytest.fixture
def proceedings(client, auth) -> dict[str, Any]:
    response = client.post("/proceedings", json=RECORD, headers=auth(*CA))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _decided(client, auth, screen, **person: Any) -> str:
    case_id: str = screen(**person)["case_id"]
    decided = client.post(
        f"/cases/{case_id}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "Her account"},
        headers=auth(*CA),
    )
    assert decided.status_code == 201, decided.text
    return case_id


def _consent(client, auth, case_id: str, status: str = "given", basis: str = "own_consent"):
    response = client.post(
        f"/cases/{case_id}/consents",
        json={"purpose": "legal_proceedings", "status": status, "basis": basis},
        headers=auth(*CA),
    )
    assert response.status_code == 201, response.text
    return response


def _link(client, auth, proceedings_id: str, case_id: str, **extra: Any):
    return client.post(
        f"/proceedings/{proceedings_id}/links",
        json={"case_id": case_id, **extra},
        headers=auth(*CA),
    )


@pytest.fixture
def adult_case(client, auth, screen) -> str:
    return _decided(client, auth, screen, birth_date="1995-01-20")


def test_a_linked_victim_is_seen_by_the_cases_prosecutor_and_investigator(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    linked = _link(client, auth, proceedings["id"], adult_case)
    assert linked.status_code == 201, linked.text
    assert linked.json()["basis"] == "consent"

    for caller in (PROSECUTOR, INVESTIGATOR, CA):
        victims = client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*caller))
        assert victims.status_code == 200, victims.text
        [victim] = victims.json()["victims"]
        assert victim == {
            "case_id": adult_case,
            "victim_status": "presumed_victim",
            "decision_stage": "preliminary",
            "preliminary_decision_on": "2026-03-02",
            "final_decision_on": None,
            "non_punishment": True,
            "non_punishment_since": "2026-03-02",
            # Identification has heard of no referral or return of hers yet.
            "whereabouts": "whereabouts_unknown",
            "repatriated_to": None,
            "contact": {"organisation": "mosvy"},
            "linked_at": victim["linked_at"],
        }
        record = client.get(f"/proceedings/{proceedings['id']}", headers=auth(*caller)).json()
        assert (record["reference"], record["linked_cases"]) == (RECORD["reference"], 1)


def test_nothing_but_status_codes_dates_and_ids_is_given(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    _link(client, auth, proceedings["id"], adult_case)

    text = client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*PROSECUTOR)).text

    for personal in ("Sreymom", "Keovathana", "ស្រីមុំ", "2010-05-17", "1995-01-20", "Her account"):
        assert personal not in text


@pytest.mark.parametrize("caller", OUTSIDERS)
def test_every_other_organisation_gets_404_on_every_proceedings_route(
    client, auth, proceedings, adult_case, caller
) -> None:
    _consent(client, auth, adult_case)
    _link(client, auth, proceedings["id"], adult_case)
    base = f"/proceedings/{proceedings['id']}"
    headers = auth(*caller)

    answers = [
        client.get(base, headers=headers),
        client.get(f"{base}/victims", headers=headers),
        client.post(f"{base}/links", json={"case_id": adult_case}, headers=headers),
        client.post(f"{base}/links/{adult_case}/unlink", headers=headers),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert all(adult_case not in answer.text for answer in answers)
    listed = client.get("/proceedings", headers=headers)
    assert listed.status_code == 200 and listed.json() == []


def test_a_caller_without_a_prosecution_role_is_refused(client, auth, proceedings) -> None:
    for caller in (POLICE, ("ngo-shelter-a", "provider_staff"), ("mosvy", "analyst")):
        answer = client.get(f"/proceedings/{proceedings['id']}", headers=auth(*caller))
        assert answer.status_code == 403
        assert proceedings["id"] not in answer.text


def test_each_office_lists_its_own_records_and_mosvy_all(client, auth, proceedings) -> None:
    other = client.post(
        "/proceedings",
        json={
            **RECORD,
            "reference": "BTB-2026-44",
            "investigating_organisation": "police-banteay-meanchey",
            "prosecuting_office": "court-banteay-meanchey",
        },
        headers=auth(*CA),
    ).json()

    def listed(caller: tuple[str, str]) -> list[str]:
        return [r["id"] for r in client.get("/proceedings", headers=auth(*caller)).json()]

    assert listed(PROSECUTOR) == [proceedings["id"]]
    assert listed(INVESTIGATOR) == [proceedings["id"]]
    assert listed(("court-banteay-meanchey", "prosecutor")) == [other["id"]]
    assert sorted(listed(CA)) == sorted([proceedings["id"], other["id"]])


def test_only_mosvys_competent_authority_records_proceedings(client, auth) -> None:
    for caller in (INVESTIGATOR, PROSECUTOR, ("moj", "competent_authority")):
        assert client.post("/proceedings", json=RECORD, headers=auth(*caller)).status_code == 403


def test_bad_records_are_refused(client, auth, proceedings) -> None:
    twice = client.post("/proceedings", json=RECORD, headers=auth(*CA))
    assert twice.status_code == 409
    for field, value in [
        ("investigating_organisation", "ngo-shelter-a"),  # not a police organisation
        ("investigating_organisation", "no-such-unit"),
        ("prosecuting_office", "moi-dahtjp"),  # not a ministry or court
        ("reference", "DAHTJP\u0000117"),
        ("reference", "call +855 12 345 678 \u202e"),
    ]:
        response = client.post(
            "/proceedings", json={**RECORD, "reference": "X-1", field: value}, headers=auth(*CA)
        )
        assert response.status_code == 422, (field, value, response.text)
        assert field in response.text


def test_a_link_needs_consent_or_a_legal_basis_mosvy_accepts(
    client, auth, proceedings, adult_case
) -> None:
    without = _link(client, auth, proceedings["id"], adult_case)
    assert without.status_code == 422
    assert "legal_proceedings" in without.text and "legal_basis" in without.text

    unknown_basis = _link(client, auth, proceedings["id"], adult_case, legal_basis="because")
    assert unknown_basis.status_code == 422 and "legal_basis" in unknown_basis.text

    on_order = _link(client, auth, proceedings["id"], adult_case, legal_basis="court_order")
    assert on_order.status_code == 201, on_order.text
    assert (on_order.json()["basis"], on_order.json()["legal_basis"]) == (
        "legal_basis",
        "court_order",
    )


def test_a_case_linked_twice_is_a_conflict_and_unknown_ones_are_404(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    assert _link(client, auth, proceedings["id"], adult_case).status_code == 201

    assert _link(client, auth, proceedings["id"], adult_case).status_code == 409
    unknown_case = _link(client, auth, proceedings["id"], "00000000-0000-4000-8000-000000000000")
    assert unknown_case.status_code == 404
    unknown_record = _link(client, auth, "00000000-0000-4000-8000-000000000000", adult_case)
    assert unknown_record.status_code == 404
    bad_field = _link(client, auth, proceedings["id"], adult_case, note="free text")
    assert bad_field.status_code == 422


def test_withdrawn_consent_drops_the_case_from_the_view(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    _link(client, auth, proceedings["id"], adult_case)

    _consent(client, auth, adult_case, status="withdrawn")

    victims = client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*PROSECUTOR))
    assert victims.json()["victims"] == []
    record = client.get(f"/proceedings/{proceedings['id']}", headers=auth(*PROSECUTOR)).json()
    assert record["linked_cases"] == 0


def test_a_link_on_a_legal_basis_outlasts_a_withdrawn_consent(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    _link(client, auth, proceedings["id"], adult_case, legal_basis="investigating_judge_warrant")
    _consent(client, auth, adult_case, status="withdrawn")

    victims = client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*PROSECUTOR))
    assert [v["case_id"] for v in victims.json()["victims"]] == [adult_case]


def test_a_childs_link_rests_on_a_guardian_or_best_interest_consent(
    client, auth, screen, proceedings
) -> None:
    child = _decided(client, auth, screen)  # born 2010: a child
    own = client.post(
        f"/cases/{child}/consents",
        json={"purpose": "legal_proceedings", "status": "given", "basis": "own_consent"},
        headers=auth(*CA),
    )
    assert own.status_code == 422

    _consent(client, auth, child, basis="guardian")

    assert _link(client, auth, proceedings["id"], child).status_code == 201


def test_unlinking_removes_the_case_and_links_and_unlinks_are_announced_by_id(
    client, auth, proceedings, adult_case, outbox_rows, parse_outbox_row
) -> None:
    _consent(client, auth, adult_case)
    link = _link(client, auth, proceedings["id"], adult_case).json()

    unlinked = client.post(
        f"/proceedings/{proceedings['id']}/links/{adult_case}/unlink", headers=auth(*CA)
    )
    assert unlinked.status_code == 200 and unlinked.json()["unlinked_at"]
    victims = client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*PROSECUTOR))
    assert victims.json()["victims"] == []
    again = client.post(
        f"/proceedings/{proceedings['id']}/links/{adult_case}/unlink", headers=auth(*CA)
    )
    assert again.status_code == 404
    assert _link(client, auth, proceedings["id"], adult_case).status_code == 201

    events = [parse_outbox_row(row) for row in outbox_rows()]
    kinds = [e.type.removeprefix("kh.nrm.identification.") for e in events]
    assert [k for k in kinds if k.startswith("proceedings.")] == [
        "proceedings.case_linked.v1",
        "proceedings.case_unlinked.v1",
        "proceedings.case_linked.v1",
    ]
    announced = [e for e in events if e.type.startswith("kh.nrm.identification.proceedings.")]
    assert {str(e.data.link_id) for e in announced} == {link["id"]}
    assert all(e.subject == adult_case for e in announced)
    assert set(announced[0].data.model_dump()) == {
        "proceedings_id",
        "case_id",
        "link_id",
        "basis",
        "linked_at",
    }


def test_consent_to_legal_proceedings_is_announced_as_v2_only(
    client, auth, adult_case, outbox_rows, parse_outbox_row
) -> None:
    _consent(client, auth, adult_case)

    events = [parse_outbox_row(row) for row in outbox_rows()]
    consents = [e for e in events if ".consent.changed." in e.type]
    assert [e.type for e in consents] == ["kh.nrm.identification.consent.changed.v2"]
    assert consents[0].data.purpose == "legal_proceedings"


def test_every_read_is_an_audited_disclosure_for_legal_proceedings(
    client, auth, proceedings, adult_case
) -> None:
    _consent(client, auth, adult_case)
    _link(client, auth, proceedings["id"], adult_case)

    client.get(f"/proceedings/{proceedings['id']}/victims", headers=auth(*PROSECUTOR))

    entries = client.get(
        "/audit", params={"organisation": "court-phnom-penh"}, headers=auth("mosvy", "auditor")
    ).json()["items"]
    read = [
        (e["role"], e["action"], e["resource_type"], e["resource_id"], e["purpose"])
        for e in entries
    ]
    assert read == [
        ("prosecutor", "read", "proceedings", proceedings["id"], "legal_proceedings"),
        ("prosecutor", "disclose", "identification_case", adult_case, "legal_proceedings"),
    ]


def test_the_non_punishment_check_names_the_proceedings_it_was_asked_for(
    client, auth, proceedings, adult_case
) -> None:
    asked = {"given_name": "Sreymom", "family_name": "Keovathana"}

    plain = client.post("/non-punishment-checks", json=asked, headers=auth(*INVESTIGATOR))
    named = client.post(
        "/non-punishment-checks",
        json={**asked, "proceedings_id": proceedings["id"]},
        headers=auth(*INVESTIGATOR),
    )
    elsewhere = client.post(
        "/non-punishment-checks",
        json={**asked, "proceedings_id": proceedings["id"]},
        headers=auth("police-banteay-meanchey", "investigator"),
    )

    assert plain.status_code == 200 and "proceedings_id" not in plain.json()
    assert [m["case_id"] for m in plain.json()["matches"]] == [adult_case]
    assert named.status_code == 200, named.text
    assert named.json()["proceedings_id"] == proceedings["id"]
    assert named.json()["matches"] == plain.json()["matches"]
    assert elsewhere.status_code == 404
    assert "Sreymom" not in json.dumps(named.json())

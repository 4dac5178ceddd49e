"""The liaison API: a counterpart agency sees and acts on its own country's cases only,
signs every call, and every message it sends is kept, refused ones too."""

from __future__ import annotations

import json
import uuid

import pytest

from repatriation.settings import CounterpartLink


def test_the_thai_agency_cannot_see_or_act_on_a_vietnamese_case(
    client, agency, outbound_case, liaison_rows
) -> None:
    case = outbound_case("VNM")
    thailand = agency("tha-msdhs", "THA")
    missing = str(uuid.uuid4())

    seen = thailand.get(f"/liaison/cases/{case['id']}")
    timeline = thailand.get(f"/liaison/cases/{case['id']}/timeline")
    acted = thailand.step(case["id"], "receipt_acknowledged", details={"contact_name": "x"})
    listed = thailand.get("/liaison/cases")

    # Exactly the answer for a case that does not exist: nothing confirms it exists.
    assert seen.status_code == thailand.get(f"/liaison/cases/{missing}").status_code == 404
    assert seen.json() == thailand.get(f"/liaison/cases/{missing}").json()
    assert timeline.status_code == 404
    assert acted.status_code == 404
    assert listed.status_code == 200 and listed.json()["items"] == []
    refused = liaison_rows("received")[-1]
    assert refused["case_id"] is None and refused["claimed_case_id"] == case["id"].replace("-", "")
    assert refused["status"] == "refused" and refused["response_status"] == 404


def test_the_vietnamese_agency_sees_its_case_and_lists_only_its_own(
    client, agency, outbound_case
) -> None:
    vietnamese = outbound_case("VNM")
    outbound_case("THA")
    vietnam = agency("vnm-mps", "VNM")

    assert vietnam.get(f"/liaison/cases/{vietnamese['id']}").status_code == 200
    listed = vietnam.get("/liaison/cases").json()["items"]
    assert [item["id"] for item in listed] == [vietnamese["id"]]


def test_a_message_for_an_unknown_case_is_404_and_recorded(client, agency, liaison_rows) -> None:
    vietnam = agency("vnm-molisa", "VNM")
    unknown = str(uuid.uuid4())

    response = vietnam.step(unknown, "receipt_acknowledged", details={"contact_name": "x"})

    assert response.status_code == 404
    [row] = liaison_rows("received")
    assert row["claimed_case_id"] == unknown.replace("-", "")
    assert row["organisation"] == "vnm-molisa" and row["status"] == "refused"
    assert json.loads(row["body"])["step"] == "receipt_acknowledged"


def test_a_refused_message_on_its_own_case_shows_on_the_timeline(
    client, officer, agency, outbound_case
) -> None:
    case = outbound_case("VNM")
    vietnam = agency("vnm-molisa", "VNM")

    early = vietnam.step(case["id"], "identity_verified", documents=["verification_report"])

    assert early.status_code == 409
    entries = client.get(f"/cases/{case['id']}/timeline", headers=officer).json()["entries"]
    assert [(e["kind"], e["step"], e["response_status"]) for e in entries] == [
        ("message_received", "identity_verified", 409)
    ]


def test_a_retried_message_is_applied_once_and_answered_the_same(
    client, officer, agency, notification, liaison_rows
) -> None:
    thailand = agency("tha-msdhs", "THA")
    body = notification()

    first = thailand.post("/liaison/cases", body, key="msdhs-notif-0001")
    again = thailand.post("/liaison/cases", body, key="msdhs-notif-0001")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replay"] == "true"
    assert len(client.get("/cases", headers=officer).json()["items"]) == 1
    assert len(liaison_rows("received")) == 1


def test_an_idempotency_key_reused_for_another_message_is_409(client, agency, notification) -> None:
    thailand = agency("tha-msdhs", "THA")
    assert (
        thailand.post("/liaison/cases", notification(), key="msdhs-notif-0002").status_code == 201
    )

    response = thailand.post("/liaison/cases", notification(), key="msdhs-notif-0002")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "tamper",
    ["no_signature", "wrong_secret", "body_changed", "stale_timestamp", "other_country_secret"],
)
def test_an_unsigned_or_badly_signed_call_is_401(client, agency, notification, tamper) -> None:
    thailand = agency("tha-msdhs", "THA")
    body = json.dumps(notification()).encode()
    headers = thailand.signed(body)
    if tamper == "no_signature":
        del headers["X-NRM-Signature"]
    elif tamper == "wrong_secret":
        headers = {**headers, **agency("tha-msdhs", "THA").signed(body)}
        headers["X-NRM-Signature"] = "v1=" + "0" * 64
    elif tamper == "body_changed":
        body = body.replace(b"Sokha", b"Sokhx")
    elif tamper == "stale_timestamp":
        headers["X-NRM-Timestamp"] = str(int(headers["X-NRM-Timestamp"]) - 3600)
    elif tamper == "other_country_secret":
        headers = {
            **agency("vnm-molisa", "VNM").signed(body),
            "Authorization": headers["Authorization"],
        }

    response = client.post("/liaison/cases", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    ("organisation", "roles", "org_type"),
    [
        ("mosvy", ("liaison_officer",), None),  # a ministry is not a counterpart
        ("ngo-shelter-a", ("liaison_officer",), None),
        ("vnm-molisa", ("case_manager",), None),  # a counterpart, but not in the liaison role
        ("iom-khm", ("liaison_officer",), None),
    ],
)
def test_only_registered_counterpart_liaison_officers_use_the_liaison_api(
    client, auth, organisation, roles, org_type
) -> None:
    options = {"organisation_type": org_type} if org_type else {}

    response = client.get("/liaison/cases", headers=auth(organisation, *roles, **options))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "options", [{"counterparts": {"THA": CounterpartLink(organisations=(), secret="s")}}]
)
def test_a_foreign_agency_not_listed_for_any_counterpart_country_is_403(client, agency) -> None:
    thailand = agency("tha-msdhs", "THA")

    response = thailand.get("/liaison/cases")

    assert response.status_code == 403
    assert (
        response.json()["error"]["message"] == "your organisation is not a registered counterpart"
    )


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("vnm-molisa", "liaison_officer"),
        ("ngo-shelter-a", "case_manager"),
        ("moi-dahtjp", "case_manager"),
        ("mosvy", "screener"),
        ("moj", "case_manager"),
        ("mowa", "liaison_officer"),
        ("mowa", "case_manager"),
    ],
)
def test_only_the_repatriation_authorities_officers_use_the_case_api(
    client, auth, outbound_case, organisation, role
) -> None:
    case = outbound_case("VNM")
    headers = auth(organisation, role)

    assert client.get("/cases", headers=headers).status_code == 403
    assert client.get(f"/cases/{case['id']}", headers=headers).status_code == 403
    assert client.get(f"/cases/{case['id']}/timeline", headers=headers).status_code == 403
    opened = client.post("/cases", json={}, headers=headers)
    assert opened.status_code == 403, opened.text


@pytest.mark.parametrize("options", [{"repatriation_authorities": {"mowa"}}])
def test_the_repatriation_authorities_are_a_setting(client, auth, options) -> None:
    assert client.get("/cases", headers=auth("mowa", "case_manager")).status_code == 200
    assert client.get("/cases", headers=auth("mosvy", "case_manager")).status_code == 403


def test_a_liaison_officer_completes_steps_but_only_a_case_manager_opens_cases(
    client, auth, outbound_case
) -> None:
    case = outbound_case("VNM")
    mofaic = auth("mofaic", "liaison_officer")

    step = client.post(
        f"/cases/{case['id']}/steps",
        json={
            "step": "notification",
            "documents": ["victim_identification_form", "consent_to_return"],
        },
        headers=mofaic,
    )
    opened = client.post("/cases", json={}, headers=mofaic)

    assert step.status_code == 201
    assert opened.status_code == 403


def test_an_inbound_notification_opens_a_case_under_the_sop_in_force(
    client, officer, agency, notification, outbox, steps
) -> None:
    thailand = agency("tha-msdhs", "THA")

    response = thailand.post("/liaison/cases", notification())

    assert response.status_code == 201, response.text
    case = response.json()
    assert case["direction"] == "inbound" and case["origin"] == "counterpart_notification"
    assert case["sop"] == {"id": "khm-tha-mou", "version": "2006.1", "title": case["sop"]["title"]}
    assert [step["step"] for step in case["steps"]] == ["notification"]
    assert list(steps(case)) == ["receipt_acknowledged"]
    assert steps(case)["receipt_acknowledged"]["due_on"] == "2026-03-05"
    assert [e.type for e in outbox()][:2] == [
        "kh.nrm.repatriation.case.proposed.v1",
        "kh.nrm.repatriation.step.completed.v1",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "consent_to_return": {
                    "status": "withdrawn",
                    "basis": "own_consent",
                    "recorded_on": "2026-03-02",
                }
            },
            "consent_to_return.status",
        ),
        (
            {
                "consent_to_return": {
                    "status": "given",
                    "basis": "guardian",
                    "recorded_on": "2026-03-02",
                }
            },
            "consent_to_return.basis",
        ),
        ({"documents": ["victim_identification_form"]}, "documents"),
        ({"sop_version": "1999.1"}, "sop_version"),
        (
            {"person": {"given_name": "A", "family_name": "B", "sex": "male"}},
            "person.estimated_age",
        ),
    ],
)
def test_a_notification_without_consent_or_documents_is_refused_and_opens_nothing(
    client, officer, agency, notification, change, field
) -> None:
    thailand = agency("tha-msdhs", "THA")

    response = thailand.post("/liaison/cases", notification(**change))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/cases", headers=officer).json()["items"] == []


def test_a_childs_consent_is_a_guardians_or_a_best_interest_decision(client, officer) -> None:
    body = {
        "identification_case_id": str(uuid.uuid4()),
        "counterpart_country": "VNM",
        "person": {"given_name": "Thi", "family_name": "Mai", "sex": "female", "estimated_age": 14},
        "consent_to_return": {
            "status": "given",
            "basis": "own_consent",
            "recorded_on": "2026-03-01",
        },
    }

    response = client.post("/cases", json=body, headers=officer)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "consent_to_return.basis"


def test_one_open_case_per_identification_case(client, officer, outbound_case) -> None:
    case = outbound_case("VNM")
    body = {
        "identification_case_id": case["identification_case_id"],
        "counterpart_country": "VNM",
        "person": {"given_name": "Thi", "family_name": "Mai", "sex": "female", "estimated_age": 30},
        "consent_to_return": {
            "status": "given",
            "basis": "own_consent",
            "recorded_on": "2026-03-01",
        },
    }

    assert client.post("/cases", json=body, headers=officer).status_code == 409


def test_malaysia_has_only_a_draft_which_a_case_must_name(
    client, agency, auth, notification
) -> None:
    body = {
        "identification_case_id": str(uuid.uuid4()),
        "counterpart_country": "MYS",
        "person": {"given_name": "Thi", "family_name": "Mai", "sex": "female", "estimated_age": 30},
        "consent_to_return": {
            "status": "given",
            "basis": "own_consent",
            "recorded_on": "2026-03-01",
        },
    }
    officer = auth("mosvy", "case_manager")

    refused = client.post("/cases", json=body, headers=officer)

    assert refused.status_code == 409
    assert "drafts: 0.1" in refused.json()["error"]["message"]

"""A case runs its SOP step by step: the order, who acts, what each step needs."""

from __future__ import annotations

import pytest

ADULT_OUTBOUND_VNM = [
    # (who, step, documents, details)
    ("KHM", "notification", ["victim_identification_form", "consent_to_return"], {}),
    ("VNM", "receipt_acknowledged", [], {"contact_name": "Ms Hoa, DSEP"}),
    ("VNM", "identity_verified", ["verification_report"], {}),
    ("VNM", "family_assessment", ["family_assessment_report"], {}),
    ("VNM", "travel_documents_issued", ["travel_document"], {}),
    (
        "KHM",
        "handover_proposed",
        [],
        {"handover_date": "2026-04-20", "border_point": "bavet-moc-bai"},
    ),
    (
        "VNM",
        "handover_confirmed",
        [],
        {"handover_date": "2026-04-20", "border_point": "bavet-moc-bai"},
    ),
    ("KHM", "handover", ["handover_record"], {}),
    ("VNM", "reception_confirmed", ["reception_record"], {}),
    (
        "VNM",
        "reintegration_report",
        ["reintegration_report"],
        {"reintegration_status": "with_family"},
    ),
]


def run_steps(client, officer, vietnam, case_id, plan):
    for who, step, documents, details in plan:
        body = {"step": step, "documents": documents, "details": details}
        if who == "KHM":
            response = client.post(f"/cases/{case_id}/steps", json=body, headers=officer)
        else:
            response = vietnam.step(case_id, step, documents=documents, details=details)
        assert response.status_code == 201, (step, response.text)
    return response.json()


def test_an_adult_outbound_case_runs_the_vietnam_sop_to_its_end(
    client, officer, agency, outbound_case, outbox
) -> None:
    case = outbound_case("VNM")
    assert case["sop"]["id"] == "khm-vnm-sop" and case["sop"]["version"] == "2009.1"
    vietnam = agency("vnm-molisa", "VNM")

    closed = run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM)

    assert closed["status"] == "closed" and closed["outcome"] == "returned"
    assert [step["step"] for step in closed["steps"]] == [row[1] for row in ADULT_OUTBOUND_VNM]
    assert closed["allowed_steps"] == []
    types = [envelope.type.removeprefix("kh.nrm.repatriation.") for envelope in outbox()]
    assert types[0] == "case.proposed.v1"
    assert types.count("step.completed.v1") == len(ADULT_OUTBOUND_VNM)
    assert "handover.scheduled.v1" in types and "handover.completed.v1" in types
    assert types[-1] == "case.closed.v1"
    assert {envelope.subject for envelope in outbox()} == {case["id"]}


def test_for_an_adult_the_child_only_best_interest_step_is_passed_through(
    client, officer, agency, outbound_case, steps
) -> None:
    case = outbound_case("VNM")
    vietnam = agency("vnm-molisa", "VNM")

    after = run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM[:4])

    assert list(steps(after)) == ["travel_documents_issued"]


def test_a_childs_case_requires_the_best_interest_assessment_before_any_handover(
    client, officer, agency, outbound_case, steps
) -> None:
    case = outbound_case("VNM", child=True)
    vietnam = agency("vnm-molisa", "VNM")

    after = run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM[:4])
    assert list(steps(after)) == ["best_interest_assessment"]
    skipped = vietnam.step(case["id"], "travel_documents_issued", documents=["travel_document"])

    assert skipped.status_code == 409
    assert "allowed now: best_interest_assessment" in skipped.json()["error"]["message"]
    assessed = client.post(
        f"/cases/{case['id']}/steps",
        json={"step": "best_interest_assessment", "documents": ["best_interest_assessment_report"]},
        headers=officer,
    )
    assert assessed.status_code == 201, assessed.text
    assert list(steps(assessed.json())) == ["travel_documents_issued"]


def test_a_step_out_of_order_is_409_with_the_allowed_steps(client, officer, outbound_case) -> None:
    case = outbound_case("VNM")

    response = client.post(
        f"/cases/{case['id']}/steps",
        json={
            "step": "handover_proposed",
            "details": {"handover_date": "2026-04-20", "border_point": "bavet-moc-bai"},
        },
        headers=officer,
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "step_not_allowed",
        "message": "step 'handover_proposed' is not allowed now; allowed now: notification",
        "field": "step",
    }


def test_a_step_the_sop_does_not_have_is_422_with_the_allowed_steps(
    client, officer, outbound_case
) -> None:
    case = outbound_case("VNM")

    response = client.post(f"/cases/{case['id']}/steps", json={"step": "teleport"}, headers=officer)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "step"
    assert "allowed now: notification" in response.json()["error"]["message"]


def test_cambodia_cannot_complete_the_counterparts_step(client, officer, outbound_case) -> None:
    case = outbound_case("VNM")
    notify = {
        "step": "notification",
        "documents": ["victim_identification_form", "consent_to_return"],
    }
    assert (
        client.post(f"/cases/{case['id']}/steps", json=notify, headers=officer).status_code == 201
    )

    response = client.post(
        f"/cases/{case['id']}/steps",
        json={"step": "receipt_acknowledged", "details": {"contact_name": "someone"}},
        headers=officer,
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_your_step"


@pytest.mark.parametrize(
    ("submission", "field"),
    [
        ({"step": "notification", "documents": ["victim_identification_form"]}, "documents"),
        ({"step": "notification", "documents": ["passport_scan"]}, "documents[0]"),
        ({"step": "notification", "documents": [], "extra": 1}, "extra"),
        (
            {"step": "notification", "details": {"handover_date": "tomorrow"}},
            "details.handover_date",
        ),
    ],
)
def test_a_step_without_what_it_needs_is_422_naming_the_field(
    client, officer, outbound_case, submission, field
) -> None:
    case = outbound_case("VNM")

    response = client.post(f"/cases/{case['id']}/steps", json=submission, headers=officer)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert client.get(f"/cases/{case['id']}", headers=officer).json()["steps"] == []


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"handover_date": "2026-04-20"}, "details.border_point"),
        (
            {"handover_date": "2026-04-20", "border_point": "poipet-aranyaprathet"},
            "details.border_point",
        ),
        ({"handover_date": "2026-02-20", "border_point": "bavet-moc-bai"}, "details.handover_date"),
    ],
)
def test_a_handover_proposal_needs_a_future_date_and_a_border_point_of_the_sop(
    client, officer, agency, outbound_case, details, field
) -> None:
    case = outbound_case("VNM")
    vietnam = agency("vnm-molisa", "VNM")
    run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM[:5])

    response = client.post(
        f"/cases/{case['id']}/steps",
        json={"step": "handover_proposed", "details": details},
        headers=officer,
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_withdrawn_consent_stops_the_case_before_the_handover(
    client, officer, agency, outbound_case
) -> None:
    case = outbound_case("VNM")
    vietnam = agency("vnm-molisa", "VNM")
    run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM[:6])
    withdrawn = client.post(
        f"/cases/{case['id']}/consent",
        json={"status": "withdrawn", "basis": "own_consent", "recorded_on": "2026-03-02"},
        headers=officer,
    )
    assert withdrawn.status_code == 200, withdrawn.text

    response = vietnam.step(
        case["id"],
        "handover_confirmed",
        details={"handover_date": "2026-04-20", "border_point": "bavet-moc-bai"},
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_required"


def test_a_case_closed_by_the_officer_takes_no_more_steps(client, officer, outbound_case) -> None:
    case = outbound_case("VNM")
    closed = client.post(
        f"/cases/{case['id']}/closure", json={"outcome": "withdrawn"}, headers=officer
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    response = client.post(
        f"/cases/{case['id']}/steps",
        json={
            "step": "notification",
            "documents": ["victim_identification_form", "consent_to_return"],
        },
        headers=officer,
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "case_closed"


def test_the_counterparts_negative_verification_closes_the_case_as_not_returned(
    client, officer, agency, outbound_case, outbox
) -> None:
    case = outbound_case("VNM")
    vietnam = agency("vnm-mps", "VNM")
    run_steps(client, officer, vietnam, case["id"], ADULT_OUTBOUND_VNM[:2])

    response = vietnam.step(case["id"], "identity_not_confirmed", documents=["verification_report"])

    assert response.status_code == 201
    assert response.json()["outcome"] == "not_returned"
    assert outbox()[-1].data.outcome == "not_returned"


def test_the_border_points_a_handover_takes_are_listed_for_every_caller(
    client, auth, officer
) -> None:
    # An integrator takes the codes from the API, not from our SOP files.
    listed = client.get("/reference/border-points", headers=auth("ngo-shelter-a", "provider_staff"))

    assert listed.status_code == 200
    points = {(point["counterpart_country"], point["code"]): point for point in listed.json()}
    assert ("VNM", "bavet-moc-bai") in points
    assert ("THA", "poipet-aranyaprathet") in points
    bavet = points[("VNM", "bavet-moc-bai")]
    assert bavet["province_code"] == "20"  # Svay Rieng, on the Cambodian side
    assert bavet["sops"] and all("@" in sop for sop in bavet["sops"])
    assert client.get("/reference/border-points").status_code == 401

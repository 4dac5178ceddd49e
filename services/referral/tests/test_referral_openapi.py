"""The referral API as its OpenAPI document declares it to other systems."""

from __future__ import annotations

import pytest

OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/docs"}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def guarded_operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (path, method): operation
        for path, methods in document["paths"].items()
        if path not in OPEN_PATHS
        for method, operation in methods.items()
    }


def test_every_route_but_operations_requires_a_bearer_token(openapi) -> None:
    guarded = guarded_operations(openapi)

    assert {
        ("/referral-cases", "get"),
        ("/referral-cases/{case_id}", "get"),
        ("/referral-cases/{case_id}/assessment", "put"),
        ("/referral-cases/{case_id}/matching", "post"),
        ("/referral-cases/{case_id}/referrals", "post"),
        ("/referrals/{referral_id}/{action}", "post"),
        ("/providers/me/referrals", "get"),
        ("/providers/me/webhook", "put"),
        ("/gaps", "get"),
    } <= set(guarded)
    for (path, method), operation in guarded.items():
        assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
    assert openapi["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/referral-cases", "Page_ReferralCasePublic_"),
        ("/referral-cases/{case_id}", "ReferralCasePublic"),
        ("/referrals/{referral_id}", "ReferralPublic"),
        ("/providers/me/referrals/{referral_id}", "ProviderReferral"),
    ],
)
def test_every_guarded_route_declares_its_response_model(openapi, path, model) -> None:
    success = openapi["paths"][path]["get"]["responses"]["200"]

    assert success["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{model}"
    }


def test_each_route_declares_its_errors_with_the_error_shape(openapi) -> None:
    for (path, method), operation in guarded_operations(openapi).items():
        responses = operation["responses"]
        assert {"401", "403", "413", "429", "500"} <= set(responses), f"{method} {path}"
        for status in set(responses) - {"200", "201"}:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == ERROR_BODY, f"{method} {path} {status}"


def test_a_route_that_acts_on_one_record_declares_404_and_a_transition_409(openapi) -> None:
    transition = openapi["paths"]["/referrals/{referral_id}/{action}"]["post"]["responses"]

    assert {"404", "409"} <= set(transition)


def test_the_list_declares_its_paging_parameters(openapi) -> None:
    parameters = {p["name"]: p for p in openapi["paths"]["/referral-cases"]["get"]["parameters"]}

    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["limit"]["schema"]["maximum"] == 500
    assert "cursor" in parameters

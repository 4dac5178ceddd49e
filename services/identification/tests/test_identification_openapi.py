"""The identification API as its OpenAPI document declares it to other systems."""

from __future__ import annotations

import pytest

OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/docs"}
RESPONSE_MODELS = {
    ("/screenings", "post"): "ScreeningPublic",
    ("/screenings/{screening_id}", "get"): "ScreeningPublic",
    ("/cases", "get"): "Page_CaseSummary_",
    ("/cases/{case_id}", "get"): "CasePublic",
    ("/cases/{case_id}/decisions", "post"): "DecisionPublic",
    ("/cases/{case_id}/consents", "post"): "ConsentPublic",
    ("/non-punishment-checks", "post"): "NonPunishmentAnswer",
    ("/persons/review-pairs", "get"): "Page_ReviewPairPublic_",
    ("/persons/review-pairs/{pair_id}", "get"): "ReviewPairDetail",
    ("/persons/review-pairs/{pair_id}/confirm", "post"): "ReviewPairPublic",
    ("/persons/review-pairs/{pair_id}/reject", "post"): "ReviewPairPublic",
    ("/persons/{person_id}", "get"): "PersonIndexEntry",
    ("/persons/{person_id}/history", "get"): "PersonHistory",
    ("/persons/{person_id}/records/{screening_id}/unlink", "post"): "UnlinkResult",
    ("/persons/{person_id}/records", "post"): "RecordRef",
    ("/statistics/victims", "get"): "VictimStatistics",
    ("/audit", "get"): "Page_AuditEntry_",
    ("/audit/chain", "get"): "ChainStatus",
    ("/audit/tree", "get"): "AuditTree",
    ("/proceedings", "post"): "ProceedingsPublic",
    ("/proceedings", "get"): None,  # a list of ProceedingsPublic
    ("/proceedings/{proceedings_id}", "get"): "ProceedingsPublic",
    ("/proceedings/{proceedings_id}/victims", "get"): "ProceedingsVictims",
    ("/proceedings/{proceedings_id}/links", "post"): "LinkPublic",
    ("/proceedings/{proceedings_id}/links/{case_id}/unlink", "post"): "LinkPublic",
    ("/reference/provinces", "get"): None,  # a list of Province
    ("/reference/languages", "get"): None,  # a list of Language
}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_bearer_scheme_is_declared(openapi) -> None:
    assert openapi["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A JWT from the NRM identity provider",
    }


def test_every_route_but_operations_requires_a_bearer_token(openapi) -> None:
    guarded = [(p, m, op) for p, m, op in operations(openapi) if p not in OPEN_PATHS]

    assert {(p, m) for p, m, _ in guarded} == set(RESPONSE_MODELS)
    for path, method, operation in guarded:
        assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"


def test_operations_routes_need_no_token(openapi) -> None:
    for path, method, operation in operations(openapi):
        if path in OPEN_PATHS:
            assert "security" not in operation, f"{method} {path}"


def test_every_guarded_route_declares_its_response_model(openapi) -> None:
    for path, method, operation in operations(openapi):
        if path in OPEN_PATHS:
            continue
        success = [status for status in operation["responses"] if status.startswith("2")]
        assert len(success) == 1, f"{method} {path}"
        schema = operation["responses"][success[0]]["content"]["application/json"]["schema"]
        model = RESPONSE_MODELS[(path, method)]
        if model is None:
            assert schema["type"] == "array", f"{method} {path}"
            continue
        assert schema == {"$ref": f"#/components/schemas/{model}"}, f"{method} {path}"


EVERY_ROUTE = {"413", "429", "500"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/screenings", "post", {"201", "401", "403", "404", "409", "422"}),
        ("/screenings/{screening_id}", "get", {"200", "401", "403", "404", "422"}),
        ("/cases", "get", {"200", "401", "403", "422"}),
        ("/cases/{case_id}", "get", {"200", "401", "403", "404", "422"}),
        ("/cases/{case_id}/decisions", "post", {"201", "401", "403", "404", "409", "422"}),
        ("/cases/{case_id}/consents", "post", {"201", "401", "403", "404", "409", "422"}),
        # 404: a proceedings record named that the caller may not see.
        ("/non-punishment-checks", "post", {"200", "401", "403", "404", "422"}),
        ("/persons/review-pairs", "get", {"200", "401", "403", "422"}),
        ("/persons/review-pairs/{pair_id}", "get", {"200", "401", "403", "404", "422"}),
        (
            "/persons/review-pairs/{pair_id}/confirm",
            "post",
            {"200", "401", "403", "404", "409", "422"},
        ),
        ("/persons/{person_id}", "get", {"200", "401", "403", "404", "422"}),
        (
            "/persons/{person_id}/records/{screening_id}/unlink",
            "post",
            {"200", "401", "403", "404", "409", "422"},
        ),
        ("/persons/{person_id}/records", "post", {"201", "401", "403", "404", "409", "422"}),
        ("/statistics/victims", "get", {"200", "401", "403", "422"}),
        ("/proceedings", "post", {"201", "401", "403", "409", "422"}),
        ("/proceedings", "get", {"200", "401", "403"}),
        ("/proceedings/{proceedings_id}", "get", {"200", "401", "403", "404", "422"}),
        ("/proceedings/{proceedings_id}/victims", "get", {"200", "401", "403", "404", "422"}),
        (
            "/proceedings/{proceedings_id}/links",
            "post",
            {"201", "401", "403", "404", "409", "422"},
        ),
        (
            "/proceedings/{proceedings_id}/links/{case_id}/unlink",
            "post",
            {"200", "401", "403", "404", "422"},
        ),
    ],
)
def test_each_route_declares_its_errors_with_the_error_shape(
    openapi, path, method, statuses
) -> None:
    responses = openapi["paths"][path][method]["responses"]

    # Besides its own, every route declares what any route may answer (the hardening's
    # limits, a crash): 413, 429, 500.
    assert set(responses) == statuses | EVERY_ROUTE
    for status in (statuses | EVERY_ROUTE) - {"200", "201"}:
        assert responses[status]["content"]["application/json"]["schema"] == ERROR_BODY


def test_the_error_shape_is_code_message_and_optional_field(openapi) -> None:
    schemas = openapi["components"]["schemas"]

    assert schemas["ErrorBody"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "field"}
    assert schemas["ErrorDetail"]["required"] == ["code", "message"]

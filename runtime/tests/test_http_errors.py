"""One error shape for every failure; request bodies refuse what they do not know; paging."""

from __future__ import annotations

import base64
from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import Field

from nrm_runtime.auth import CurrentPrincipal, Principal, Role, TokenVerifier, require_roles
from nrm_runtime.errors import (
    Conflict,
    DomainError,
    ErrorBody,
    Invalid,
    NotFound,
    NotPermitted,
    ProblemError,
    error_responses,
    install_error_handlers,
)
from nrm_runtime.http import Page, PageDep, RequestModel, decode_cursor, encode_cursor
from nrm_runtime.text import NamePart


class Person(RequestModel):
    given_name: str
    estimated_age: int
    aliases: list[Annotated[NamePart, Field(max_length=10)]] = Field(
        default_factory=list, max_length=3
    )


class ScreeningForm(RequestModel):
    person: Person
    notes: str | None = Field(default=None, max_length=20)


def screening_app(token_verifier: TokenVerifier) -> FastAPI:
    """A small service: one form route, one role-guarded route, some failing routes."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = token_verifier

    @app.post("/screenings", status_code=201)
    async def record_screening(form: ScreeningForm) -> dict[str, object]:
        return form.model_dump()

    @app.get("/determinations", dependencies=[require_roles(Role.COMPETENT_AUTHORITY)])
    async def list_determinations() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"organisation": principal.organisation}

    @app.get("/problems/{status}")
    async def problem(status: int) -> None:
        raise ProblemError(status, "some_code", "something is wrong", field="case_id")

    @app.get("/cases/{case_id}")
    async def case(case_id: str) -> None:
        raise NotFound("referral case")

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("while writing family_name='Chan'")

    @app.get("/cases")
    async def list_cases(page: PageDep) -> dict[str, object]:
        return page.model_dump()

    return app


@pytest.fixture
def client(dev_token_verifier) -> TestClient:
    return TestClient(screening_app(dev_token_verifier), raise_server_exceptions=False)


def valid_form(**person: object) -> dict[str, object]:
    return {"person": {"given_name": "Sokha", "estimated_age": 16, **person}}


def error_of(response) -> dict[str, str]:
    ErrorBody.model_validate(response.json())  # the one shape, nothing more
    return response.json()["error"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- request bodies -------------------------------------------------------------------------


def test_a_valid_form_is_accepted_with_whitespace_stripped(client) -> None:
    response = client.post("/screenings", json=valid_form(given_name="  Sokha "))

    assert response.status_code == 201
    assert response.json()["person"]["given_name"] == "Sokha"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**valid_form(), "priority": "high"}, "priority"),
        (valid_form(nickname="Kha"), "person.nickname"),
    ],
    ids=["top-level", "nested"],
)
def test_an_unknown_field_is_422_naming_it(client, body, field) -> None:
    response = client.post("/screenings", json=body)

    assert response.status_code == 422
    assert error_of(response) == {
        "code": "invalid_input",
        "message": "Extra inputs are not permitted",
        "field": field,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (valid_form(estimated_age="sixteen"), "person.estimated_age"),
        (valid_form(estimated_age=None), "person.estimated_age"),
        ({"person": "Sokha"}, "person"),
        ({**valid_form(), "notes": 17}, "notes"),
        ({"person": {"estimated_age": 16}}, "person.given_name"),
        ({}, "person"),
    ],
)
def test_a_wrong_or_missing_value_is_422_naming_its_field(client, body, field) -> None:
    response = client.post("/screenings", json=body)

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_input"
    assert error_of(response)["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**valid_form(), "notes": " " * 5 + "x" * 20}, "notes"),
        ({**valid_form(), "notes": "x" * 20 + "\n"}, "notes"),
        (valid_form(aliases=["Kha", "  Sokhakhaa "]), "person.aliases"),
    ],
    ids=["leading-space", "trailing-newline", "list-item"],
)
def test_text_longer_as_sent_than_its_max_length_is_422_though_it_fits_stripped(
    client, body, field
) -> None:
    # The schema's maxLength counts the text as sent: a client that trusts it must not be
    # told one thing by the schema and another by the server.
    response = client.post("/screenings", json=body)

    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert "white space included" in error_of(response)["message"]


def test_text_at_its_max_length_as_sent_is_accepted_and_stripped(client) -> None:
    response = client.post(
        "/screenings", json={**valid_form(aliases=[" Sokhakha "]), "notes": " " + "x" * 19}
    )

    assert response.status_code == 201
    assert response.json()["notes"] == "x" * 19
    assert response.json()["person"]["aliases"] == ["Sokhakha"]


def test_a_body_that_is_not_an_object_is_422_on_the_body(client) -> None:
    response = client.post("/screenings", json=[1, 2])

    assert response.status_code == 422
    assert error_of(response)["field"] == "body"


def test_a_body_that_is_not_json_names_no_field_by_its_offset(client) -> None:
    response = client.post(
        "/screenings", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code in (400, 422)
    assert error_of(response).get("field") in (None, "body")


# --- problems and unknown routes ------------------------------------------------------------


def test_a_401_problem_asks_for_a_bearer_token(client) -> None:
    response = client.get("/problems/401")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_of(response) == {
        "code": "some_code",
        "message": "something is wrong",
        "field": "case_id",
    }


@pytest.mark.parametrize("status", [403, 409, 422, 503])
def test_other_problems_answer_their_status_without_a_challenge(client, status) -> None:
    response = client.get(f"/problems/{status}")

    assert response.status_code == status
    assert "www-authenticate" not in response.headers
    assert error_of(response)["code"] == "some_code"


def test_not_found_names_what_was_not_found(client) -> None:
    response = client.get("/cases/c-17")

    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "referral case not found"}


def test_an_unknown_route_is_404_in_the_error_shape(client) -> None:
    response = client.get("/no/such/route")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_wrong_method_is_405_in_the_error_shape(client) -> None:
    response = client.delete("/screenings")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_of(response)["code"] == "method_not_allowed"


def test_a_wrong_method_names_every_method_of_the_path_in_allow() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/facilities")
    async def search() -> list[str]:
        return []

    @app.post("/facilities")
    async def register() -> None:
        return None

    response = TestClient(app).delete("/facilities")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_an_unexpected_failure_is_500_in_the_error_shape_without_its_text(client) -> None:
    response = client.get("/crash")

    assert response.status_code == 500
    assert error_of(response)["code"]
    assert "Chan" not in response.text


def test_error_responses_document_the_error_shape() -> None:
    documented = error_responses(401, 404)

    assert documented[401]["model"] is ErrorBody
    assert documented[404]["description"] == "Not found, or not yours to see"


# --- authentication on routes ---------------------------------------------------------------


def test_a_route_needing_a_caller_is_401_without_a_token(client) -> None:
    response = client.get("/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_of(response)["code"] == "unauthenticated"


def test_a_route_needing_a_caller_is_401_with_another_scheme(client) -> None:
    response = client.get("/me", headers={"Authorization": "Basic c29raGE6c2VjcmV0"})

    assert response.status_code == 401


def test_an_invalid_token_is_401_with_a_challenge(client, mint) -> None:
    response = client.get("/me", headers=bearer(mint("moi-dahtjp", "screener", ttl_seconds=-5)))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_of(response) == {"code": "invalid_token", "message": "token expired"}


def test_a_valid_token_names_the_caller(client, mint) -> None:
    response = client.get("/me", headers=bearer(mint("ngo-shelter-a", "provider_staff")))

    assert response.json() == {"organisation": "ngo-shelter-a"}


def test_require_roles_admits_a_caller_holding_one_of_the_roles(client, mint) -> None:
    token = mint("mosvy", "analyst", "competent_authority")

    assert client.get("/determinations", headers=bearer(token)).status_code == 200


def test_require_roles_is_403_for_a_caller_without_the_role(client, mint) -> None:
    response = client.get("/determinations", headers=bearer(mint("moi-dahtjp", "screener")))

    assert response.status_code == 403
    assert error_of(response) == {"code": "forbidden", "message": "your role may not do this"}


def test_require_roles_is_401_without_a_token(client) -> None:
    response = client.get("/determinations")

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_a_principal_has_a_role_if_it_holds_any_of_them() -> None:
    screener = Principal(
        subject="u", organisation="moi-dahtjp", organisation_type="police", roles={"screener"}
    )

    assert screener.has_any_role(frozenset({Role.SCREENER, Role.ADMIN}))
    assert not screener.has_any_role(frozenset({Role.ADMIN}))


# --- paging ----------------------------------------------------------------------------------


def test_a_page_query_defaults_to_fifty_from_the_start(client) -> None:
    assert client.get("/cases").json() == {"limit": 50, "cursor": None}


def test_a_cursor_round_trips_to_its_position(client) -> None:
    cursor = encode_cursor({"opened_at": "2026-11-20T08:00:00+00:00", "id": "c-17"})

    response = client.get("/cases", params={"limit": 10, "cursor": cursor})

    assert response.json() == {
        "limit": 10,
        "cursor": {"opened_at": "2026-11-20T08:00:00+00:00", "id": "c-17"},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "%%%not-base64"}, "cursor"),
        ({"cursor": "x" * 501}, "cursor"),
    ],
)
def test_a_bad_page_query_is_422_naming_the_parameter(client, params, field) -> None:
    response = client.get("/cases", params=params)

    assert response.status_code == 422
    assert error_of(response)["field"] == field


@pytest.mark.parametrize("document", [b"[1, 2]", b'"text"', b"17", b"null"])
def test_a_cursor_must_decode_to_an_object(document) -> None:
    cursor = base64.urlsafe_b64encode(document).decode()

    with pytest.raises(ProblemError) as malformed:
        decode_cursor(cursor)
    assert (malformed.value.status, malformed.value.field) == (422, "cursor")


def test_a_page_without_more_has_no_next_cursor() -> None:
    assert Page[int](items=[1, 2]).model_dump() == {"items": [1, 2], "next_cursor": None}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Invalid("a date in the future", field="encounter.date"), 422, "invalid_input"),
        (Conflict("already decided"), 409, "conflict"),
        (Conflict("already decided", code="already_decided"), 409, "already_decided"),
        (NotPermitted("not your facility"), 403, "forbidden"),
        (NotFound("case"), 404, "not_found"),
    ],
)
def test_a_domain_error_is_answered_with_its_status_and_the_error_shape(
    error: DomainError, status: int, code: str
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refuse")
    async def refuse() -> None:
        raise error

    answer = TestClient(app).get("/refuse")
    assert answer.status_code == status
    body = answer.json()["error"]
    assert body["code"] == code and body["message"] == error.message
    assert body.get("field") == error.field

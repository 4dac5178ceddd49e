"""Every endpoint but health, metrics and docs needs a valid bearer token: checked against
a real service process, as another organisation's system would call it."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from nrm_deploy.testing import bearer, screening_form
from nrm_runtime.devtokens import mint_token


@pytest.fixture
def identification(start_service):
    return start_service("identification")


def post_screening(service_url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{service_url}/screenings", json=screening_form(), headers=headers)


def test_a_valid_token_is_accepted(identification, mint) -> None:
    assert (
        post_screening(identification.url, bearer(mint("moi-dahtjp", "screener"))).status_code
        == 201
    )


def test_no_token_is_401(identification) -> None:
    response = post_screening(identification.url, {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_an_expired_token_is_401(identification, mint) -> None:
    expired = mint("moi-dahtjp", "screener", ttl_seconds=-60)
    response = post_screening(identification.url, bearer(expired))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "token expired"


def test_a_token_signed_by_another_key_is_401(identification, tmp_path) -> None:
    forged = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path / "other")
    assert post_screening(identification.url, bearer(forged)).status_code == 401


def test_a_token_for_another_audience_is_401(identification, mint) -> None:
    other_audience = mint("moi-dahtjp", "screener", audience="some-other-api")
    assert post_screening(identification.url, bearer(other_audience)).status_code == 401


def test_an_unsigned_token_is_401(identification) -> None:
    claims = {
        "iss": "nrm-dev-issuer",
        "aud": "nrm-backbone",
        "sub": "x",
        "exp": int(time.time()) + 60,
        "org": "moi-dahtjp",
        "org_type": "police",
        "roles": ["screener"],
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    assert post_screening(identification.url, bearer(unsigned)).status_code == 401


def test_a_role_that_may_not_record_screenings_is_403(identification, mint) -> None:
    response = post_screening(identification.url, bearer(mint("mosvy", "analyst")))
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"])
def test_operations_endpoints_need_no_token(identification, path) -> None:
    assert httpx.get(f"{identification.url}{path}").status_code in (200, 503)

"""Every kind of bad token is refused with 401 by a real service process, over HTTP:
expired, not yet valid, wrong audience or issuer, unsigned, HS256 signed with the
public key (algorithm confusion), an unknown key id, a tampered payload, a missing
required claim. A valid token of the same caller is accepted, so each refusal is the
token's fault alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from nrm_deploy.testing import bearer

CALLER = {"org": "mosvy", "org_type": "ministry", "roles": ["case_manager"]}
LEEWAY = 30  # the services' default clock skew on exp and nbf


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "nrm-dev-issuer",
        "aud": "nrm-backbone",
        "sub": "officer@mosvy",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 600,
        **CALLER,
        **changes,
    }
    return {key: value for key, value in claims.items() if value is not None}


class Issuer:
    """Signs tokens as the dev issuer does (its key), or as an attacker would."""

    def __init__(self, keys: Path) -> None:
        self.private = (keys / "dev-signing-key.pem").read_bytes()
        self.kid = (keys / "dev-signing-key.kid").read_text().strip()
        jwks = json.loads((keys / "dev-jwks.json").read_text())
        [self.public_jwk] = [key for key in jwks["keys"] if key["kid"] == self.kid]

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm="ES256", headers={"kid": kid or self.kid})

    def public_pem(self) -> bytes:
        key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(self.public_jwk))
        from cryptography.hazmat.primitives import serialization

        return key.public_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _hs256_with_public_key(issuer: Issuer) -> str:
    # The classic confusion: a verifier taking the algorithm from the token would check
    # this HMAC with the public key as its secret, and accept it.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(issuer.public_pem(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _alg_none(issuer: Issuer) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.kid}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def _tampered(issuer: Issuer) -> str:
    # Signed for a screener of the police; the payload then says MOSVY case manager.
    header, _, signature = issuer.sign(
        _claims(org="moi-dahtjp", org_type="police", roles=["screener"])
    ).split(".")
    return f"{header}.{_b64(json.dumps(_claims()).encode())}.{signature}"


BAD_TOKENS: dict[str, Callable[[Issuer], str]] = {
    "expired": lambda issuer: issuer.sign(_claims(exp=int(time.time()) - LEEWAY - 60)),
    "not yet valid": lambda issuer: issuer.sign(_claims(nbf=int(time.time()) + LEEWAY + 600)),
    "wrong audience": lambda issuer: issuer.sign(_claims(aud="another-api")),
    "wrong issuer": lambda issuer: issuer.sign(_claims(iss="https://evil.example")),
    "alg none": _alg_none,
    "HS256 signed with the public key": _hs256_with_public_key,
    "unknown kid": lambda issuer: issuer.sign(_claims(), kid="no-such-key"),
    "tampered payload": _tampered,
    "no exp": lambda issuer: issuer.sign(_claims(exp=None)),
    "no sub": lambda issuer: issuer.sign(_claims(sub=None)),
    "unknown organisation": lambda issuer: issuer.sign(_claims(org="ngo-imaginary")),
    "organisation of another type": lambda issuer: issuer.sign(_claims(org_type="ngo")),
    "not a JWT": lambda issuer: "not.a.token",
}


@pytest.fixture
def repatriation(start_service):
    return start_service("repatriation", AUTH_FAILURE_LIMIT="1000")


@pytest.fixture
def issuer(token_keys: Path) -> Issuer:
    return Issuer(token_keys)


def _list_cases(service_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{service_url}/cases", headers=bearer(token), timeout=10)


def test_the_same_caller_with_a_valid_token_is_served(repatriation, issuer) -> None:
    assert _list_cases(repatriation.url, issuer.sign(_claims())).status_code == 200


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_bad_token_is_401_and_says_nothing_of_the_data(repatriation, issuer, kind) -> None:
    response = _list_cases(repatriation.url, BAD_TOKENS[kind](issuer))

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert "items" not in response.json()

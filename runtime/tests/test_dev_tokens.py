"""The development token issuer: its key files, its rotation and the tokens it mints."""

from __future__ import annotations

import json
import stat

import jwt
import pytest

from nrm_runtime.devtokens import ensure_dev_keys, mint_token, rotate_dev_key
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER


def kids(jwks_file) -> list[str]:
    return [key["kid"] for key in json.loads(jwks_file.read_text())["keys"]]


def test_ensure_dev_keys_creates_the_key_once(tmp_path) -> None:
    jwks_file = ensure_dev_keys(tmp_path)
    first = (tmp_path / "dev-signing-key.pem").read_bytes()

    assert ensure_dev_keys(tmp_path) == jwks_file
    assert (tmp_path / "dev-signing-key.pem").read_bytes() == first
    assert kids(jwks_file) == [(tmp_path / "dev-signing-key.kid").read_text()]


def test_the_signing_key_is_readable_by_its_owner_only(tmp_path) -> None:
    ensure_dev_keys(tmp_path)

    mode = stat.S_IMODE((tmp_path / "dev-signing-key.pem").stat().st_mode)
    assert mode == 0o600


def test_the_jwks_publishes_public_keys_only(tmp_path) -> None:
    [key] = json.loads(ensure_dev_keys(tmp_path).read_text())["keys"]

    assert "d" not in key  # the private scalar of an EC key
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")


def test_rotation_publishes_the_new_key_next_to_the_previous_one(tmp_path) -> None:
    jwks_file = ensure_dev_keys(tmp_path)
    [first] = kids(jwks_file)

    rotate_dev_key(tmp_path)
    second = (tmp_path / "dev-signing-key.kid").read_text()
    assert kids(jwks_file) == [first, second]

    rotate_dev_key(tmp_path)
    third = (tmp_path / "dev-signing-key.kid").read_text()
    assert kids(jwks_file) == [second, third]


def test_a_minted_token_carries_the_claims_the_services_require(tmp_path) -> None:
    token = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {
        "alg": "ES256",
        "typ": "JWT",
        "kid": (tmp_path / "dev-signing-key.kid").read_text(),
    }
    assert {name: claims[name] for name in ("iss", "aud", "sub", "org", "org_type", "roles")} == {
        "iss": DEV_ISSUER,
        "aud": DEFAULT_AUDIENCE,
        "sub": "dev-user@moi-dahtjp",
        "org": "moi-dahtjp",
        "org_type": "police",
        "roles": ["screener"],
    }
    assert claims["exp"] - claims["iat"] == 8 * 3600


def test_an_organisation_the_dev_issuer_does_not_know_needs_its_type(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown organisation 'ngo-new'"):
        mint_token(organisation="ngo-new", roles=["provider_staff"], directory=tmp_path)

    token = mint_token(
        organisation="ngo-new",
        roles=["provider_staff"],
        organisation_type="ngo",
        directory=tmp_path,
    )
    assert jwt.decode(token, options={"verify_signature": False})["org_type"] == "ngo"

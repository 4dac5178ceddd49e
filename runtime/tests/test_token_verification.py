"""Bearer tokens: only a token of our issuer, for our API, signed by a published key, passes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nrm_runtime.auth import OrganisationType, Principal, Role, TokenVerifier
from nrm_runtime.devtokens import mint_token, rotate_dev_key
from nrm_runtime.errors import ProblemError
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER


def verifier_for(keys: Path, algorithms: tuple[str, ...] = ("ES256",)) -> TokenVerifier:
    return TokenVerifier(
        keys / "dev-jwks.json", issuer=DEV_ISSUER, audience=DEFAULT_AUDIENCE, algorithms=algorithms
    )


@pytest.fixture
def verifier(token_keys: Path) -> TokenVerifier:
    return verifier_for(token_keys)


def valid_claims(**changes: Any) -> dict[str, Any]:
    """The claims of a valid token; ``changes`` replace them, ``None`` removes one."""
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEFAULT_AUDIENCE,
        "sub": "officer-17@moi-dahtjp",
        "exp": int(time.time()) + 600,
        "org": "moi-dahtjp",
        "org_type": "police",
        "roles": ["screener"],
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed(claims: dict[str, Any], keys: Path, **header: Any) -> str:
    """``claims`` signed by the dev key in ``keys``, as the dev issuer would."""
    kid = (keys / "dev-signing-key.kid").read_text().strip()
    private_key = (keys / "dev-signing-key.pem").read_bytes()
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid, **header})


def rejection(verifier: TokenVerifier, token: str) -> ProblemError:
    with pytest.raises(ProblemError) as rejected:
        verifier.verify(token)
    return rejected.value


def test_a_valid_token_names_the_caller_their_organisation_and_roles(verifier, mint) -> None:
    token = mint("mosvy", "case_manager", "analyst", subject="sophea@mosvy")

    assert verifier.verify(token) == Principal(
        subject="sophea@mosvy",
        organisation="mosvy",
        organisation_type=OrganisationType.MINISTRY,
        roles=frozenset({Role.CASE_MANAGER, Role.ANALYST}),
    )


def test_the_principal_acts_as_its_organisation_in_its_roles(verifier, mint) -> None:
    principal = verifier.verify(mint("mosvy", "case_manager", "analyst"))

    assert str(principal.actor) == "mosvy/analyst,case_manager"


def test_an_expired_token_is_401_token_expired(verifier, mint) -> None:
    problem = rejection(verifier, mint("moi-dahtjp", "screener", ttl_seconds=-60))

    assert (problem.status, problem.code, problem.message) == (
        401,
        "invalid_token",
        "token expired",
    )


def test_a_token_signed_by_another_issuers_key_is_401(verifier, tmp_path) -> None:
    other_keys = tmp_path / "other-keys"
    forged = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=other_keys)

    assert rejection(verifier, forged).status == 401


def test_a_token_signed_by_another_key_under_our_kid_is_401(verifier, token_keys, tmp_path) -> None:
    other_keys = tmp_path / "other-keys"
    mint_token(organisation="moi-dahtjp", roles=["screener"], directory=other_keys)
    our_kid = (token_keys / "dev-signing-key.kid").read_text().strip()

    forged = signed(valid_claims(), other_keys, kid=our_kid)

    problem = rejection(verifier, forged)
    assert (problem.status, problem.message) == (401, "token rejected: InvalidSignatureError")


REJECTED_CLAIMS = [
    pytest.param({"aud": "some-other-api"}, id="wrong-audience"),
    pytest.param({"iss": "https://idp.example.org"}, id="wrong-issuer"),
    pytest.param({"exp": None}, id="no-exp"),
    pytest.param({"sub": None}, id="no-sub"),
    pytest.param({"aud": None}, id="no-aud"),
    pytest.param({"iss": None}, id="no-iss"),
    pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
]


@pytest.mark.parametrize("changes", REJECTED_CLAIMS)
def test_a_token_failing_a_registered_claim_is_401(verifier, token_keys, changes) -> None:
    problem = rejection(verifier, signed(valid_claims(**changes), token_keys))

    assert (problem.status, problem.code) == (401, "invalid_token")
    assert problem.message.startswith("token rejected: ")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"org": None}, id="no-org"),
        pytest.param({"org": ""}, id="empty-org"),
        pytest.param({"org_type": None}, id="no-org-type"),
        pytest.param({"org_type": "criminal_syndicate"}, id="unknown-org-type"),
        pytest.param({"roles": None}, id="no-roles"),
        pytest.param({"roles": []}, id="empty-roles"),
        pytest.param({"roles": ["superuser"]}, id="unknown-role"),
        pytest.param({"roles": ["screener", "superuser"]}, id="one-unknown-role"),
        pytest.param({"roles": "screener"}, id="roles-not-a-list"),
    ],
)
def test_a_token_without_organisation_or_known_roles_is_401(verifier, token_keys, changes) -> None:
    problem = rejection(verifier, signed(valid_claims(**changes), token_keys))

    assert (problem.status, problem.message) == (401, "token lacks organisation or roles")


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 token made by hand: PyJWT itself refuses a PEM public key as HMAC secret."""

    def segment(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = segment(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = segment(json.dumps(claims).encode())
    signature = segment(hmac.new(secret, header + b"." + payload, hashlib.sha256).digest())
    return b".".join([header, payload, signature]).decode()


def test_an_hs256_token_keyed_with_the_public_key_is_401(verifier, token_keys) -> None:
    # Algorithm confusion: the public key, known to all, used as an HMAC secret.
    [public_jwk] = json.loads((token_keys / "dev-jwks.json").read_text())["keys"]
    public_pem = jwt.PyJWK(public_jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    token = hs256(valid_claims(), public_pem, public_jwk["kid"])

    problem = rejection(verifier, token)
    assert (problem.status, problem.message) == (401, "token algorithm not accepted")


def test_an_unsigned_token_is_401(verifier, token_keys) -> None:
    kid = (token_keys / "dev-signing-key.kid").read_text().strip()
    unsigned = jwt.encode(valid_claims(), key=None, algorithm="none", headers={"kid": kid})

    problem = rejection(verifier, unsigned)
    assert (problem.status, problem.message) == (401, "token algorithm not accepted")


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30."])
def test_a_malformed_token_is_401(verifier, token) -> None:
    assert rejection(verifier, token).status == 401


def test_a_token_of_an_unknown_kid_is_401(verifier, token_keys) -> None:
    problem = rejection(verifier, signed(valid_claims(), token_keys, kid="retired-long-ago"))

    assert (problem.status, problem.message) == (401, "token signed by an unknown key")


def test_a_token_whose_algorithm_does_not_fit_its_key_is_401(token_keys) -> None:
    verifier = verifier_for(token_keys, algorithms=("RS256", "ES256"))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = (token_keys / "dev-signing-key.kid").read_text().strip()
    token = jwt.encode(valid_claims(), rsa_key, algorithm="RS256", headers={"kid": kid})

    assert rejection(verifier, token).status == 401


def test_a_missing_key_file_is_a_configuration_error_not_a_401(tmp_path, mint) -> None:
    verifier = verifier_for(tmp_path)

    with pytest.raises(RuntimeError, match="token keys not found"):
        verifier.verify(mint("moi-dahtjp", "screener"))


# --- key rotation ------------------------------------------------------------------------------


def test_after_rotation_old_and_new_tokens_verify_without_restart(tmp_path) -> None:
    verifier = verifier_for(tmp_path)
    before = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)
    assert verifier.verify(before).organisation == "moi-dahtjp"

    rotate_dev_key(tmp_path)
    after = mint_token(organisation="mosvy", roles=["case_manager"], directory=tmp_path)

    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert verifier.verify(after).organisation == "mosvy"
    assert verifier.verify(before).organisation == "moi-dahtjp"


def test_a_fresh_verifier_accepts_tokens_of_the_previous_key(tmp_path) -> None:
    before = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)

    rotate_dev_key(tmp_path)

    assert verifier_for(tmp_path).verify(before).organisation == "moi-dahtjp"


def test_two_rotations_retire_the_first_key(tmp_path) -> None:
    first = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)

    rotate_dev_key(tmp_path)
    rotate_dev_key(tmp_path)

    assert rejection(verifier_for(tmp_path), first).status == 401


def test_a_key_removed_from_the_jwks_stops_verifying_in_a_running_verifier(tmp_path) -> None:
    verifier = verifier_for(tmp_path)
    first = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)
    verifier.verify(first)

    rotate_dev_key(tmp_path)
    rotate_dev_key(tmp_path)  # the JWKS now holds the second and third keys only

    assert rejection(verifier, first).status == 401


@pytest.mark.parametrize("subject", ["system/referral", "system/identification", "system/"])
def test_a_token_claiming_a_services_own_subject_is_401(verifier, token_keys, subject) -> None:
    token = signed(valid_claims(sub=subject), token_keys)

    assert rejection(verifier, token).status == 401


# --- remembered verifications ------------------------------------------------------------------


def test_a_remembered_token_is_checked_again_once_it_expires(
    verifier, token_keys, monkeypatch
) -> None:
    token = signed(valid_claims(exp=int(time.time()) + 30), token_keys)
    checked: list[str] = []
    check = verifier._verify_signature
    monkeypatch.setattr(verifier, "_verify_signature", lambda t: checked.append(t) or check(t))
    verifier.verify(token)
    verifier.verify(token)
    assert len(checked) == 1  # the second came from memory

    later = time.time() + 31
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token)  # jwt's own clock is not moved: here it still passes

    assert len(checked) == 2


def test_a_remembered_token_is_refused_once_its_key_is_retired(tmp_path) -> None:
    verifier = verifier_for(tmp_path)
    first = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)
    verifier.verify(first)
    verifier.verify(first)  # remembered

    rotate_dev_key(tmp_path)
    rotate_dev_key(tmp_path)
    verifier._checked_at = float("-inf")  # the reload interval has passed

    assert rejection(verifier, first).status == 401


def test_a_remembered_token_is_refused_when_another_key_takes_its_kid(tmp_path) -> None:
    verifier = verifier_for(tmp_path)
    token = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=tmp_path)
    verifier.verify(token)

    kid = jwt.get_unverified_header(token)["kid"]
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(impostor.public_key()))
    jwks = tmp_path / "dev-jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}))
    verifier._checked_at = float("-inf")

    assert rejection(verifier, token).status == 401


def test_only_a_bounded_number_of_verified_tokens_is_remembered(
    verifier, mint, monkeypatch
) -> None:
    from nrm_runtime import auth

    monkeypatch.setattr(auth, "VERIFIED_TOKENS_REMEMBERED", 3)
    for index in range(5):
        verifier.verify(mint("mosvy", "case_manager", subject=f"officer-{index}@mosvy"))

    assert len(verifier._verified) == 3

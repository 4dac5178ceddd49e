"""Tokens verified against an identity provider's JWKS URL (a real local HTTP server).

The provider rotates keys; old and new tokens verify through the overlap, a removed key
stops verifying once the cache refreshes, unknown kids cannot make us hammer the provider.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nrm_runtime.auth import JwksUrl, TokenVerifier
from nrm_runtime.errors import ProblemError
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER


class IdentityProvider:
    """A JWKS endpoint whose keys the test changes; it counts the fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0
        self.failing = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                if provider.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                body = json.dumps(provider.document()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"

    def add_key(self, kid: str) -> None:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())

    def document(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}

    def token(self, kid: str, key: ec.EllipticCurvePrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": DEV_ISSUER,
            "aud": DEFAULT_AUDIENCE,
            "sub": "officer@mosvy",
            "exp": now + 600,
            "org": "mosvy",
            "org_type": "ministry",
            "roles": ["case_manager"],
            **claims,
        }
        return jwt.encode(body, key or self.keys[kid], algorithm="ES256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.add_key("k1")
    thread = threading.Thread(target=idp.server.serve_forever, daemon=True)
    thread.start()
    yield idp
    idp.server.shutdown()
    idp.server.server_close()


def verifier_for(url: str, **options: Any) -> TokenVerifier:
    leeway = options.pop("leeway", 30)
    return TokenVerifier(
        JwksUrl(url, **options),
        issuer=DEV_ISSUER,
        audience=DEFAULT_AUDIENCE,
        algorithms=("ES256",),
        leeway=leeway,
    )


async def rejected(verifier: TokenVerifier, token: str) -> ProblemError:
    with pytest.raises(ProblemError) as problem:
        await verifier.authenticate(token)
    return problem.value


async def test_a_token_signed_by_a_published_key_verifies(provider) -> None:
    verifier = verifier_for(provider.url)

    principal = await verifier.authenticate(provider.token("k1"))

    assert principal.subject == "officer@mosvy"


async def test_during_a_rotation_old_and_new_tokens_verify(provider) -> None:
    verifier = verifier_for(provider.url, min_refresh_seconds=0)
    old_token = provider.token("k1")
    await verifier.authenticate(old_token)

    provider.add_key("k2")  # published beside k1

    assert (await verifier.authenticate(provider.token("k2"))).subject == "officer@mosvy"
    assert (await verifier.authenticate(old_token)).subject == "officer@mosvy"


async def test_a_removed_key_stops_verifying_once_the_cache_expires(provider) -> None:
    verifier = verifier_for(provider.url, cache_seconds=0.2, min_refresh_seconds=0)
    old_token = provider.token("k1")
    await verifier.authenticate(old_token)
    provider.add_key("k2")
    del provider.keys["k1"]

    await asyncio.sleep(0.3)
    problem = await rejected(verifier, old_token)

    assert (problem.status, problem.message) == (401, "token signed by an unknown key")
    assert (await verifier.authenticate(provider.token("k2"))).subject == "officer@mosvy"


async def test_the_cache_serves_without_fetching_within_its_lifetime(provider) -> None:
    verifier = verifier_for(provider.url)
    for _ in range(5):
        await verifier.authenticate(provider.token("k1"))

    assert provider.fetches == 1


async def test_unknown_kids_fetch_at_most_once_per_refresh_interval(provider) -> None:
    verifier = verifier_for(provider.url, min_refresh_seconds=60)
    await verifier.authenticate(provider.token("k1"))
    stranger = ec.generate_private_key(ec.SECP256R1())

    for index in range(10):
        assert (await rejected(verifier, provider.token(f"x{index}", stranger))).status == 401

    assert provider.fetches == 1


async def test_a_failing_provider_leaves_the_fetched_keys_in_use(provider) -> None:
    verifier = verifier_for(provider.url, cache_seconds=0.1, min_refresh_seconds=0)
    await verifier.authenticate(provider.token("k1"))
    provider.failing = True
    await asyncio.sleep(0.2)

    assert (await verifier.authenticate(provider.token("k1"))).subject == "officer@mosvy"
    assert provider.fetches == 2


async def test_without_any_keys_fetched_the_answer_is_503_not_401(provider) -> None:
    provider.failing = True

    problem = await rejected(verifier_for(provider.url), provider.token("k1"))

    assert (problem.status, problem.code) == (503, "token_keys_unavailable")


async def test_an_unreachable_provider_times_out_into_503() -> None:
    verifier = verifier_for("http://127.0.0.1:9/jwks.json", timeout_seconds=0.5)
    token = jwt.encode(
        {"sub": "x"}, ec.generate_private_key(ec.SECP256R1()), "ES256", headers={"kid": "k"}
    )

    assert (await rejected(verifier, token)).status == 503


@pytest.mark.parametrize(
    ("nbf_offset", "accepted"),
    [(-60, True), (20, True), (29, True), (45, False), (600, False)],
)
async def test_not_before_is_honoured_with_the_leeway(provider, nbf_offset, accepted) -> None:
    verifier = verifier_for(provider.url, leeway=30)
    token = provider.token("k1", nbf=int(time.time()) + nbf_offset)

    if accepted:
        assert (await verifier.authenticate(token)).subject == "officer@mosvy"
    else:
        assert (await rejected(verifier, token)).status == 401


async def test_the_key_decides_the_algorithm_even_from_a_url(provider) -> None:
    verifier = verifier_for(provider.url)
    public_pem = (
        provider.keys["k1"]
        .public_key()
        .public_bytes(
            encoding=__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM,
            format=__import__(
                "cryptography"
            ).hazmat.primitives.serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    import base64
    import hashlib
    import hmac

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1","typ":"JWT"}').rstrip(b"=")
    claims = json.dumps(
        {"iss": DEV_ISSUER, "aud": DEFAULT_AUDIENCE, "sub": "x", "exp": 2**31}
    ).encode()
    payload = base64.urlsafe_b64encode(claims).rstrip(b"=")
    signature = hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    forged = b".".join([header, payload, base64.urlsafe_b64encode(signature).rstrip(b"=")])

    assert (await rejected(verifier, forged.decode())).message == "token algorithm not accepted"


async def test_garbage_instead_of_a_token_is_401(provider) -> None:
    assert (await rejected(verifier_for(provider.url), "not.a.token")).status == 401

"""Signing in with OpenID Connect: authorization code flow with PKCE (S256).

Works with any provider that publishes a discovery document. The ID token is verified
(signature against the provider's JWKS, issuer, audience = our client id, expiry, the
nonce of this sign-in); the access token is what the services are called with, and the
services verify it themselves. Its claims (organisation, roles) only choose which pages
the console offers.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from console.sessions import SignedInUser
from console.settings import ConsoleSettings

DISCOVERY_CACHE_SECONDS = 300.0


class SignInFailed(Exception):
    """The provider's answer cannot sign anybody in (the reason is for the log, no token)."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """The console as a relying party of ``settings.issuer``."""

    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self._client = client
        self._provider: Provider | None = None
        self._fetched_at = float("-inf")
        self._keys: dict[str, jwt.PyJWK] = {}

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.base_url}/signin/callback"

    async def provider(self) -> Provider:
        if self._provider is None or time.monotonic() - self._fetched_at > DISCOVERY_CACHE_SECONDS:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            document = await self._json("GET", url)
            if document.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise SignInFailed("the discovery document names another issuer")
            self._provider = Provider(
                issuer=self.settings.issuer,
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
            )
            self._fetched_at = time.monotonic()
        return self._provider

    async def authorization_url(self, state: str, nonce: str, challenge: str) -> str:
        provider = await self.provider()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.oidc_client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.settings.oidc_scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{provider.authorization_endpoint}?{query}"

    async def redeem(self, code: str, verifier: str, nonce: str) -> SignedInUser:
        """Exchange the code for tokens; the user they name."""
        provider = await self.provider()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.settings.oidc_client_id,
            "code_verifier": verifier,
        }
        if self.settings.oidc_client_secret is not None:
            form["client_secret"] = self.settings.oidc_client_secret.get_secret_value()
        tokens = await self._json("POST", provider.token_endpoint, data=form)
        if "id_token" not in tokens or "access_token" not in tokens:
            raise SignInFailed("the token answer lacks a token")
        claims = await self._verified_id_token(provider, str(tokens["id_token"]))
        if claims.get("nonce") != nonce:
            raise SignInFailed("the ID token's nonce is not this sign-in's")
        try:
            # Read, not verified: the services verify it on every call; its claims only
            # choose which pages the console offers.
            access = jwt.decode(str(tokens["access_token"]), options={"verify_signature": False})
        except jwt.PyJWTError:
            raise SignInFailed(
                "the access token is not a JWT naming organisation and roles"
            ) from None
        roles = access.get("roles") or []
        if not access.get("org") or not roles:
            raise SignInFailed("the access token names no organisation or role")
        return SignedInUser(
            subject=str(claims["sub"]),
            organisation=str(access.get("org", "")),
            organisation_type=str(access.get("org_type", "")),
            roles=tuple(str(role) for role in roles),
            access_token=str(tokens["access_token"]),
            token_expires_at=float(access.get("exp", time.time() + 3600)),
        )

    async def _verified_id_token(self, provider: Provider, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            if kid not in self._keys:
                document = await self._json("GET", provider.jwks_uri)
                self._keys = {
                    k.key_id: k for k in jwt.PyJWKSet.from_dict(document).keys if k.key_id
                }
            key = self._keys[kid]
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["ES256", "RS256", "PS256", "EdDSA"],
                audience=self.settings.oidc_client_id,
                issuer=provider.issuer,
                options={"require": ["iss", "aud", "exp", "sub"]},
                leeway=30,
            )
        except (jwt.PyJWTError, KeyError) as invalid:
            raise SignInFailed(f"invalid ID token: {type(invalid).__name__}") from None
        return claims

    async def _json(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        try:
            answer = await self._client.request(method, url, **options)
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as failure:
            raise SignInFailed(f"provider unreachable: {type(failure).__name__}") from None
        if not isinstance(document, dict):
            raise SignInFailed("provider answered something else than a JSON object")
        return document

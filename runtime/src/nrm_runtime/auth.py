"""Bearer-token authentication: who is calling, for which organisation, in which roles.

Tokens are JWTs signed by the identity provider (in dev, by ``nrm token``), verified
against its published keys (a JWKS document) by ``kid``, so keys rotate without
downtime. The algorithm is pinned; ``iss``, ``aud``, ``exp`` and ``sub`` are required.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nrm_contracts import Actor
from nrm_runtime.errors import ProblemError

if TYPE_CHECKING:
    from nrm_runtime.organisations import OrganisationRegistry

log = logging.getLogger(__name__)


SYSTEM_SUBJECT_PREFIX = "system/"
"""Subjects of the services themselves in the audit log; no token may claim one."""


class OrganisationType(StrEnum):
    MINISTRY = "ministry"
    POLICE = "police"
    NGO = "ngo"
    FOREIGN_AGENCY = "foreign_agency"
    INTERNATIONAL = "international"


class Role(StrEnum):
    SCREENER = "screener"
    COMPETENT_AUTHORITY = "competent_authority"
    CASE_MANAGER = "case_manager"
    PROVIDER_STAFF = "provider_staff"
    LIAISON_OFFICER = "liaison_officer"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INVESTIGATOR = "investigator"
    """A police investigator (MOI/DAHTJP, provincial police): its unit's criminal cases."""
    PROSECUTOR = "prosecutor"
    """A prosecutor (MOJ, a court): the criminal cases its office prosecutes."""


class Principal(BaseModel):
    """The authenticated caller, from the token's claims."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    organisation: str = Field(min_length=1, max_length=64)
    organisation_type: OrganisationType
    roles: frozenset[Role] = Field(min_length=1)
    acting_role: Role | None = Field(
        default=None, description="The role the route admitted the caller in, once checked."
    )

    @property
    def actor(self) -> Actor:
        """Recorded on every event this caller causes: the role that acted, when a route
        admitted the caller in one role; else every role the caller holds."""
        role = self.acting_role or ",".join(sorted(self.roles))
        return Actor(self.organisation, role)

    def acting_as(self, allowed: tuple[Role, ...]) -> Principal:
        """This caller acting in the first of ``allowed`` roles it holds."""
        role = next(role for role in allowed if role in self.roles)
        return self.model_copy(update={"acting_role": role})

    def has_any_role(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)


def _keys_of(document: Any) -> dict[str, jwt.PyJWK]:
    keys = jwt.PyJWKSet.from_dict(document).keys
    return {key.key_id: key for key in keys if key.key_id}


class JwksUrl:
    """The identity provider's published keys, fetched from its JWKS URL and cached.

    The cache is refreshed after ``cache_seconds``, and at once for a token naming an
    unknown ``kid`` (the provider may have rotated), but never more often than every
    ``min_refresh_seconds``: unknown kids cost an attacker, not the provider. When a
    refresh fails the keys already fetched stay in use; with none fetched yet, 503.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.timeout_seconds = timeout_seconds
        self._transport = transport
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def keys(self) -> dict[str, jwt.PyJWK]:
        return self._keys

    async def prepare(self, kid: str) -> None:
        """Make the cache fit to verify a token naming ``kid``: fresh, and fetched again
        for an unknown kid when the last attempt is old enough."""
        moment = time.monotonic()
        stale = moment - self._fetched_at >= self.cache_seconds
        unknown = kid not in self._keys
        if not (stale or unknown) or moment - self._attempted_at < self.min_refresh_seconds:
            return
        async with self._lock:
            if time.monotonic() - self._attempted_at < self.min_refresh_seconds:
                return  # another request fetched while this one waited
            await self.refresh()

    async def refresh(self) -> None:
        """Fetch the document now (keeps the old keys when the fetch fails)."""
        self._attempted_at = time.monotonic()
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_seconds, transport=self._transport
            ) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                keys = _keys_of(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as failure:
            log.warning("token keys could not be fetched", extra={"error": type(failure).__name__})
            if not self._keys:
                raise ProblemError(
                    503, "token_keys_unavailable", "the identity provider's keys are unavailable"
                ) from None
            return
        self._keys = keys
        self._fetched_at = time.monotonic()


VERIFIED_TOKENS_REMEMBERED = 4096
"""How many verified tokens a process remembers (least recently used forgotten first):
enough for every user active at once in a deployment, a few hundred kilobytes."""


class TokenVerifier:
    """Verifies tokens against a JWKS document, each key with its own algorithm.

    The document is re-read when it changes on disk, so a key added or retired by the
    issuer takes effect without a restart: checked at once when a token names an
    unknown ``kid``, otherwise at most once per ``reload_interval``.

    The keys come from that file (dev) or, given a :class:`JwksUrl` instead, from the
    identity provider; then :meth:`authenticate` (async) must be used, which refreshes
    the cache before verifying. ``leeway`` is the clock skew allowed on ``exp`` and
    ``nbf``. With ``organisations``, the token's organisation must be known,
    active and of the claimed type (401 otherwise).
    """

    def __init__(
        self,
        jwks_file: Path | JwksUrl,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        reload_interval: float = 5.0,
        leeway: float = 0.0,
        organisations: OrganisationRegistry | None = None,
    ) -> None:
        self.jwks_url = jwks_file if isinstance(jwks_file, JwksUrl) else None
        self.jwks_file = jwks_file if isinstance(jwks_file, Path) else Path("/nonexistent")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.reload_interval = reload_interval
        self.leeway = leeway
        self.organisations = organisations
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_mtime: int | None = None
        self._checked_at = float("-inf")
        self._verified: OrderedDict[bytes, tuple[Principal, float, str, jwt.PyJWK]] = OrderedDict()

    def _load_keys(self) -> None:
        try:
            mtime = self.jwks_file.stat().st_mtime_ns
            document = json.loads(self.jwks_file.read_text())
        except FileNotFoundError as missing:
            raise RuntimeError(
                f"token keys not found at {self.jwks_file}: run `make setup` (dev) "
                "or set the service's JWT_JWKS_FILE"
            ) from missing
        self._keys = _keys_of(document)
        self._loaded_mtime = mtime

    def _refresh(self, *, now: bool) -> None:
        """Re-read the document if it changed on disk; look at most once per interval
        unless ``now`` (a stat, not a read: unknown kids cost the attacker, not us)."""
        moment = time.monotonic()
        if self._loaded_mtime is None:
            self._load_keys()
            return
        if not now and moment - self._checked_at < self.reload_interval:
            return
        self._checked_at = moment
        if self.jwks_file.stat().st_mtime_ns != self._loaded_mtime:
            self._load_keys()

    def _key_for(self, kid: str) -> jwt.PyJWK:
        if self.jwks_url is not None:
            key = self.jwks_url.keys.get(kid)
            if key is None:
                raise ProblemError(401, "invalid_token", "token signed by an unknown key")
            return key
        self._refresh(now=False)
        if kid not in self._keys:
            self._refresh(now=True)  # a new kid: the issuer may have rotated its key
        try:
            return self._keys[kid]
        except KeyError:
            raise ProblemError(401, "invalid_token", "token signed by an unknown key") from None

    def verify(self, token: str) -> Principal:
        """The principal named by a valid token; :class:`ProblemError` 401 otherwise.

        A client sends the same token with every request until it expires, and checking
        an ES256 signature is the largest single cost of a cheap request; so a token
        verified once is remembered (by its SHA-256) until its ``exp``, as long as the
        key that verified it is still the one the JWKS publishes under its ``kid``: a
        retired or replaced key ends it at once, as it would without the cache."""
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(digest)
        if remembered is not None:
            principal, expires_at, kid, key = remembered
            if time.time() < expires_at and self._key_for(kid) is key:
                self._verified.move_to_end(digest)
                if self.organisations is not None:
                    self.organisations.recognise(principal)
                return principal
            del self._verified[digest]
        principal, expires_at, kid, key = self._verify_signature(token)
        self._verified[digest] = (principal, expires_at, kid, key)
        if len(self._verified) > VERIFIED_TOKENS_REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _verify_signature(self, token: str) -> tuple[Principal, float, str, jwt.PyJWK]:
        try:
            header = jwt.get_unverified_header(token)
            kid = str(header.get("kid", ""))
            key = self._key_for(kid)
            # The key decides the algorithm: a token may not choose how it is checked.
            if header.get("alg") != key.algorithm_name or key.algorithm_name not in self.algorithms:
                raise ProblemError(401, "invalid_token", "token algorithm not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise ProblemError(401, "invalid_token", "token expired") from None
        except jwt.InvalidTokenError as invalid:
            raise ProblemError(
                401, "invalid_token", f"token rejected: {type(invalid).__name__}"
            ) from None
        if str(claims["sub"]).startswith(SYSTEM_SUBJECT_PREFIX):
            # The audit names what a service does of its own accord "system/<service>":
            # a person's token must not pass for it.
            raise ProblemError(401, "invalid_token", "token rejected: a reserved subject")
        try:
            principal = Principal(
                subject=claims["sub"],
                organisation=claims.get("org", ""),
                organisation_type=claims.get("org_type", ""),
                roles=frozenset(claims.get("roles") or ()),
            )
        except ValidationError:
            raise ProblemError(401, "invalid_token", "token lacks organisation or roles") from None
        if self.organisations is not None:
            self.organisations.recognise(principal)
        return principal, float(claims["exp"]), kid, key

    async def authenticate(self, token: str) -> Principal:
        """:meth:`verify`, after refreshing the keys from the JWKS URL where needed."""
        if self.jwks_url is not None:
            try:
                kid = str(jwt.get_unverified_header(token).get("kid", ""))
            except jwt.InvalidTokenError:
                raise ProblemError(401, "invalid_token", "token rejected: DecodeError") from None
            await self.jwks_url.prepare(kid)
        return self.verify(token)


_bearer = HTTPBearer(auto_error=False, description="A JWT from the NRM identity provider")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of this request; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "unauthenticated", "a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.authenticate(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only callers holding one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(allowed):
            raise ProblemError(403, "forbidden", "your role may not do this")
        return principal.acting_as(roles)

    return Depends(_check)

"""Bearer-token authentication: who is calling, for which organisation, in which roles.

Tokens are JWTs signed by the identity provider (in dev, by ``nrm token``), verified
against its published keys (a JWKS document) by ``kid``, so keys rotate without
downtime. The algorithm is pinned; ``iss``, ``aud``, ``exp`` and ``sub`` are required.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nrm_contracts import Actor
from nrm_runtime.errors import ProblemError


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


class TokenVerifier:
    """Verifies tokens against a JWKS document, each key with its own algorithm.

    The document is re-read when it changes on disk, so a key added or retired by the
    issuer takes effect without a restart: checked at once when a token names an
    unknown ``kid``, otherwise at most once per ``reload_interval``.
    """

    def __init__(
        self,
        jwks_file: Path,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        reload_interval: float = 5.0,
    ) -> None:
        self.jwks_file = jwks_file
        self.issuer = issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.reload_interval = reload_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_mtime: int | None = None
        self._checked_at = float("-inf")

    def _load_keys(self) -> None:
        try:
            mtime = self.jwks_file.stat().st_mtime_ns
            document = json.loads(self.jwks_file.read_text())
        except FileNotFoundError as missing:
            raise RuntimeError(
                f"token keys not found at {self.jwks_file}: run `make setup` (dev) "
                "or set the service's JWT_JWKS_FILE"
            ) from missing
        keys = jwt.PyJWKSet.from_dict(document).keys
        self._keys = {key.key_id: key for key in keys if key.key_id}
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
        self._refresh(now=False)
        if kid not in self._keys:
            self._refresh(now=True)  # a new kid: the issuer may have rotated its key
        try:
            return self._keys[kid]
        except KeyError:
            raise ProblemError(401, "invalid_token", "token signed by an unknown key") from None

    def verify(self, token: str) -> Principal:
        """The principal named by a valid token; :class:`ProblemError` 401 otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            key = self._key_for(str(header.get("kid", "")))
            # The key decides the algorithm: a token may not choose how it is checked.
            if header.get("alg") != key.algorithm_name or key.algorithm_name not in self.algorithms:
                raise ProblemError(401, "invalid_token", "token algorithm not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["iss", "aud", "exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise ProblemError(401, "invalid_token", "token expired") from None
        except jwt.InvalidTokenError as invalid:
            raise ProblemError(
                401, "invalid_token", f"token rejected: {type(invalid).__name__}"
            ) from None
        try:
            return Principal(
                subject=claims["sub"],
                organisation=claims.get("org", ""),
                organisation_type=claims.get("org_type", ""),
                roles=frozenset(claims.get("roles") or ()),
            )
        except ValidationError:
            raise ProblemError(401, "invalid_token", "token lacks organisation or roles") from None


_bearer = HTTPBearer(auto_error=False, description="A JWT from the NRM identity provider")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of this request; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "unauthenticated", "a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only callers holding one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(allowed):
            raise ProblemError(403, "forbidden", "your role may not do this")
        return principal.acting_as(roles)

    return Depends(_check)

"""The dev issuer: a small OpenID Connect provider for ``dev`` and ``test`` only.

It lets one sign in as any organisation of ``deploy/dev-organisations.yaml`` in any role,
and signs with the dev token key (``nrm keys init``) that the services trust in dev, so
the console's sign-in is the same authorization code + PKCE flow as against a real
provider. It is never mounted in production (the settings refuse to start without a
real issuer there).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from console.oidc import s256
from console.pages.rendering import form_of, render
from console.settings import DEV_ISSUER_PATH, ConsoleSettings
from nrm_runtime.auth import Role
from nrm_runtime.devtokens import ALGORITHM, dev_organisations, ensure_dev_keys, mint_token

CODE_SECONDS = 60.0
TOKEN_SECONDS = 8 * 3600

# The roles a person works a case in, in the order the sign-in page offers them.
CONSOLE_ROLES = (
    Role.SCREENER,
    Role.COMPETENT_AUTHORITY,
    Role.CASE_MANAGER,
    Role.PROVIDER_STAFF,
    Role.ANALYST,
    Role.LIAISON_OFFICER,
    Role.AUDITOR,
)


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    organisation: str
    role: str
    expires_at: float


class DevIssuer:
    """The provider's state: the codes handed out and not yet redeemed."""

    def __init__(self, settings: ConsoleSettings, keys_dir: Path) -> None:
        self.settings = settings
        self.issuer = settings.issuer
        self.keys_dir = keys_dir
        self.jwks_file = ensure_dev_keys(keys_dir)
        self._codes: dict[str, Grant] = {}

    def grant(self, grant: Grant) -> str:
        moment = time.time()
        self._codes = {c: g for c, g in self._codes.items() if g.expires_at > moment}
        code = secrets.token_urlsafe(32)
        self._codes[code] = grant
        return code

    def redeem(self, code: str) -> Grant | None:
        grant = self._codes.pop(code, None)
        return grant if grant is not None and grant.expires_at > time.time() else None

    def tokens(self, grant: Grant) -> dict[str, Any]:
        organisation_type = dev_organisations()[grant.organisation]["type"]
        subject = f"dev-{grant.role}@{grant.organisation}"
        access = mint_token(
            organisation=grant.organisation,
            roles=[grant.role],
            organisation_type=organisation_type,
            subject=subject,
            ttl_seconds=TOKEN_SECONDS,
            directory=self.keys_dir,
        )
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": subject,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "nonce": grant.nonce,
        }
        kid = (self.keys_dir / "dev-signing-key.kid").read_text().strip()
        private_key = (self.keys_dir / "dev-signing-key.pem").read_bytes()
        id_token = jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})
        return {
            "access_token": access,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
        }


def dev_issuer_router(issuer: DevIssuer) -> APIRouter:
    """The provider's endpoints under ``/dev-issuer``."""
    router = APIRouter(prefix=DEV_ISSUER_PATH, include_in_schema=False)

    @router.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer.issuer,
            "authorization_endpoint": f"{issuer.issuer}/authorize",
            "token_endpoint": f"{issuer.issuer}/token",
            "jwks_uri": f"{issuer.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    @router.get("/jwks")
    async def jwks() -> Response:
        return Response(issuer.jwks_file.read_text(), media_type="application/json")

    @router.get("/authorize", response_class=HTMLResponse)
    async def authorize_page(request: Request) -> Response:
        query = dict(request.query_params)
        _check_request(issuer, query)
        organisations = sorted(dev_organisations().values(), key=lambda o: str(o["id"]))
        return render(
            request,
            "dev_signin.html",
            {
                "request_fields": {k: query[k] for k in AUTHORIZE_FIELDS if k in query},
                "organisations": organisations,
                "roles": [str(role) for role in CONSOLE_ROLES],
            },
        )

    @router.post("/authorize")
    async def authorize(request: Request) -> Response:
        form = {key: values[0] for key, values in (await form_of(request)).items()}
        _check_request(issuer, form)
        organisation, role = form.get("organisation", ""), form.get("role", "")
        if organisation not in dev_organisations() or role not in {str(r) for r in CONSOLE_ROLES}:
            raise HTTPException(400, "unknown organisation or role")
        code = issuer.grant(
            Grant(
                client_id=form["client_id"],
                redirect_uri=form["redirect_uri"],
                challenge=form["code_challenge"],
                nonce=form.get("nonce", ""),
                organisation=organisation,
                role=role,
                expires_at=time.time() + CODE_SECONDS,
            )
        )
        target = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form['state']})}"
        return RedirectResponse(target, status_code=303)

    @router.post("/token")
    async def token(request: Request) -> Response:
        form = {key: values[0] for key, values in (await form_of(request)).items()}
        grant = issuer.redeem(form.get("code", ""))
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("client_id") != grant.client_id
            or form.get("redirect_uri") != grant.redirect_uri
            or s256(form.get("code_verifier", "")) != grant.challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(issuer.tokens(grant), headers={"Cache-Control": "no-store"})

    return router


AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _check_request(issuer: DevIssuer, fields: dict[str, str]) -> None:
    """Only the console's own client, redirecting to its own callback, with PKCE S256."""
    settings = issuer.settings
    if (
        fields.get("response_type") != "code"
        or fields.get("client_id") != settings.oidc_client_id
        or fields.get("redirect_uri") != f"{settings.base_url}/signin/callback"
        or fields.get("code_challenge_method") != "S256"
        or not fields.get("code_challenge")
        or not fields.get("state")
    ):
        raise HTTPException(400, "invalid authorization request")

"""The development token issuer: a local signing key, its JWKS, and minted tokens.

Production tokens come from the ministries' identity provider; this issuer exists so
that ``make run`` and the tests can call the APIs as any organisation and role. The
keys live under ``var/keys`` (gitignored), created by ``make setup``.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER, default_var_dir, repo_root

ALGORITHM = "ES256"


def keys_dir() -> Path:
    return default_var_dir() / "keys"


def _key_files(directory: Path) -> tuple[Path, Path]:
    return directory / "dev-signing-key.pem", directory / "dev-jwks.json"


def ensure_dev_keys(directory: Path | None = None) -> Path:
    """Create the signing key and its JWKS once; return the JWKS path. Idempotent."""
    directory = directory or keys_dir()
    private_file, jwks_file = _key_files(directory)
    if private_file.exists() and jwks_file.exists():
        return jwks_file
    return rotate_dev_key(directory)


def rotate_dev_key(directory: Path | None = None) -> Path:
    """A new signing key; the JWKS keeps the previous public key so its tokens stay valid."""
    directory = directory or keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    private_file, jwks_file = _key_files(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    kid = uuid.uuid4().hex[:16]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_file.write_bytes(pem)
    private_file.chmod(0o600)
    (directory / "dev-signing-key.kid").write_text(kid)
    public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public_jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    previous = json.loads(jwks_file.read_text())["keys"][-1:] if jwks_file.exists() else []
    jwks_file.write_text(json.dumps({"keys": [*previous, public_jwk]}, indent=2))
    return jwks_file


def dev_organisations() -> dict[str, dict[str, str]]:
    """The organisations the dev issuer knows, by id."""
    document = yaml.safe_load((repo_root() / "deploy" / "dev-organisations.yaml").read_text())
    return {entry["id"]: entry for entry in document["organisations"]}


def mint_token(
    *,
    organisation: str,
    roles: list[str],
    organisation_type: str | None = None,
    subject: str | None = None,
    ttl_seconds: int = 8 * 3600,
    directory: Path | None = None,
    issuer: str = DEV_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """A signed token for ``organisation`` acting in ``roles``."""
    directory = directory or keys_dir()
    ensure_dev_keys(directory)
    private_file, _ = _key_files(directory)
    if organisation_type is None:
        known = dev_organisations().get(organisation)
        if known is None:
            raise ValueError(
                f"unknown organisation {organisation!r}: pass --org-type, or add it to "
                "deploy/dev-organisations.yaml"
            )
        organisation_type = known["type"]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"dev-user@{organisation}",
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "org": organisation,
        "org_type": organisation_type,
        "roles": roles,
    }
    kid = (directory / "dev-signing-key.kid").read_text().strip()
    return jwt.encode(claims, private_file.read_bytes(), algorithm=ALGORITHM, headers={"kid": kid})

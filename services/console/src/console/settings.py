"""The console's settings from the environment (prefix ``CONSOLE_``).

Outside ``dev`` and ``test`` they refuse what is only safe on a laptop: the built-in dev
issuer (an OpenID Connect provider must be named), its signing keys, and a public address
without TLS (the session cookie is then ``Secure``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nrm_runtime.settings import Environment, default_var_dir

DEV_ISSUER_PATH = "/dev-issuer"


class ConsoleSettings(BaseSettings):
    """Where the console listens, where the four services are, and who signs people in."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    environment: Environment = Environment.DEV
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = Field(
        default="",
        description="The address people open (https in production); default http://host:port",
    )

    identification_url: str = "http://127.0.0.1:8001"
    referral_url: str = "http://127.0.0.1:8002"
    shelter_registry_url: str = "http://127.0.0.1:8003"
    repatriation_url: str = "http://127.0.0.1:8004"
    service_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID Connect provider (its discovery document is read from "
        "<issuer>/.well-known/openid-configuration); unset in dev: the console's dev issuer",
    )
    oidc_client_id: str = "nrm-console"
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid"

    dev_keys_dir: Path | None = Field(
        default=None,
        description="The dev issuer's signing key and JWKS (dev and test; var/keys if unset)",
    )
    session_database_url: str = Field(
        default="",
        description="Where sessions are kept: sqlite:///path or postgresql://user@host/db "
        "(shared by every replica); unset: var/console-sessions.db (dev and test only)",
    )
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=10, ge=1, le=24)
    live_poll_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How often a live page's stream asks for changes"
    )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sessions_url(self) -> str:
        return self.session_database_url or f"sqlite:///{default_var_dir() / 'console-sessions.db'}"

    @property
    def uses_dev_issuer(self) -> bool:
        return self.oidc_issuer is None

    @property
    def issuer(self) -> str:
        """The issuer the console signs people in with."""
        return (self.oidc_issuer or f"{self.base_url}{DEV_ISSUER_PATH}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.environment is Environment.PRODUCTION or self.base_url.startswith("https:")

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems = []
        if self.oidc_issuer is None:
            problems.append("CONSOLE_OIDC_ISSUER is required (the dev issuer is for dev only)")
        elif not self.oidc_issuer.startswith("https://"):
            problems.append("CONSOLE_OIDC_ISSUER must be an https URL")
        if self.dev_keys_dir is not None:
            problems.append("CONSOLE_DEV_KEYS_DIR is for dev only")
        if not self.session_database_url:
            problems.append("CONSOLE_SESSION_DATABASE_URL is required (where sessions live)")
        if not self.public_url.startswith("https://"):
            problems.append("CONSOLE_PUBLIC_URL must be an https URL (Secure cookies)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

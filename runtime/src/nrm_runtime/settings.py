"""Service settings from the environment, one prefix per service (``REFERRAL_PORT``...)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class TelemetryExporter(StrEnum):
    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


DEV_ISSUER = "nrm-dev-issuer"
DEV_OPERATING_ORGANISATION = "mosvy"
DEFAULT_AUDIENCE = "nrm-backbone"


def repo_root() -> Path:
    """The checkout this runtime is installed from (editable install), for dev defaults."""
    return Path(__file__).resolve().parents[3]


def default_var_dir() -> Path:
    return repo_root() / "var"


def dev_organisations_file() -> Path:
    """The illustrative organisations of development and tests (deploy/dev-organisations.yaml)."""
    return repo_root() / "deploy" / "dev-organisations.yaml"


class KafkaSecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class ServiceSettings(BaseSettings):
    """Settings every service shares. A service subclasses it and sets its env prefix.

    Outside ``dev`` and ``test`` the settings refuse what is only safe on a laptop: the dev
    token issuer and its key files, SQLite, a console trace exporter.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str
    environment: Environment = Environment.DEV
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    database_url: str = ""
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Replicas of the topics the service creates; unset: min(3, brokers in "
        "the cluster), with min.insync.replicas 2 from 3 brokers.",
    )
    kafka_allow_low_replication: bool = Field(
        default=False,
        description="Production only: accept topics with fewer than 3 replicas (a "
        "single-broker install). Logged at CRITICAL on every start.",
    )
    kafka_request_timeout_ms: int = Field(
        default=15_000,
        ge=1_000,
        description="How long the producer waits for a record's acknowledgement before it "
        "fails it (the record then stays in its table and is sent again).",
    )
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    kafka_topic_prefix: str = Field(
        default="",
        pattern=r"^[a-zA-Z0-9._-]*$",
        description="Put before every topic name, so that several deployments (or test "
        "runs) can share one cluster.",
    )

    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = DEFAULT_AUDIENCE
    jwt_jwks_file: Path | None = None
    jwt_algorithms: tuple[str, ...] = ("ES256",)
    jwt_jwks_url: str | None = Field(
        default=None,
        description="The identity provider's JWKS URL (production, e.g. OpenID Connect); "
        "instead of jwt_jwks_file.",
    )
    jwt_jwks_cache_seconds: float = Field(default=300.0, gt=0, le=86_400)
    jwt_jwks_min_refresh_seconds: float = Field(
        default=5.0, ge=0, description="At most one fetch per interval for unknown kids."
    )
    jwt_jwks_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp and nbf."
    )
    organisations_file: Path | None = Field(
        default=None,
        description="The registry of organisations a token may name (YAML); dev and test "
        "default to deploy/dev-organisations.yaml.",
    )
    operating_organisation: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="The organisation that runs this service (an id of the organisations "
        "registry): the audit log names it for what the service does of its own accord. "
        f"Dev and test default to {DEV_OPERATING_ORGANISATION!r}; required in production.",
    )
    field_keys_file: Path | None = Field(
        default=None,
        description="The key ring of field-level encryption (`nrm keys init` in dev).",
    )

    audit_signing_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key (PKCS#8 PEM) that signs the audit log's tree heads. "
        "Unset: audit-<service>.pem beside the field keys, made on first use in dev and "
        "test; in production it must exist.",
    )
    audit_batch_size: int = Field(
        default=1000, ge=1, description="Entries the audit sequencer places in one round."
    )
    audit_sequencer_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the audit sequencer brings new entries into the tree and "
        "signs and publishes its head (nrm_runtime.audit_sequencer).",
    )

    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_in_flight_requests: int = Field(
        default=64,
        ge=1,
        description="Requests one process serves at once; past it, 503 with Retry-After "
        "(nrm_runtime.load_shedding).",
    )
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    auth_failure_share_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often a replica shares its failed-authentication counts with the "
        "others through the database (nrm_runtime.failure_sharing).",
    )

    kafka_security_protocol: KafkaSecurityProtocol = KafkaSecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: str = Field(default="SCRAM-SHA-512", pattern=r"^SCRAM-SHA-(256|512)$")
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: Path | None = None

    telemetry_exporter: TelemetryExporter = TelemetryExporter.NONE
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    log_level: str = "INFO"

    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_retention_hours: float = Field(default=168.0, gt=0)
    outbox_stuck_seconds: float = Field(
        default=60.0,
        gt=0,
        description="/readyz fails while the outbox holds an event older than this and the "
        "relay has published nothing for as long.",
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, gt=0)
    consumer_stall_seconds: float = Field(default=60.0, gt=0)
    consumer_behind_records: int = Field(
        default=5000,
        ge=1,
        description="A consumer this many records behind its partitions is reported "
        "behind in /readyz's details (consumers_behind): its read models are that stale.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long stopping waits for each step (the background tasks, the Kafka "
        "clients) before it logs what did not end and goes on: a broker that never answers "
        "never holds the process. Unsent events stay in the outbox for the next start.",
    )

    @model_validator(mode="after")
    def _dev_defaults_and_refusals(self) -> Self:
        if self.environment is Environment.DEV:
            self._fill_dev_defaults()
        else:
            # Outside dev, nothing security-relevant is taken by default: where the data
            # lives and whose tokens are trusted must be said explicitly.
            if not self.database_url:
                raise ValueError(f"database_url is required in {self.environment}")
            if self.jwt_jwks_file is None and self.jwt_jwks_url is None:
                raise ValueError(
                    f"jwt_jwks_file is required in {self.environment} (or jwt_jwks_url)"
                )
            if self.environment is Environment.TEST:
                if self.organisations_file is None:
                    object.__setattr__(self, "organisations_file", dev_organisations_file())
                if self.operating_organisation is None:
                    object.__setattr__(self, "operating_organisation", DEV_OPERATING_ORGANISATION)
        if self.jwt_jwks_file is not None and self.jwt_jwks_url is not None:
            raise ValueError("set jwt_jwks_file or jwt_jwks_url, not both")
        if self.kafka_security_protocol is KafkaSecurityProtocol.SASL_SSL and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError("kafka_security_protocol SASL_SSL needs kafka_sasl_username/password")
        if self.environment is Environment.PRODUCTION:
            self._refuse_insecure_production_settings()
        if not self.jwt_algorithms or not set(self.jwt_algorithms) <= {"RS256", "ES256"}:
            raise ValueError("jwt_algorithms: only RS256 and ES256 are accepted")
        return self

    def _fill_dev_defaults(self) -> None:
        var = default_var_dir()
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{var / f'{self.service_name}.db'}"
            object.__setattr__(self, "database_url", url)
        if self.jwt_jwks_file is None and self.jwt_jwks_url is None:
            object.__setattr__(self, "jwt_jwks_file", var / "keys" / "dev-jwks.json")
        if self.organisations_file is None:
            object.__setattr__(self, "organisations_file", dev_organisations_file())
        if self.field_keys_file is None:
            object.__setattr__(self, "field_keys_file", var / "keys" / "field-keys.json")
        if self.operating_organisation is None:
            object.__setattr__(self, "operating_organisation", DEV_OPERATING_ORGANISATION)

    def _refuse_insecure_production_settings(self) -> None:
        if self.database_url.startswith("sqlite"):
            raise ValueError("SQLite is a development database: set a PostgreSQL database_url")
        if self.jwt_issuer == DEV_ISSUER:
            raise ValueError("the dev token issuer is not accepted in production: set jwt_issuer")
        dev_keys = default_var_dir().resolve()
        if self.jwt_jwks_file is not None and dev_keys in self.jwt_jwks_file.resolve().parents:
            raise ValueError("the dev signing keys are not accepted in production")
        if self.telemetry_exporter is TelemetryExporter.CONSOLE:
            raise ValueError("the console trace exporter is for development only")
        if self.jwt_jwks_url is not None and not self.jwt_jwks_url.startswith("https://"):
            raise ValueError("jwt_jwks_url must be an https:// URL in production")
        if self.organisations_file is None:
            raise ValueError("organisations_file is required in production")
        if self.organisations_file.resolve() == dev_organisations_file().resolve():
            raise ValueError("the dev organisations are not accepted in production")
        if self.field_keys_file is not None and dev_keys in self.field_keys_file.resolve().parents:
            raise ValueError("the dev field encryption keys are not accepted in production")
        if self.operating_organisation is None:
            raise ValueError("operating_organisation is required in production")
        if (
            self.audit_signing_key_file is not None
            and dev_keys in self.audit_signing_key_file.resolve().parents
        ):
            raise ValueError("the dev audit signing key is not accepted in production")

    def topic(self, name: str) -> str:
        """The name of contract topic ``name`` on this deployment's cluster."""
        return f"{self.kafka_topic_prefix}{name}"

    def audit_key_file(self) -> Path | None:
        """Where the audit signing key is: as set, else (dev, test) beside the field keys."""
        if self.audit_signing_key_file is not None:
            return self.audit_signing_key_file
        if self.field_keys_file is None:
            return None
        return self.field_keys_file.parent / f"audit-{self.service_name}.pem"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

"""What each backbone service does on Kafka, read from its own code (not listed by hand).

A service's Kafka use is decided in three places, and :func:`service_access` reads
each of them, so that its ACLs (:mod:`nrm_deploy.kafka_acls`) cannot fall out of date:

- its ``ServiceDefinition``: the topic it owns and provisions, and its subscriptions
  (topics and consumer group; a dead-letter topic ``<topic>.dlq.<group>`` for each);
- its contract module (``nrm_contracts.events.<service>.EVENTS``): the topic of every
  event type it publishes through its outbox;
- its settings: a ``*_topic_prefix`` setting (other than the deployment-wide
  ``kafka_topic_prefix``) names a family of topics it writes, one per organisation
  (referral's ``nrm.referral.provider.<org>``).

The definition is only reachable through the service's ``create_app``, so the app is
built (never started: no database, broker or port is touched) with throw-away keys in a
temporary directory.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import tempfile
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import UnionType

from nrm_deploy.catalogue import SERVICES, ServiceKind

if typing.TYPE_CHECKING:
    from nrm_runtime.service import ServiceRuntime
    from nrm_runtime.settings import ServiceSettings

DEPLOYMENT_PREFIX_SETTING = "kafka_topic_prefix"
TOPIC_FAMILY_SUFFIX = "_topic_prefix"


@dataclass(frozen=True)
class ServiceAccess:
    """One service's principal and every topic and group it uses (names without the
    deployment's topic prefix)."""

    principal: str
    writes: tuple[str, ...]
    """Topics it publishes to: its events' topics and its dead-letter topics."""
    writes_prefixed: tuple[str, ...] = ()
    """Name prefixes of topic families it publishes to (one topic per organisation)."""
    reads: tuple[str, ...] = ()
    """Topics it subscribes to."""
    consumer_groups: tuple[str, ...] = ()
    provisions: tuple[str, ...] = ()
    """Topics it creates at start when absent: its own, its subscriptions, its DLQs."""


def _settings_class(create_app: typing.Callable[..., object]) -> type:
    """The settings class ``create_app``'s ``settings`` parameter takes."""
    from nrm_runtime.settings import ServiceSettings

    annotation = inspect.signature(create_app, eval_str=True).parameters["settings"].annotation
    candidates = typing.get_args(annotation) if isinstance(annotation, UnionType) else ()
    for candidate in (*candidates, annotation):
        if isinstance(candidate, type) and issubclass(candidate, ServiceSettings):
            return candidate
    raise TypeError(f"{create_app.__module__}.create_app takes no ServiceSettings subclass")


@contextlib.contextmanager
def throwaway_keys() -> Iterator[Path]:
    """A temporary directory with a dev JWKS and a field key ring, for building apps."""
    from nrm_runtime.devtokens import ensure_dev_keys
    from nrm_runtime.field_crypto import create_key_file

    with tempfile.TemporaryDirectory(prefix="nrm-acl-") as temporary:
        keys_dir = Path(temporary)
        ensure_dev_keys(keys_dir)
        create_key_file(keys_dir / "field-keys.json")
        yield keys_dir


def built_runtime(kind: ServiceKind, keys_dir: Path) -> ServiceRuntime:
    """``kind``'s runtime, its app built but not started, on ``keys_dir``'s keys
    (see :func:`throwaway_keys`) and without a topic prefix."""
    from nrm_runtime.settings import Environment, KafkaSecurityProtocol

    create_app = importlib.import_module(f"{kind.module}.app").create_app
    settings = _settings_class(create_app)(
        environment=Environment.TEST,
        database_url=f"sqlite+aiosqlite:///{keys_dir / f'{kind.name}.db'}",
        jwt_jwks_file=keys_dir / "dev-jwks.json",
        field_keys_file=keys_dir / "field-keys.json",
        kafka_topic_prefix="",
        kafka_security_protocol=KafkaSecurityProtocol.PLAINTEXT,
    )
    runtime: ServiceRuntime = create_app(settings).state.runtime
    return runtime


def _contract_topics(kind: ServiceKind) -> set[str]:
    """The topics of the event types in ``kind``'s contract module."""
    events = importlib.import_module(f"nrm_contracts.events.{kind.module}").EVENTS
    return {str(event.topic) for event in events}


def topic_families(settings: ServiceSettings) -> tuple[str, ...]:
    """The name prefixes of the topic families ``settings`` configure; refuses an empty
    one, whose PREFIXED ACL would let the service write every topic of the cluster."""
    families = {
        name: str(getattr(settings, name))
        for name in type(settings).model_fields
        if name.endswith(TOPIC_FAMILY_SUFFIX) and name != DEPLOYMENT_PREFIX_SETTING
    }
    for name, prefix in families.items():
        if not prefix:
            raise ValueError(f"{settings.service_name}: {name} is empty (every topic)")
    return tuple(sorted(families.values()))


def access_of(kind: ServiceKind, runtime: ServiceRuntime) -> ServiceAccess:
    """What ``kind`` uses, read from its built (not started) runtime and its contracts."""
    subscriptions = [consumer.subscription for consumer in runtime.consumers]
    reads = {str(topic) for subscription in subscriptions for topic in subscription.topics}
    dead_letters = {
        topic for subscription in subscriptions for topic in subscription.dead_letter_topics()
    }
    provisions = set(runtime.broker.topics)
    owned = provisions - reads - dead_letters
    return ServiceAccess(
        principal=kind.name,
        writes=tuple(sorted(owned | _contract_topics(kind) | dead_letters)),
        writes_prefixed=topic_families(runtime.settings),
        reads=tuple(sorted(reads)),
        consumer_groups=tuple(sorted({s.consumer_group for s in subscriptions})),
        provisions=tuple(sorted(provisions)),
    )


@cache
def backbone_access() -> tuple[ServiceAccess, ...]:
    """Every backbone service's access, in catalogue order (computed once per process)."""
    with throwaway_keys() as keys_dir:
        return tuple(access_of(kind, built_runtime(kind, keys_dir)) for kind in SERVICES.values())

"""How many copies a service's topics keep: chosen from the cluster, checked at start.

On a cluster a topic with one replica is one broker's disk: a broker down takes its
partitions offline and a disk lost takes acknowledged events with it. So topics are
created with RF = min(3, brokers) and, from 3 brokers, ``min.insync.replicas`` = 2
(acks=all then means on two disks); an existing topic below that is reported, and in
production a service refuses topics below RF 3 unless told, loudly, that it is alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from nrm_runtime.settings import Environment, ServiceSettings

log = logging.getLogger(__name__)

DURABLE_REPLICATION_FACTOR = 3
DURABLE_MIN_INSYNC_REPLICAS = 2
MIN_INSYNC_CONFIG = "min.insync.replicas"


class TopicsNotDurable(Exception):
    """Production topics would keep fewer than three copies, and no override says so."""


@dataclass(frozen=True)
class Durability:
    """The replication a topic of this service should have on this cluster."""

    replication_factor: int
    min_insync_replicas: int

    @classmethod
    def for_cluster(cls, settings: ServiceSettings, brokers: int) -> Durability:
        factor = settings.kafka_replication_factor or min(DURABLE_REPLICATION_FACTOR, brokers)
        min_insync = DURABLE_MIN_INSYNC_REPLICAS if factor >= DURABLE_REPLICATION_FACTOR else 1
        return cls(factor, min_insync)

    def topic_configs(self) -> dict[str, str]:
        return {MIN_INSYNC_CONFIG: str(self.min_insync_replicas)}


@dataclass(frozen=True)
class Shortfall:
    """An existing topic keeping fewer copies than it should (for the log and /readyz)."""

    topic: str
    replication_factor: int
    min_insync_replicas: int

    def describe(self) -> str:
        return f"RF {self.replication_factor}, min ISR {self.min_insync_replicas}"


def refuse_unless_durable(settings: ServiceSettings, durability: Durability) -> None:
    """In production, RF below 3 stops the service unless the override is set."""
    if settings.environment is not Environment.PRODUCTION:
        return
    if durability.replication_factor >= DURABLE_REPLICATION_FACTOR:
        return
    if not settings.kafka_allow_low_replication:
        raise TopicsNotDurable(
            f"topics would keep {durability.replication_factor} replica(s) in production; "
            "a cluster of 3 brokers is needed (or kafka_allow_low_replication for a "
            "single-broker install)"
        )
    log.critical(
        "PRODUCTION TOPICS KEEP FEWER THAN 3 COPIES: kafka_allow_low_replication is set; "
        "a broker or disk lost can lose acknowledged events",
        extra={"replication_factor": durability.replication_factor},
    )


async def topic_shortfalls(
    admin: AIOKafkaAdminClient, topics: list[str], durability: Durability
) -> list[Shortfall]:
    """The ``topics`` whose replication factor or min ISR is below ``durability``."""
    if not topics:
        return []
    # A topic another service has just created may show no partitions yet: not judged.
    factors = {
        str(described["topic"]): min(len(p["replicas"]) for p in described["partitions"])
        for described in await admin.describe_topics(topics)
        if not described.get("error_code") and described["partitions"]
    }
    resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in factors]
    min_insync = _min_insync_by_topic(await admin.describe_configs(resources))
    shortfalls = []
    for topic, factor in sorted(factors.items()):
        insync = min_insync.get(topic, 1)
        if factor < durability.replication_factor or insync < durability.min_insync_replicas:
            shortfalls.append(Shortfall(topic, factor, insync))
    return shortfalls


def _min_insync_by_topic(responses: list[Any]) -> dict[str, int]:
    # DescribeConfigs answers per resource: (error_code, error_message, type, name, entries),
    # each entry starting (name, value, ...).
    found = {}
    for response in responses:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == MIN_INSYNC_CONFIG and entry[1] is not None:
                    found[str(name)] = int(entry[1])
    return found

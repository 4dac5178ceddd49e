"""What the chaos suite asks the brokers: leaders, in-sync replicas, topic durability.

A fresh admin client per question: after a broker was killed, a long-lived client's
metadata and connections would answer about the cluster as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

TOPIC_PREFIX = "nrm."


@contextlib.asynccontextmanager
async def admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def backbone_topics(bootstrap: str) -> list[str]:
    async with admin(bootstrap) as client:
        return sorted(t for t in await client.list_topics() if t.startswith(TOPIC_PREFIX))


async def partitions(bootstrap: str, topics: list[str]) -> list[dict[str, Any]]:
    """``{"topic", "partition", "leader", "replicas", "isr"}`` for every partition."""
    async with admin(bootstrap) as client:
        described = await client.describe_topics(topics)
    return [
        {
            "topic": topic["topic"],
            "partition": p["partition"],
            "leader": p["leader"],
            "replicas": list(p["replicas"]),
            "isr": list(p["isr"]),
        }
        for topic in described
        for p in topic["partitions"]
    ]


async def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    for p in await partitions(bootstrap, [topic]):
        if p["partition"] == partition:
            return int(p["leader"])
    raise LookupError(f"{topic}:{partition} not found")


async def wait_leader_moved(
    bootstrap: str, topic: str, partition: int, old_leader: int, within: float
) -> float:
    """Seconds until ``topic:partition`` has a live leader other than ``old_leader``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with contextlib.suppress(Exception):  # a broker of the bootstrap list is down
            leader = await leader_of(bootstrap, topic, partition)
            if leader not in (old_leader, -1):
                return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{topic}:{partition} still led by {old_leader} after {within:.0f}s")


async def wait_full_isr(bootstrap: str, within: float) -> float:
    """Seconds until every replica of every backbone topic is in sync again."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with contextlib.suppress(Exception):
            topics = await backbone_topics(bootstrap)
            described = await partitions(bootstrap, topics)
            if described and all(len(p["isr"]) == len(p["replicas"]) for p in described):
                return time.monotonic() - started
        await asyncio.sleep(1.0)
    raise TimeoutError(f"replicas not all in sync after {within:.0f}s")


async def topic_durability(bootstrap: str) -> dict[str, dict[str, int]]:
    """Every backbone topic's replication factor (its smallest) and min.insync.replicas."""
    topics = await backbone_topics(bootstrap)
    described = await partitions(bootstrap, topics)
    async with admin(bootstrap) as client:
        responses = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        )
    min_isr: dict[str, int] = {}
    for response in responses:
        for resource in response.resources:
            _error, _message, _type, name, entries = resource[:5]
            for entry in entries:
                if entry[0] == "min.insync.replicas":
                    min_isr[name] = int(entry[1])
    return {
        topic: {
            "replication_factor": min(len(p["replicas"]) for p in described if p["topic"] == topic),
            "min_insync_replicas": min_isr.get(topic, 0),
        }
        for topic in topics
    }

"""Deciding that a Kafka cluster is ready, the way its clients see it (aiokafka).

"Ready" means a client bootstrapping from the cluster gets metadata that lists
every running node and, with replication, can create a topic replicated to all
of them: only then will services' RF-3 topics and acks=all produces succeed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

PROBE_TOPIC = "nrm-launcher-readiness-probe"
POLL_INTERVAL_SECONDS = 0.25
CLIENT_REQUEST_TIMEOUT_MS = 5000
# Kafka error codes the probe topic may legitimately meet.
NO_ERROR = 0
TOPIC_ALREADY_EXISTS = 36

T = TypeVar("T")


class NotReadyError(Exception):
    """The cluster answered, but is not (yet) in the state we wait for."""


def run_blocking(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    Test fixtures and the stack runner may call the sync launcher API from async
    code; ``asyncio.run`` cannot nest, so then the coroutine gets its own thread
    (the caller's loop is blocked meanwhile, like any sync call; async callers that
    must stay responsive use ``await asyncio.to_thread(cluster.start)``).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(lambda: asyncio.run(coroutine_factory())).result()


def ports_accepting(ports: Iterable[int]) -> bool:
    """Whether something accepts TCP connections on each 127.0.0.1 port (cheap pre-check)."""
    for port in ports:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return False
    return True


async def wait_until_ready(
    bootstrap_servers: str,
    broker_ports: list[int],
    node_ids: set[int],
    replication_factor: int,
    deadline: float,
    check_alive: Callable[[], None],
    client_options: dict[str, Any] | None = None,
) -> None:
    """Poll until :func:`probe_cluster` succeeds; ``check_alive`` raises if a node died.

    Raises ``TimeoutError`` (with the last reason) when ``deadline`` (monotonic) passes.
    """
    reason = "no broker port accepted connections"
    while time.monotonic() < deadline:
        check_alive()
        if ports_accepting(broker_ports):
            try:
                await probe_cluster(bootstrap_servers, node_ids, replication_factor, client_options)
                return
            except (TimeoutError, KafkaError, OSError, NotReadyError) as error:
                reason = f"{type(error).__name__}: {error}"
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
    raise TimeoutError(f"cluster not ready: {reason}")


async def probe_cluster(
    bootstrap_servers: str,
    node_ids: set[int],
    replication_factor: int,
    client_options: dict[str, Any] | None = None,
) -> None:
    """One readiness check; raises ``NotReadyError`` or a Kafka/OS error if not ready."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=CLIENT_REQUEST_TIMEOUT_MS,
        **(client_options or {}),
    )
    try:
        await admin.start()
        listed = await listed_node_ids(admin)
        if not node_ids <= listed:
            raise NotReadyError(f"metadata lists nodes {sorted(listed)}, want {sorted(node_ids)}")
        if replication_factor > 1:
            await _create_and_delete_probe_topic(admin, replication_factor)
    finally:
        await admin.close()


async def fetch_listed_node_ids(
    bootstrap_servers: str, client_options: dict[str, Any] | None = None
) -> set[int]:
    """The ids of the brokers listed in the metadata of the cluster at ``bootstrap_servers``."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=CLIENT_REQUEST_TIMEOUT_MS,
        **(client_options or {}),
    )
    try:
        await admin.start()
        return await listed_node_ids(admin)
    finally:
        await admin.close()


async def listed_node_ids(admin: AIOKafkaAdminClient) -> set[int]:
    """The ids of the brokers that the cluster's metadata currently lists."""
    cluster = await admin.describe_cluster()
    return {int(broker["node_id"]) for broker in cluster["brokers"]}


async def _create_and_delete_probe_topic(
    admin: AIOKafkaAdminClient, replication_factor: int
) -> None:
    response = await admin.create_topics(
        [NewTopic(PROBE_TOPIC, num_partitions=1, replication_factor=replication_factor)]
    )
    for topic_error in response.topic_errors:
        name, code = topic_error[0], topic_error[1]
        if code not in (NO_ERROR, TOPIC_ALREADY_EXISTS):
            raise NotReadyError(f"creating RF-{replication_factor} topic {name}: error {code}")
    # Deletion is asynchronous in Kafka; a later probe treats a leftover as success.
    await admin.delete_topics([PROBE_TOPIC])

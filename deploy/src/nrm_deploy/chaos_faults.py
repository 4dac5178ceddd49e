"""The faults the chaos suite injects into the cluster topology, each while the load runs.

Each fault returns a :class:`Fault`: when it began, when the broken part was whole
again (``ended_at``, wall clock: the moment "after the brokers' return" is measured
from) and what it observed on the way (failover time, partitions moved, ...).
The blocking steps (a broker's start, a service's readiness) run in a thread, so the
load's event loop keeps sending on schedule.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.chaos_cases import processed_identification_events
from nrm_deploy.chaos_kafka import leader_of, partitions, wait_full_isr, wait_leader_moved
from nrm_deploy.chaos_load import Load
from nrm_deploy.topology import ClusterTopology, Replica

IDENTIFICATION_TOPIC = "nrm.identification"
FAILOVER_TIMEOUT_SECONDS = 60.0
ISR_TIMEOUT_SECONDS = 120.0
SERVICE_DOWN_SECONDS = 10.0
BURST_FACTOR = 3.0


@dataclass
class Fault:
    name: str
    started_at: float
    ended_at: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    outage: bool = False  # every broker down: the report's "within 60 s of return"


@dataclass
class Chaos:
    """The topology, the load running against it, and the faults injected so far."""

    topology: ClusterTopology
    load: Load
    faults: list[Fault] = field(default_factory=list)
    _partitions: itertools.cycle[int] = field(default_factory=lambda: itertools.cycle(range(3)))

    @property
    def bootstrap(self) -> str:
        assert self.topology.kafka is not None
        return self.topology.kafka.bootstrap_servers

    def begin(self, name: str, **details: Any) -> Fault:
        fault = Fault(name, time.time(), details=dict(details))
        self.faults.append(fault)
        print(f"chaos: {name} {json.dumps(details)}", flush=True)
        return fault

    # --- brokers ----------------------------------------------------------------------

    async def leader_kill(self) -> Fault:
        """SIGKILL the broker leading a partition of nrm.identification; wait until
        another broker leads it; restart the killed one; wait for full ISR."""
        assert self.topology.kafka is not None
        partition = next(self._partitions)
        leader = await leader_of(self.bootstrap, IDENTIFICATION_TOPIC, partition)
        fault = self.begin("leader kill", partition=partition, broker=leader)
        index = leader - 1  # node ids are 1-based, in port order
        await asyncio.to_thread(self.topology.kafka.stop_node, index, 30, True)
        fault.details["failover_seconds"] = round(
            await wait_leader_moved(
                self.bootstrap, IDENTIFICATION_TOPIC, partition, leader, FAILOVER_TIMEOUT_SECONDS
            ),
            1,
        )
        started = time.monotonic()
        await asyncio.to_thread(self.topology.kafka.start_node, index, 180)
        fault.details["restart_seconds"] = round(time.monotonic() - started, 1)
        fault.ended_at = time.time()
        fault.details["isr_seconds"] = round(
            await wait_full_isr(self.bootstrap, ISR_TIMEOUT_SECONDS), 1
        )
        return fault

    async def brokers_down(self, seconds: float) -> Fault:
        """Every broker SIGKILLed, kept down ``seconds``, then all started again."""
        kafka = self.topology.kafka
        assert kafka is not None
        fault = self.begin("all brokers down", seconds=seconds)
        fault.outage = True
        for index in range(len(kafka.nodes)):
            await asyncio.to_thread(kafka.stop_node, index, 30, True)
        await asyncio.sleep(seconds)
        started = time.monotonic()
        # Together: a lone node cannot form the controller quorum.
        await asyncio.to_thread(kafka.start, 240)
        fault.details["restart_seconds"] = round(time.monotonic() - started, 1)
        fault.ended_at = time.time()
        return fault

    # --- services ---------------------------------------------------------------------

    async def replica_kill(self, service: str, number: int) -> Fault:
        """SIGKILL one replica mid-burst; the other takes its requests and partitions."""
        replica = self.topology.replicas[service][number - 1]
        others = [r for r in self.topology.replicas[service] if r is not replica]
        marks = {other.name: _log_size(other) for other in others}
        fault = self.begin("replica kill", replica=replica.name)
        self.load.factor = BURST_FACTOR
        try:
            await asyncio.to_thread(replica.kill)
            await asyncio.sleep(SERVICE_DOWN_SECONDS)
        finally:
            self.load.factor = 1.0
        fault.details["partitions_taken_over"] = {
            other.name: _assigned_since(other, marks[other.name]) for other in others
        }
        await self._restart([replica])
        fault.ended_at = time.time()
        return fault

    async def service_kill(self, service: str) -> Fault:
        """SIGKILL both replicas of a service mid-burst; restart them."""
        replicas = self.topology.replicas[service]
        fault = self.begin("service kill", service=service)
        self.load.factor = BURST_FACTOR
        try:
            for replica in replicas:
                await asyncio.to_thread(replica.kill)
            await asyncio.sleep(SERVICE_DOWN_SECONDS)
        finally:
            self.load.factor = 1.0
        await self._restart(replicas)
        fault.ended_at = time.time()
        return fault

    async def _restart(self, replicas: list[Replica]) -> None:
        for replica in replicas:
            replica.launch()
            await asyncio.to_thread(replica.wait_ready, 180, "/healthz")

    async def rebalance(self) -> Fault:
        """A third referral replica joins the group mid-batch and leaves again: two
        rebalances while the others are processing."""
        index = list(SERVICES).index("referral")
        kind = SERVICES["referral"]
        port = self.topology.ports.replica(index, len(self.topology.replicas["referral"]) + 1)
        extra = Replica(
            kind,
            len(self.topology.replicas["referral"]) + 1,
            port,
            self.topology.work_dir / "services",
            self.topology.replica_environment(kind, port),
        )
        fault = self.begin("consumer-group rebalance", joined=extra.name)
        self.load.factor = BURST_FACTOR
        try:
            extra.launch()
            await asyncio.to_thread(extra.wait_ready, 180, "/healthz")
            await asyncio.sleep(SERVICE_DOWN_SECONDS)
            await asyncio.to_thread(extra.stop)
        finally:
            self.load.factor = 1.0
            if extra.is_running():
                extra.kill()
        fault.ended_at = time.time()
        return fault

    # --- database and delivery --------------------------------------------------------

    async def postgres_down(self, seconds: float) -> Fault:
        postgres = self.topology.postgres
        assert postgres is not None
        fault = self.begin("PostgreSQL stopped", seconds=seconds)
        await asyncio.to_thread(postgres.halt)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(postgres.resume)
        fault.ended_at = time.time()
        return fault

    async def duplicate_delivery(self, count: int = 20) -> Fault:
        """The last ``count`` records of nrm.identification produced again, as they were
        (key, value, headers): the same events delivered a second time."""
        assert self.topology.postgres is not None
        before = await processed_identification_events(self.topology.postgres.port)
        fault = self.begin("same event delivered twice", events=count)
        records = await _last_records(self.bootstrap, IDENTIFICATION_TOPIC, count)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            for record in records:
                await producer.send_and_wait(
                    IDENTIFICATION_TOPIC,
                    value=record.value,
                    key=record.key,
                    headers=list(record.headers),
                    partition=record.partition,
                )
        finally:
            await producer.stop()
        fault.details["redelivered"] = len(records)
        fault.details["processed_before"] = before
        fault.ended_at = time.time()
        return fault


async def _last_records(bootstrap: str, topic: str, count: int) -> list[Any]:
    """Up to ``count`` records from the ends of ``topic``'s partitions."""
    from aiokafka import TopicPartition

    numbers = [p["partition"] for p in await partitions(bootstrap, [topic])]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, number) for number in numbers]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        each = max(1, count // max(1, len(parts)))
        for tp in parts:
            consumer.seek(tp, max(0, ends[tp] - each))
        records: list[Any] = []
        deadline = time.monotonic() + 15
        wanted = sum(min(each, ends[tp]) for tp in parts)
        while len(records) < wanted and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records[:count]
    finally:
        await consumer.stop()


def _log_size(replica: Replica) -> int:
    return replica.log_file.stat().st_size if replica.log_file.exists() else 0


def _assigned_since(replica: Replica, offset: int) -> list[str]:
    """The nrm.identification partitions a replica was last assigned, from its log
    after ``offset`` (its consumer logs "partitions assigned" with the list)."""
    with replica.log_file.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    assigned: list[str] = []
    for line in lines:
        if "partitions assigned" not in line:
            continue
        try:
            partitions = json.loads(line).get("partitions") or []
        except ValueError:
            continue
        mine = sorted(p for p in partitions if p.startswith(f"{IDENTIFICATION_TOPIC}:"))
        if mine:
            assigned = mine
    return assigned

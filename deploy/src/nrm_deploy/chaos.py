"""The chaos suite: the cluster topology under an open-loop load and injected faults.

``make chaos`` runs the full profile (at least 20 leader kills, all brokers down 60 s
and 5 min, every replica killed in turn, whole services killed mid-burst, PostgreSQL
stopped 30 s, the same events delivered twice, a consumer-group rebalance mid-batch);
``make test`` runs the ci profile (a few leader kills, one 60 s outage, a replica and a
service kill, duplicates) through tests/test_chaos.py.

Writes ``<report dir>/chaos-<profile>.json`` and ``.md``; exits 1 unless nothing
was lost or doubled, every acknowledged decision had its referral case within 60 s of
the brokers' return, and every backbone topic has RF 3 and min ISR 2.

    python -m nrm_deploy.chaos --profile full [--var-dir var] [--report-dir var/chaos]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.chaos_cases import processed_identification_events, referral_cases
from nrm_deploy.chaos_faults import Chaos, Fault
from nrm_deploy.chaos_kafka import topic_durability
from nrm_deploy.chaos_load import Load
from nrm_deploy.chaos_report import summarise, write
from nrm_deploy.kafka_jars import repo_root
from nrm_deploy.topology import (
    MIN_INSYNC_REPLICAS,
    REPLICAS,
    REPLICATION_FACTOR,
    ClusterTopology,
    TopologyPorts,
)
from nrm_deploy.topology_run import ensure_keys

RECOVERY_LIMIT_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class Profile:
    rate: float  # victims per second
    warmup_seconds: float
    settle_seconds: float  # load without faults between two faults
    leader_kills: int
    replica_kills: list[tuple[str, int]]
    service_kills: list[str]
    duplicates: bool
    rebalance: bool
    postgres_down_seconds: float | None
    outages: list[float] = field(default_factory=list)


PROFILES = {
    "ci": Profile(
        rate=3.0,
        warmup_seconds=10.0,
        settle_seconds=5.0,
        leader_kills=3,
        replica_kills=[("referral", 1)],
        service_kills=["referral"],
        duplicates=True,
        rebalance=False,
        postgres_down_seconds=None,
        outages=[60.0],
    ),
    "full": Profile(
        rate=4.0,
        warmup_seconds=15.0,
        settle_seconds=10.0,
        leader_kills=20,
        replica_kills=[(name, n) for name in SERVICES for n in range(1, REPLICAS + 1)],
        service_kills=["identification", "referral"],
        duplicates=True,
        rebalance=True,
        postgres_down_seconds=30.0,
        outages=[60.0, 300.0],
    ),
}


def fault_plan(chaos: Chaos, profile: Profile) -> list[Callable[[], Awaitable[Fault]]]:
    """The faults in order: the brief ones first, the long outages last."""
    plan: list[Callable[[], Awaitable[Fault]]] = [
        chaos.leader_kill for _ in range(profile.leader_kills)
    ]
    plan += [partial(chaos.replica_kill, s, n) for s, n in profile.replica_kills]
    plan += [partial(chaos.service_kill, s) for s in profile.service_kills]
    if profile.duplicates:
        plan.append(chaos.duplicate_delivery)
    if profile.rebalance:
        plan.append(chaos.rebalance)
    if profile.postgres_down_seconds is not None:
        plan.append(partial(chaos.postgres_down, profile.postgres_down_seconds))
    plan += [partial(chaos.brokers_down, seconds) for seconds in profile.outages]
    return plan


async def drain(topology: ClusterTopology, load: Load, within: float) -> None:
    """Until every acknowledged decision has its referral case, or ``within`` seconds."""
    assert topology.postgres is not None
    deadline = time.monotonic() + within
    wanted = {d.case_id for d in load.acknowledged()}
    while time.monotonic() < deadline:
        cases = await referral_cases(topology.postgres.port)
        if wanted <= cases.count.keys():
            return
        await asyncio.sleep(2.0)


async def exercise(topology: ClusterTopology, profile: Profile, name: str) -> dict[str, Any]:
    assert topology.kafka is not None and topology.postgres is not None
    started = time.monotonic()
    load = Load(topology.url("identification"), topology.keys_dir, profile.rate)
    chaos = Chaos(topology, load)
    running = asyncio.create_task(load.run())
    checks: dict[str, Any] = {}
    try:
        await asyncio.sleep(profile.warmup_seconds)
        durability = await topic_durability(topology.kafka.bootstrap_servers)
        checks["topics"] = durability
        checks["topics_durable"] = bool(durability) and all(
            t["replication_factor"] >= REPLICATION_FACTOR
            and t["min_insync_replicas"] >= MIN_INSYNC_REPLICAS
            for t in durability.values()
        )
        for inject in fault_plan(chaos, profile):
            await inject()
            # Each fault's recovery is its own: the next one begins once every decision
            # acknowledged so far has its case (or the drain limit passed, which the
            # report then shows). Otherwise a backlog still draining after one outage
            # waits out the next, and is counted as the first one's recovery.
            await drain(topology, load, DRAIN_TIMEOUT_SECONDS)
            await asyncio.sleep(profile.settle_seconds)
    finally:
        load.stop()
        await running
    await drain(topology, load, DRAIN_TIMEOUT_SECONDS)
    cases = await referral_cases(topology.postgres.port)
    checks["referral_processed_identification_events"] = await processed_identification_events(
        topology.postgres.port
    )
    moved = [f.details for f in chaos.faults if f.details.get("replica", "").startswith("referral")]
    checks["referral_partitions_after_replica_kill"] = [m["partitions_taken_over"] for m in moved]
    return summarise(name, load, cases, chaos.faults, checks, time.monotonic() - started)


def passed(report: dict[str, Any]) -> bool:
    recovery = report["recovery_seconds"]
    return (
        report["lost"] == 0
        and report["doubled"] == 0
        and report["acknowledged"] > 0
        and recovery["broker_outage_unrecovered"] == 0
        and (recovery["max_after_broker_outage"] or 0.0) <= RECOVERY_LIMIT_SECONDS
        and report["checks"]["topics_durable"]
        and report["checks"]["referral_processed_identification_events"]["doubled"] == 0
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nrm-chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--var-dir", type=Path, default=None, help="default <repo>/var")
    parser.add_argument("--report-dir", type=Path, default=None, help="default <var>/chaos")
    parser.add_argument("--base-port", type=int, default=18001, help="first load balancer")
    parser.add_argument("--broker-port", type=int, default=29092, help="first broker")
    args = parser.parse_args(argv)
    # The runner's own admin clients ask a cluster with brokers down by design: their
    # "Unable connect" lines would bury the report. The services' logs keep theirs.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    var_dir = (args.var_dir or repo_root() / "var").resolve()
    keys_dir = var_dir / "keys"
    ensure_keys(keys_dir)
    ports = TopologyPorts(
        base=args.base_port,
        replica_base=args.base_port + 100,
        broker_base=args.broker_port,
        controller_base=args.broker_port + 100,
        postgres=args.broker_port + 340,
    )
    topology = ClusterTopology(
        var_dir / "chaos" / f"cluster-{args.profile}",
        keys_dir,
        ports,
        settings={"OUTBOX_POLL_SECONDS": "0.5", "LOG_LEVEL": "INFO"},
    )
    print(f"chaos: starting the cluster topology ({args.profile} profile) ...", flush=True)
    topology.start()
    try:
        report = asyncio.run(exercise(topology, PROFILES[args.profile], args.profile))
    finally:
        topology.stop()
    json_file, markdown_file = write(report, args.report_dir or var_dir / "chaos")
    print(markdown_file.read_text(), flush=True)
    print(f"chaos: report in {json_file} and {markdown_file}", flush=True)
    return 0 if passed(report) else 1


if __name__ == "__main__":
    sys.exit(main())

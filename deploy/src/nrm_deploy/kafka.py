"""Run a real Apache Kafka broker (KRaft) locally, without Docker.

Python API (test fixtures, the stack runner)::

    from nrm_deploy.kafka import KafkaCluster, external_bootstrap, free_port

    with KafkaCluster(tmp_path / "kafka", nodes=1, ports=[free_port()]) as kafka:
        ...  # kafka.bootstrap_servers == "127.0.0.1:<port>"

CLI (``nrm-kafka`` or ``python -m nrm_deploy.kafka``)::

    nrm-kafka fetch                       # fetch the broker jars with Maven (once)
    nrm-kafka start [--port 9092] [--nodes 1|3] [--data-dir var/kafka] [--heap-mb 384]
    nrm-kafka start --secure              # SASL_SSL + SCRAM principals + ACLs (var/kafka-secure)
    nrm-kafka status [--data-dir var/kafka]

``start`` runs in the foreground until Ctrl-C/SIGTERM. When ``KAFKA_BOOTSTRAP_SERVERS``
is set, that cluster is used and nothing is started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from aiokafka.errors import KafkaError

from nrm_deploy.kafka_cluster import BOOTSTRAP_ENV, KafkaCluster, external_bootstrap
from nrm_deploy.kafka_jars import (
    BROKER_JAR_PREFIX,
    KafkaLauncherError,
    ToolMissingError,
    ensure_kafka_jars,
    repo_root,
)
from nrm_deploy.kafka_layout import ClusterLayout, free_port
from nrm_deploy.kafka_node import KafkaStartError
from nrm_deploy.kafka_ready import fetch_listed_node_ids, run_blocking
from nrm_deploy.kafka_security import KafkaSecurity

__all__ = [
    "KafkaCluster",
    "KafkaLauncherError",
    "KafkaStartError",
    "ToolMissingError",
    "ensure_kafka_jars",
    "external_bootstrap",
    "free_port",
    "main",
]

DEFAULT_PORT = 9092
DEFAULT_HEAP_MB = 384
WATCH_INTERVAL_SECONDS = 0.5


def kafka_version(libs_dir: Path) -> str:
    """The Kafka version in the jar cache, read from the broker jar's file name."""
    for jar in libs_dir.glob(f"{BROKER_JAR_PREFIX}*.jar"):
        return jar.name.removeprefix(BROKER_JAR_PREFIX).removesuffix(".jar")
    return "unknown"


def default_data_dir() -> Path:
    """``<repo>/var/kafka``: gitignored, and the same wherever the CLI is run from."""
    return repo_root() / "var" / "kafka"


def build_parser() -> argparse.ArgumentParser:
    """The ``nrm-kafka`` command line."""
    parser = argparse.ArgumentParser(
        prog="nrm-kafka", description="Run a local Apache Kafka (KRaft) broker without Docker."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="fetch the broker jars with Maven if missing or stale")

    start = commands.add_parser("start", help="start a broker/cluster in the foreground")
    start.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="client port of node 1; node N listens on port+N-1 (default %(default)s)",
    )
    start.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="node count")
    start.add_argument("--data-dir", type=Path, help="storage (default <repo>/var/kafka)")
    start.add_argument("--heap-mb", type=int, default=DEFAULT_HEAP_MB, help="JVM heap per node")
    start.add_argument("--timeout", type=float, default=90, help="seconds to wait until ready")
    start.add_argument(
        "--secure",
        action="store_true",
        help="SASL_SSL listeners, one SCRAM principal per service, deny-by-default ACLs "
        "(default data dir <repo>/var/kafka-secure; credentials in <data dir>/security)",
    )

    status = commands.add_parser("status", help="show whether the broker(s) run and answer")
    status.add_argument("--data-dir", type=Path, help="storage (default <repo>/var/kafka)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nrm-kafka``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "fetch":
            return fetch_command()
        if args.command == "start":
            return start_command(
                args.port, args.nodes, args.data_dir, args.heap_mb, args.timeout, args.secure
            )
        return status_command(args.data_dir)
    except KafkaLauncherError as error:
        print(f"nrm-kafka: {error}", file=sys.stderr)
        return 1


def fetch_command() -> int:
    """Fetch the jars (a no-op when the cache matches pom.xml) and say where they are."""
    libs_dir = ensure_kafka_jars()
    jars = sorted(libs_dir.glob("*.jar"))
    size_mib = sum(jar.stat().st_size for jar in jars) / 2**20
    print(f"Kafka {kafka_version(libs_dir)}: {len(jars)} jars, {size_mib:.0f} MiB in {libs_dir}")
    return 0


def start_command(
    port: int,
    nodes: int,
    data_dir: Path | None,
    heap_mb: int,
    timeout: float,
    secure: bool = False,
) -> int:
    """Start a cluster, report it, and keep it running until Ctrl-C or SIGTERM."""
    external = external_bootstrap()
    if external is not None:
        print(f"{BOOTSTRAP_ENV}={external} is set: using that cluster, starting no broker")
        return 0
    # A secure cluster keeps its own storage: SCRAM credentials are made at format time.
    data_dir = data_dir or (default_data_dir().with_name("kafka-secure") if secure else None)
    data_dir = data_dir or default_data_dir()
    security = KafkaSecurity.ensure(data_dir / "security") if secure else None
    cluster = KafkaCluster(
        data_dir,
        nodes=nodes,
        ports=[port + i for i in range(nodes)],
        heap_mb=heap_mb,
        security=security,
    )
    previous_handlers = _interrupt_on_stop_signals()
    try:
        return _run_until_interrupted(cluster, timeout)
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)


def _run_until_interrupted(cluster: KafkaCluster, timeout: float) -> int:
    try:
        cluster.start(timeout=timeout)  # on failure or Ctrl-C it stops what it started
    except KeyboardInterrupt:
        return 130
    try:
        version = kafka_version(cluster.files.libs_dir)
        count = len(cluster.nodes)
        print(f"Kafka {version} ({count} node(s)) ready in {cluster.startup_seconds:.1f}s")
        print(f"{BOOTSTRAP_ENV}={cluster.bootstrap_servers}")
        if cluster.security is not None:
            print(
                "secure mode: SASL_SSL/SCRAM-SHA-512, ACLs per service; CA "
                f"{cluster.security.ca_file}, passwords in "
                f"{cluster.security.directory / 'credentials.json'} (service settings: "
                "<PREFIX>KAFKA_SECURITY_PROTOCOL=SASL_SSL, KAFKA_SASL_USERNAME=<service>, "
                "KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE)"
            )
        print(f"data and logs: {cluster.data_dir}; Ctrl-C to stop", flush=True)
        return _watch(cluster)
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()
        print("Kafka stopped", flush=True)


SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _interrupt_on_stop_signals() -> dict[int, SignalHandler]:
    # SIGTERM (systemd, the stack runner, `kill`) should stop the brokers as cleanly
    # as Ctrl-C does, through the same KeyboardInterrupt path. SIGINT is set too
    # because a shell starts background jobs with SIGINT ignored, which Python
    # would inherit, leaving `kill -INT` without effect.
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}


def _watch(cluster: KafkaCluster) -> int:
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        for node in cluster.nodes:
            report = node.exit_report()
            if report is not None:
                print(f"nrm-kafka: broker died: {report}", file=sys.stderr)
                return 1


def status_command(data_dir: Path | None) -> int:
    """Print each node's process state and whether the cluster answers; 0 if all is up."""
    data_dir = (data_dir or default_data_dir()).resolve()
    layout = ClusterLayout.load(data_dir)
    if layout is None:
        print(f"no Kafka cluster in {data_dir}")
        return 1
    cluster = KafkaCluster(data_dir, nodes=len(layout.broker_ports))
    pids = [node.running_pid() for node in cluster.nodes]
    for node, pid in zip(cluster.nodes, pids, strict=True):
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"node {node.settings.node_id} 127.0.0.1:{node.settings.broker_port}: {state}")
    if not any(pids):
        return 1
    try:
        listed = run_blocking(lambda: fetch_listed_node_ids(cluster.bootstrap_servers))
    except (KafkaError, OSError, TimeoutError) as error:
        print(f"cluster does not answer: {type(error).__name__}: {error}")
        return 1
    print(f"{BOOTSTRAP_ENV}={cluster.bootstrap_servers}; metadata lists nodes {sorted(listed)}")
    return 0 if all(pids) and len(listed) == len(pids) else 1


if __name__ == "__main__":
    sys.exit(main())

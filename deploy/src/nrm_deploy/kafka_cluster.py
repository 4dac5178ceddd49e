"""A local Kafka cluster: one or more KRaft combined-mode nodes on 127.0.0.1.

The data directory is the cluster's identity: it keeps the cluster id and the ports
in ``cluster.json`` and each node's storage under ``node-<id>/``, so starting a
:class:`KafkaCluster` again on the same directory reuses the same storage (no
reformat) and, unless told otherwise, the same ports.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from nrm_deploy.kafka_acls import backbone_bindings, grant
from nrm_deploy.kafka_jars import (
    KafkaFiles,
    KafkaLauncherError,
    ensure_kafka_jars,
    find_java,
    kafka_files,
)
from nrm_deploy.kafka_layout import free_port, free_ports, port_is_free, resolve_layout
from nrm_deploy.kafka_node import KafkaNode, KafkaStartError, NodeSettings
from nrm_deploy.kafka_ready import run_blocking, wait_until_ready
from nrm_deploy.kafka_security import KafkaSecurity

__all__ = [
    "BOOTSTRAP_ENV",
    "KafkaCluster",
    "KafkaLauncherError",
    "KafkaStartError",
    "external_bootstrap",
    "free_port",
]

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MIN_HEAP_MB = 128  # below this a broker runs out of heap while loading metadata
# Replication is capped at 3 (RF 3 + min ISR 2 survives one lost node); a cluster
# with fewer nodes replicates to all of them.
MAX_REPLICATION_FACTOR = 3


def external_bootstrap() -> str | None:
    """The bootstrap servers of an externally run cluster (``$KAFKA_BOOTSTRAP_SERVERS``), if set."""
    value = os.environ.get(BOOTSTRAP_ENV, "").strip()
    return value or None


class KafkaCluster:
    """One or more KRaft combined-mode (broker + controller) Kafka nodes on 127.0.0.1.

    ``ports`` are the client (PLAINTEXT) ports, one per node; without them the
    ports saved in ``data_dir`` are reused, else free ones are picked. Controller
    ports likewise. Use as a context manager, or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self,
        data_dir: Path,
        nodes: int = 1,
        ports: list[int] | None = None,
        heap_mb: int = 384,
        cluster_id: str | None = None,
        controller_ports: list[int] | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if heap_mb < MIN_HEAP_MB:
            raise ValueError(f"heap_mb must be at least {MIN_HEAP_MB}")
        self.data_dir = Path(data_dir).resolve()
        self.files: KafkaFiles = kafka_files()
        self.layout = resolve_layout(self.data_dir, nodes, ports, controller_ports, cluster_id)
        self.replication_factor = min(nodes, MAX_REPLICATION_FACTOR)
        # With RF 3, 2 in-sync copies are required: acks=all survives one lost node
        # and an acknowledged event is always on at least two disks.
        self.min_insync_replicas = 2 if self.replication_factor >= 3 else 1
        self.heap_mb = heap_mb
        # Secure mode: SASL_SSL listeners, SCRAM principals, deny-by-default ACLs.
        self.security = security
        self.nodes = self._make_nodes()
        self.bootstrap_servers = ",".join(f"127.0.0.1:{p}" for p in self.layout.broker_ports)
        self.startup_seconds: float | None = None  # JVM launch -> metadata ready

    def _make_nodes(self) -> list[KafkaNode]:
        layout = self.layout
        voters = ",".join(
            f"{index + 1}@127.0.0.1:{port}" for index, port in enumerate(layout.controller_ports)
        )
        nodes = []
        for index, (broker_port, controller_port) in enumerate(
            zip(layout.broker_ports, layout.controller_ports, strict=True)
        ):
            settings = NodeSettings(
                node_id=index + 1,
                broker_port=broker_port,
                controller_port=controller_port,
                quorum_voters=voters,
                replication_factor=self.replication_factor,
                min_insync_replicas=self.min_insync_replicas,
                heap_mb=self.heap_mb,
                security=self.security,
            )
            nodes.append(KafkaNode(self.data_dir / f"node-{index + 1}", settings, self.files))
        return nodes

    def _replace_busy_controller_ports(self) -> None:
        # Controller ports come from the ephemeral range, so by a later start some
        # client connection may hold one. Clients never see controller ports and a
        # static quorum keeps them only in server.properties, so while the whole
        # cluster is down a taken one can simply be swapped for a free one.
        busy = [port for port in self.layout.controller_ports if not port_is_free(port)]
        if not busy or self.running_nodes():
            return
        replacements = dict(zip(busy, free_ports(len(busy)), strict=True))
        ports = [replacements.get(port, port) for port in self.layout.controller_ports]
        self.layout = dataclasses.replace(self.layout, controller_ports=ports)
        self.nodes = self._make_nodes()

    @property
    def cluster_id(self) -> str:
        """The KRaft cluster id that the nodes' storage was (or will be) formatted with."""
        return self.layout.cluster_id

    def start(self, timeout: float = 90) -> None:
        """Format storage where needed, start every node and wait until clients see them all.

        Raises ``KafkaStartError`` with the tail of the broker logs if a node fails or
        the cluster is not ready within ``timeout`` seconds; nodes started are stopped.
        """
        deadline = time.monotonic() + timeout
        java = find_java()
        ensure_kafka_jars(self.files)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._replace_busy_controller_ports()
        self.layout.save(self.data_dir)
        try:
            self._format_and_launch(java, self.nodes)
            launched_at = time.monotonic()
            self._wait_ready(self.nodes, deadline)
            self.startup_seconds = time.monotonic() - launched_at
            if self.security is not None:
                self.grant_service_access()
        except BaseException:
            self.stop()
            raise
        _track(self)

    def stop(self, timeout: float = 30) -> None:
        """Stop every node: SIGTERM (controlled shutdown), SIGKILL after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            node.signal_stop()
        for node in self.nodes:
            node.wait_stopped(deadline)
        _untrack(self)

    def stop_node(self, index: int, timeout: float = 30, kill: bool = False) -> None:
        """Stop node ``index`` (0-based) only; ``kill=True`` simulates a crash (SIGKILL)."""
        node = self.nodes[index]
        node.signal_stop(kill=kill)
        node.wait_stopped(time.monotonic() + timeout)

    def start_node(self, index: int, timeout: float = 90) -> None:
        """Start node ``index`` (0-based) again and wait until clients see it."""
        deadline = time.monotonic() + timeout
        node = self.nodes[index]
        try:
            self._format_and_launch(find_java(), [node])
            self._wait_ready([n for n in self.nodes if n is node or n.is_running()], deadline)
        except BaseException:
            node.signal_stop()
            node.wait_stopped(time.monotonic() + 30)
            raise

    def client_options(self, principal: str | None = None) -> dict[str, Any]:
        """aiokafka options to connect as ``principal`` (default the admin); {} if PLAINTEXT."""
        if self.security is None:
            return {}
        if principal is None:
            return self.security.client_options()
        return self.security.client_options(principal)

    def grant_service_access(self, topic_prefix: str = "") -> None:
        """Grant every backbone service its ACLs for topics named with ``topic_prefix``
        (secure mode only; idempotent: an existing ACL is simply created again)."""
        if self.security is None:
            raise KafkaLauncherError("ACLs need the secure mode (security=KafkaSecurity...)")
        bindings = backbone_bindings(topic_prefix)
        options = self.client_options()
        run_blocking(lambda: grant(self.bootstrap_servers, bindings, options))

    def running_nodes(self) -> list[KafkaNode]:
        """The nodes whose JVM this launcher started and that are still alive."""
        return [node for node in self.nodes if node.is_running()]

    def _format_and_launch(self, java: Path, nodes: list[KafkaNode]) -> None:
        starting = [node for node in nodes if not node.is_running()]
        for node in starting:
            node.refuse_if_started_elsewhere()
            busy = [
                port
                for port in (node.settings.broker_port, node.settings.controller_port)
                if not port_is_free(port)
            ]
            if busy:
                raise KafkaStartError(
                    f"port(s) {busy} on 127.0.0.1 already in use: is another broker running? "
                    f"(to use an existing cluster, set {BOOTSTRAP_ENV})"
                )
            node.write_properties()
        unformatted = [node for node in starting if not node.is_formatted()]
        # Each format is a short JVM run; in parallel they cost about one.
        formatters = [(node, node.begin_format(java, self.cluster_id)) for node in unformatted]
        try:
            for node, formatter in formatters:
                node.finish_format(formatter)
        except BaseException:
            # Interrupted (Ctrl-C) or failed: no formatter JVM may outlive the launcher.
            for _node, formatter in formatters:
                if formatter.poll() is None:
                    formatter.kill()
                    formatter.wait()
            raise
        for node in starting:
            node.launch(java)

    def _wait_ready(self, expected: list[KafkaNode], deadline: float) -> None:
        # ``expected`` rather than the nodes alive now: one that died right after
        # launch must fail the start, not be left out of the readiness check.
        ports = [node.settings.broker_port for node in expected]
        try:
            run_blocking(
                lambda: wait_until_ready(
                    bootstrap_servers=",".join(f"127.0.0.1:{p}" for p in ports),
                    broker_ports=ports,
                    node_ids={node.settings.node_id for node in expected},
                    replication_factor=min(self.replication_factor, len(expected)),
                    deadline=deadline,
                    check_alive=lambda: self._raise_if_any_died(expected),
                    client_options=self.client_options(),
                )
            )
        except TimeoutError as error:
            tails = "\n".join(node.log_tails() for node in expected)
            raise KafkaStartError(f"Kafka at {self.bootstrap_servers}: {error}\n{tails}") from None

    @staticmethod
    def _raise_if_any_died(nodes: list[KafkaNode]) -> None:
        for node in nodes:
            report = node.exit_report()
            if report is not None:
                raise KafkaStartError(report)

    def __enter__(self) -> KafkaCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# Clusters still running when the interpreter exits (a test that forgot to stop,
# an uncaught error) are stopped so no broker JVM outlives its launcher.
_running: set[KafkaCluster] = set()
_exit_hook_installed = False


def _track(cluster: KafkaCluster) -> None:
    global _exit_hook_installed
    if not _exit_hook_installed:
        atexit.register(_stop_all_running)
        _exit_hook_installed = True
    _running.add(cluster)


def _untrack(cluster: KafkaCluster) -> None:
    _running.discard(cluster)


def _stop_all_running() -> None:
    for cluster in list(_running):
        cluster.stop()

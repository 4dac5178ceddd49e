"""The production-like topology on one machine: what ``nrm-stack --topology cluster``
runs and what the chaos suite breaks.

- 3 KRaft brokers on fixed ports below the kernel's ephemeral range (32768-60999 here):
  a broker restarted on an ephemeral port can find it taken by some client socket.
  The services create their topics with RF 3; the brokers' min.insync.replicas is 2.
- One PostgreSQL server, a database per service (replicas of a service share it).
- Two replicas of every service, one consumer group per service (the replicas share
  the group, so partitions are split between them and move on a kill).
- HAProxy in front of each service's replicas, on the ports clients use.

Everything lives in ``<var>/cluster`` and is thrown away at the next start: the
databases and the topics are one state, and a fresh PostgreSQL beside old topics
would replay events into an empty database.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from nrm_deploy.catalogue import SERVICES, ServiceKind
from nrm_deploy.kafka_cluster import KafkaCluster
from nrm_deploy.kafka_layout import port_is_free
from nrm_deploy.load_balancer import Backend, LoadBalancer
from nrm_deploy.postgres import PostgresServer

HOST = "127.0.0.1"
BROKERS = 3
REPLICAS = 2
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class TopologyPorts:
    """Every port of the topology, all fixed and below the ephemeral range.

    ``base``+i: service i's load balancer (what clients call); ``replica_base``+10i+r-1:
    its replica r (1-based); ``broker_base``+n: broker n (controller ``controller_base``+n).
    """

    base: int = 8001
    replica_base: int = 8101
    broker_base: int = 29092
    controller_base: int = 29192
    postgres: int = 29432

    def balancer(self, index: int) -> int:
        return self.base + index

    def replica(self, index: int, replica: int) -> int:
        return self.replica_base + 10 * index + replica - 1

    def brokers(self) -> list[int]:
        return [self.broker_base + n for n in range(BROKERS)]

    def controllers(self) -> list[int]:
        return [self.controller_base + n for n in range(BROKERS)]


def database_name(kind: ServiceKind) -> str:
    return kind.name.replace("-", "_")


@dataclass
class Replica:
    """One uvicorn process of one service."""

    kind: ServiceKind
    number: int  # 1-based, as the load balancer names it
    port: int
    work_dir: Path
    environment: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.kind.name}-{self.number}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.work_dir / f"{self.name}.log"

    def launch(self) -> None:
        """Start the process without waiting (its output appended to its log)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.kind.app_factory,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            # Graceful shutdown must not wait for a load balancer's idle keep-alive.
            "--timeout-graceful-shutdown",
            "10",
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, **self.environment},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self, path: str = "/readyz") -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while not self.answers(path):
            if not self.is_running():
                raise TopologyError(f"{self.name} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TopologyError(f"{self.name} not ready in {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no flush, no offset commit, no goodbye to the consumer group."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), SIGKILL if it takes too long."""
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM once: a second one would make uvicorn skip its graceful shutdown."""
        self._signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum: int) -> None:
        if self.is_running():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)


class TopologyError(RuntimeError):
    """The topology could not start or a part of it died."""


@dataclass
class ClusterTopology:
    """Brokers, PostgreSQL, replicas and load balancer; :meth:`start` and :meth:`stop`."""

    work_dir: Path
    keys_dir: Path
    ports: TopologyPorts = field(default_factory=TopologyPorts)
    # Extra settings for every replica (``KEY``: value, without the service's prefix).
    settings: dict[str, str] = field(default_factory=dict)
    kafka: KafkaCluster | None = None
    postgres: PostgresServer | None = None
    balancer: LoadBalancer | None = None
    replicas: dict[str, list[Replica]] = field(default_factory=dict)

    def refuse_busy_ports(self) -> None:
        ports = [*self.ports.brokers(), *self.ports.controllers(), self.ports.postgres]
        for index, _name in enumerate(SERVICES):
            ports.append(self.ports.balancer(index))
            ports += [self.ports.replica(index, r) for r in range(1, REPLICAS + 1)]
        busy = [port for port in ports if not port_is_free(port)]
        if busy:
            raise TopologyError(f"port(s) in use on {HOST}: {busy}; is another topology running?")

    def start(self) -> None:
        """Start everything and wait until every replica answers ``/readyz``."""
        self.refuse_busy_ports()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        self.work_dir.chmod(0o755)  # the PostgreSQL server may run as another user
        try:
            self.kafka = KafkaCluster(
                self.work_dir / "kafka",
                nodes=BROKERS,
                ports=self.ports.brokers(),
                controller_ports=self.ports.controllers(),
            )
            self.kafka.start(timeout=180)
            self.postgres = PostgresServer(self.work_dir / "postgres", self.ports.postgres)
            self.postgres.start()
            for kind in SERVICES.values():
                self.postgres.create_database(database_name(kind))
            self._make_replicas()
            # One replica of each first: it migrates its database alone; the second
            # starts on a migrated schema (two migrating at once would race).
            for wave in range(REPLICAS):
                started = [replicas[wave] for replicas in self.replicas.values()]
                for replica in started:
                    replica.launch()
                for replica in started:
                    replica.wait_ready()
            self.balancer = LoadBalancer(self.work_dir / "haproxy", self._backends())
            self.balancer.start()
            self._wait_balanced()
        except BaseException:
            self.stop()
            raise

    def _make_replicas(self) -> None:
        assert self.kafka is not None and self.postgres is not None
        for index, kind in enumerate(SERVICES.values()):
            self.replicas[kind.name] = [
                Replica(
                    kind,
                    number,
                    self.ports.replica(index, number),
                    self.work_dir / "services",
                    self.replica_environment(kind, self.ports.replica(index, number)),
                )
                for number in range(1, REPLICAS + 1)
            ]

    def replica_environment(self, kind: ServiceKind, port: int) -> dict[str, str]:
        """One replica's settings: the cluster, its service's database, RF 3."""
        assert self.kafka is not None and self.postgres is not None
        settings = {
            "ENVIRONMENT": "dev",
            "PORT": str(port),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "KAFKA_REPLICATION_FACTOR": str(REPLICATION_FACTOR),
            "KAFKA_MIN_INSYNC_REPLICAS": str(MIN_INSYNC_REPLICAS),
            # A killed replica's partitions move after this much silence, not 10 s.
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "DATABASE_URL": self.postgres.url(database_name(kind)),
            "JWT_JWKS_FILE": str(self.keys_dir / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(self.keys_dir / "field-keys.json"),
            **self.settings,
        }
        return {f"{kind.env_prefix}{key}": value for key, value in settings.items()}

    def _backends(self) -> list[Backend]:
        return [
            Backend(name, self.ports.balancer(index), tuple(r.port for r in self.replicas[name]))
            for index, name in enumerate(SERVICES)
        ]

    def _wait_balanced(self) -> None:
        deadline = time.monotonic() + 30
        for name in SERVICES:
            url = f"{self.url(name)}/healthz"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if int(response.status) == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TopologyError(f"load balancer of {name} does not answer on {url}")
                time.sleep(0.2)

    def url(self, service: str) -> str:
        """Where clients call ``service``: its load balancer."""
        return f"http://{HOST}:{self.ports.balancer(list(SERVICES).index(service))}"

    def all_replicas(self) -> list[Replica]:
        return [replica for replicas in self.replicas.values() for replica in replicas]

    def dead_parts(self) -> list[str]:
        """What died on its own (nothing the caller stopped): for a watching loop."""
        dead = [r.name for r in self.all_replicas() if r.process is not None and not r.is_running()]
        if self.balancer is not None and self.balancer.exit_report():
            dead.append("haproxy")
        return dead

    def stop(self) -> None:
        """Services first (they flush against live brokers and database), then the rest."""
        for replica in self.all_replicas():
            replica.terminate()
        for replica in self.all_replicas():
            replica.wait_stopped()
        if self.balancer is not None:
            self.balancer.stop()
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def describe(self) -> dict[str, object]:
        """What runs where (the banner, and the chaos report's header)."""
        assert self.kafka is not None and self.postgres is not None
        return {
            "brokers": self.kafka.bootstrap_servers,
            "postgresql": f"{HOST}:{self.postgres.port}",
            "services": {
                name: {"url": self.url(name), "replicas": [r.url for r in replicas]}
                for name, replicas in self.replicas.items()
            },
        }

    def banner(self) -> str:
        return json.dumps(self.describe(), indent=2)

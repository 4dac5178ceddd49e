"""One Kafka node: a KRaft combined-mode (broker + controller) JVM on 127.0.0.1.

A node owns ``<data dir>/node-<id>/``::

    server.properties   rendered from deploy/kafka/server.properties.template
    data/               log.dirs: partitions and the KRaft metadata log (meta.properties)
    logs/server.log     log4j2 output (deploy/kafka/log4j2.yaml)
    logs/stdout.log     the JVM's own stdout/stderr (crashes before log4j is up)
    kafka.pid           while the launcher runs it
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from nrm_deploy.kafka_jars import KafkaFiles, KafkaLauncherError, classpath
from nrm_deploy.kafka_security import KafkaSecurity

BROKER_MAIN_CLASS = "kafka.Kafka"
# Kafka 4.1 keeps the storage formatter in the core (Scala) jar, as kafka-storage.sh does.
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
FORMAT_TIMEOUT_SECONDS = 120
LOG_TAIL_LINES = 40


class KafkaStartError(KafkaLauncherError):
    """A node could not be formatted or started, or did not become ready in time."""


@dataclass(frozen=True)
class NodeSettings:
    """What differs between the nodes of one cluster, and what they share."""

    node_id: int
    broker_port: int
    controller_port: int
    quorum_voters: str  # "1@127.0.0.1:9093,2@..."
    replication_factor: int
    min_insync_replicas: int
    heap_mb: int
    # Secure mode (SASL_SSL, SCRAM principals, ACLs); None: PLAINTEXT.
    security: KafkaSecurity | None = None


class KafkaNode:
    """One broker+controller JVM, started and stopped by the launcher."""

    def __init__(self, node_dir: Path, settings: NodeSettings, files: KafkaFiles) -> None:
        self.node_dir = node_dir
        self.settings = settings
        self.files = files
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def properties_path(self) -> Path:
        return self.node_dir / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.node_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.node_dir / "logs"

    @property
    def pid_path(self) -> Path:
        return self.node_dir / "kafka.pid"

    def is_formatted(self) -> bool:
        """Whether storage was formatted already (so a restart must not format again)."""
        return (self.data_dir / "meta.properties").is_file()

    def is_running(self) -> bool:
        """Whether this launcher's JVM for the node is alive."""
        return self.process is not None and self.process.poll() is None

    def write_properties(self) -> None:
        """Render server.properties; done on every start so template edits take effect."""
        template = Template(self.files.server_template.read_text())
        s = self.settings
        rendered = template.substitute(
            node_id=s.node_id,
            broker_port=s.broker_port,
            controller_port=s.controller_port,
            quorum_voters=s.quorum_voters,
            log_dirs=self.data_dir,
            replication_factor=s.replication_factor,
            min_insync_replicas=s.min_insync_replicas,
        )
        if s.security is not None:
            rendered += s.security.broker_properties(s.broker_port, s.controller_port)
        self.node_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        self.properties_path.write_text(rendered)
        if s.security is not None:
            self.properties_path.chmod(0o600)  # it holds the admin's password

    def begin_format(self, java: Path, cluster_id: str) -> subprocess.Popen[bytes]:
        """Start formatting storage; the caller waits, so several nodes format in parallel."""
        command = [
            *self._java_command(java, heap_mb=128),
            STORAGE_TOOL_CLASS, "format",
            "--cluster-id", cluster_id, "--config", str(self.properties_path),
        ]  # fmt: skip
        if self.settings.security is not None:
            # SCRAM credentials live in the metadata log: created at format time, so the
            # broker can authenticate its own inter-broker connection on first start.
            command += self.settings.security.scram_arguments()
        with (self.logs_dir / "format.log").open("wb") as output:
            return subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def finish_format(self, formatter: subprocess.Popen[bytes]) -> None:
        """Wait for :meth:`begin_format`'s process; raise with its output if it failed."""
        try:
            code = formatter.wait(timeout=FORMAT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            formatter.kill()
            formatter.wait()
            code = -1
        if code != 0 or not self.is_formatted():
            raise KafkaStartError(
                f"formatting node {self.settings.node_id} storage failed (exit {code}):\n"
                + tail(self.logs_dir / "format.log")
            )

    def launch(self, java: Path) -> None:
        """Start the broker JVM in its own session (Ctrl-C in a terminal reaches only us)."""
        if self.is_running():
            return
        command = [
            *self._java_command(java, heap_mb=self.settings.heap_mb),
            BROKER_MAIN_CLASS, str(self.properties_path),
        ]  # fmt: skip
        with (self.logs_dir / "stdout.log").open("ab") as output:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_path.write_text(f"{self.process.pid}\n")

    def _java_command(self, java: Path, heap_mb: int) -> list[str]:
        return [
            str(java),
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            # One GC thread and no region bookkeeping: the smallest footprint for a
            # few-hundred-MiB heap on a 2-core machine; pauses stay in milliseconds.
            "-XX:+UseSerialGC",
            # A broker that ran out of heap is better dead (and reported) than limping.
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.files.log4j_config}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            classpath(self.files.libs_dir),
        ]

    def signal_stop(self, kill: bool = False) -> None:
        """Ask the JVM to stop: SIGTERM runs Kafka's controlled shutdown, SIGKILL does not."""
        if self.process is None or self.process.poll() is not None:
            return
        # The JVM leads its own process group (start_new_session), so this reaches
        # only it and anything it might have spawned.
        os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> None:
        """Wait for the JVM to exit until ``deadline`` (monotonic), then SIGKILL it."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            self.signal_stop(kill=True)
            self.process.wait()
        self.process = None
        self.pid_path.unlink(missing_ok=True)

    def running_pid(self) -> int | None:
        """The pid of a broker running from this node's directory (any launcher's), if any."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_kafka_process(pid) else None

    def refuse_if_started_elsewhere(self) -> None:
        """Raise if another launcher (or a crashed one's orphan) runs this node's storage.

        Kafka's own lock on log.dirs would also refuse, but only after a slow start
        and with a less helpful message.
        """
        pid = self.running_pid()
        if pid is not None:
            raise KafkaStartError(
                f"node {self.settings.node_id} in {self.node_dir} is already running (pid {pid})"
            )

    def exit_report(self) -> str | None:
        """If the JVM died on its own, why (exit code and log tails); else None."""
        if self.process is None:
            return None
        code = self.process.poll()
        if code is None:
            return None
        return f"node {self.settings.node_id} exited with code {code}\n" + self.log_tails()

    def log_tails(self) -> str:
        """The last lines of the node's logs, for error messages."""
        return (
            f"--- {self.logs_dir / 'server.log'} (tail) ---\n"
            + tail(self.logs_dir / "server.log")
            + f"\n--- {self.logs_dir / 'stdout.log'} (tail) ---\n"
            + tail(self.logs_dir / "stdout.log")
        )


def _is_kafka_process(pid: int) -> bool:
    # The pid in a stale pid file may since belong to an unrelated process.
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return BROKER_MAIN_CLASS.encode() in command_line.split(b"\0")


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file, or a note that it does not exist."""
    if not path.is_file():
        return f"({path} does not exist)"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        # Logs can be large; 64 KiB holds far more than LOG_TAIL_LINES lines.
        handle.seek(max(handle.tell() - 65536, 0))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])

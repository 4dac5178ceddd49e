"""``make run`` end to end: the stack runner starts a real Kafka and the four services,
all answer ``/healthz`` within 90 s, and Ctrl-C stops everything, leaving no process."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nrm_deploy.kafka_cluster import BOOTSTRAP_ENV, free_port
from nrm_deploy.kafka_layout import port_is_free

# Starts its own processes: left out of make test-fast.
pytestmark = pytest.mark.broker

HEALTHY_WITHIN_SECONDS = 90.0  # the requirement, on a warm set-up (jars fetched)
STOPPED_WITHIN_SECONDS = 40.0
HEALTHY_LINE = re.compile(r"all healthy in ([0-9.]+)s")
SERVICES = ("identification", "referral", "shelter-registry", "repatriation")


class StackProcess:
    """``python -m nrm_deploy.stack`` as a child, its output read line by line."""

    def __init__(self, var_dir: Path, base_port: int, kafka_port: int) -> None:
        self.var_dir = var_dir
        # Without the variable the stack starts its own broker, as on a fresh machine.
        env = {key: value for key, value in os.environ.items() if key != BOOTSTRAP_ENV}
        command = [
            sys.executable,
            "-m",
            "nrm_deploy.stack",
            "--var-dir",
            str(var_dir),
            "--base-port",
            str(base_port),
            "--kafka-port",
            str(kafka_port),
        ]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # our signals only, as a terminal's Ctrl-C would be
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first output line matching ``pattern``; fail with the output so far."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"stack exited ({self.process.wait()}):\n{self.text()}")
            self.output.append(line)
            if match := pattern.search(line):
                return match
        pytest.fail(f"no {pattern.pattern!r} within {timeout}s:\n{self.text()}")

    def text(self) -> str:
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.output.append(line)
        return "\n".join(self.output)

    def ensure_stopped(self) -> None:
        """After a failed test: SIGTERM (the stack stops its children), SIGKILL at last."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOPPED_WITHIN_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def stack_ports() -> tuple[int, int]:
    """Four consecutive free service ports (base) and a free Kafka port."""
    for _ in range(50):
        base = free_port()
        if all(port_is_free(base + offset) for offset in range(len(SERVICES))):
            return base, free_port()
    raise RuntimeError("no four consecutive free ports found")


@pytest.fixture
def stack(tmp_path: Path, stack_ports: tuple[int, int]) -> Iterator[StackProcess]:
    base_port, kafka_port = stack_ports
    process = StackProcess(tmp_path / "var", base_port, kafka_port)
    try:
        yield process
    finally:
        process.ensure_stopped()


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (Linux ``/proc``).

    Every child of the stack names its var dir on its command line: the broker its
    ``server.properties``, each service its ``--log-config``.
    """
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if text in command:
            found.append(command)
    return found


def accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_starts_everything_healthy_and_ctrl_c_stops_it_all(
    stack: StackProcess,
    stack_ports: tuple[int, int],
    record_property: Callable[[str, object], None],
) -> None:
    base_port, kafka_port = stack_ports
    ports = [base_port + offset for offset in range(len(SERVICES))]
    started = time.monotonic()

    healthy = stack.wait_for_line(HEALTHY_LINE, HEALTHY_WITHIN_SECONDS)

    seconds = float(healthy.group(1))
    record_property("time_to_healthy_seconds", seconds)
    print(f"\nstack: all healthy in {seconds:.1f}s (observed {time.monotonic() - started:.1f}s)")
    assert seconds < HEALTHY_WITHIN_SECONDS
    for name, port in zip(SERVICES, ports, strict=True):
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert response.status_code == 200, f"{name}: {response.text}"

    stopping = time.monotonic()
    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(timeout=STOPPED_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"not stopped within {STOPPED_WITHIN_SECONDS}s:\n{stack.text()}")

    print(f"stack: stopped in {time.monotonic() - stopping:.1f}s")
    assert code == 0, stack.text()
    left = [port for port in [*ports, kafka_port] if accepts_connections(port)]
    assert not left, f"still listening on {left}:\n{stack.text()}"
    if Path("/proc").is_dir():
        assert processes_mentioning(str(stack.var_dir)) == []

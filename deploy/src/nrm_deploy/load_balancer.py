"""HAProxy in front of each service's replicas (the cluster topology's load balancer).

Debian's ``haproxy`` package, one process for all services: a frontend per service on
the port clients use, a backend with that service's replicas. HAProxy rather than a
proxy of our own: it is what an operator would put there, its health checks and
retries are proven, and it costs one small process.

- Health checks on ``/healthz`` (alive), not ``/readyz``: a replica whose broker is
  down still accepts screenings into its outbox; taking every replica out during a
  broker outage would turn an outage the backbone absorbs into refused requests.
- ``retry-on conn-failure empty-response`` with ``redispatch``: a request whose replica
  was just killed is sent to the other replica. Only requests the dead replica never
  answered are retried, so no POST is applied twice by the proxy.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class LoadBalancerUnavailable(RuntimeError):
    """HAProxy is not installed."""


def haproxy_binary() -> Path:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").is_file() else None
    )
    if found is None:
        raise LoadBalancerUnavailable(
            "HAProxy not found: install it (Debian: apt-get install haproxy), "
            "or run `make setup` as root, which does"
        )
    return Path(found)


@dataclass(frozen=True)
class Backend:
    """One service: the port its clients use and its replicas' ports."""

    name: str
    port: int
    replica_ports: tuple[int, ...]


def render_config(backends: list[Backend]) -> str:
    """The haproxy.cfg for ``backends``."""
    lines = [
        "global",
        "    maxconn 4096",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        # Longer than a service's slowest request (a screening waits for the matcher).
        "    timeout client 120s",
        "    timeout server 120s",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
    ]
    for backend in backends:
        lines += [
            f"frontend {backend.name}",
            f"    bind {HOST}:{backend.port}",
            f"    default_backend {backend.name}-replicas",
            f"backend {backend.name}-replicas",
            "    balance roundrobin",
            "    option httpchk GET /healthz",
            *(
                f"    server {backend.name}-{index + 1} {HOST}:{port} check inter 1s fall 2 rise 1"
                for index, port in enumerate(backend.replica_ports)
            ),
        ]
    return "\n".join(lines) + "\n"


class LoadBalancer:
    """One HAProxy process for the given backends, its config and log in ``work_dir``."""

    def __init__(self, work_dir: Path, backends: list[Backend]) -> None:
        self.work_dir = work_dir
        self.backends = backends
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.work_dir / "haproxy.cfg"

    @property
    def log_file(self) -> Path:
        return self.work_dir / "haproxy.log"

    def start(self) -> None:
        binary = haproxy_binary()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.backends))
        subprocess.run(
            [str(binary), "-c", "-q", "-f", str(self.config_file)], check=True, capture_output=True
        )
        with self.log_file.open("ab") as log:
            # -db: stay in the foreground, so this process is the one to stop.
            self.process = subprocess.Popen(
                [str(binary), "-db", "-f", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exit_report(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        return f"haproxy exited with code {self.process.returncode} (log {self.log_file})"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

"""The identity of a local Kafka cluster's data directory: its cluster id and ports.

Saved as ``<data dir>/cluster.json`` when the cluster first starts, so that starting
again on the same directory reuses the storage's cluster id and, unless other ports
are asked for, the same client and controller ports.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from nrm_deploy.kafka_jars import KafkaLauncherError

LAYOUT_FILE = "cluster.json"


# Below the kernel's ephemeral range (32768-60999 here): the kernel never gives one of
# these to a client socket, so a server stopped on one can start on it again. A port the
# kernel picked (bind to port 0) can be taken by an outgoing connection meanwhile, and the
# restarted broker fails with "Address already in use".
SERVER_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, below the ephemeral range."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports below the ephemeral range, from a random place in it
    (so that concurrent test runs rarely try the same ones)."""
    start = random.randrange(len(SERVER_PORTS))
    chosen: list[int] = []
    for step in range(len(SERVER_PORTS)):
        port = SERVER_PORTS[(start + step) % len(SERVER_PORTS)]
        if _nobody_listens(port) and port_is_free(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise KafkaLauncherError(f"no {count} free ports in {SERVER_PORTS}")


def _nobody_listens(port: int) -> bool:
    """SO_REUSEADDR binds can share a port on some systems; a connect tells for sure."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def port_is_free(port: int) -> bool:
    """Whether a server could bind 127.0.0.1:``port`` now.

    SO_REUSEADDR as the JVM sets it, so connections of a just-stopped broker that
    linger in TIME_WAIT do not block a restart on the same port.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def new_cluster_id() -> str:
    """A Kafka cluster id: the 16 bytes of a UUID4 in base64url without padding (22 chars).

    Never one starting with "-": the storage tool would read it as an option and fail
    (about one start in 64).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class ClusterLayout:
    """What must stay the same across restarts of one data directory."""

    cluster_id: str
    broker_ports: list[int]
    controller_ports: list[int]

    @classmethod
    def load(cls, data_dir: Path) -> ClusterLayout | None:
        """The layout saved in ``data_dir``, or None for a new cluster."""
        path = data_dir / LAYOUT_FILE
        if not path.is_file():
            return None
        saved = json.loads(path.read_text())
        return cls(
            cluster_id=str(saved["cluster_id"]),
            broker_ports=[int(p) for p in saved["broker_ports"]],
            controller_ports=[int(p) for p in saved["controller_ports"]],
        )

    def save(self, data_dir: Path) -> None:
        """Persist the layout so a later start reuses the cluster id and ports."""
        (data_dir / LAYOUT_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def resolve_layout(
    data_dir: Path,
    nodes: int,
    ports: list[int] | None,
    controller_ports: list[int] | None,
    cluster_id: str | None,
) -> ClusterLayout:
    """The layout to run: explicit arguments, else what ``data_dir`` saved, else new."""
    saved = ClusterLayout.load(data_dir)
    if saved is not None and len(saved.broker_ports) != nodes:
        raise KafkaLauncherError(
            f"{data_dir} holds a {len(saved.broker_ports)}-node cluster, not {nodes}; "
            "use another data directory"
        )
    if saved is not None and cluster_id is not None and cluster_id != saved.cluster_id:
        raise KafkaLauncherError(
            f"{data_dir} was formatted for cluster {saved.cluster_id}, not {cluster_id}"
        )
    fresh = free_ports(2 * nodes)
    layout = ClusterLayout(
        cluster_id=cluster_id or (saved.cluster_id if saved else new_cluster_id()),
        broker_ports=ports or (saved.broker_ports if saved else fresh[:nodes]),
        controller_ports=controller_ports or (saved.controller_ports if saved else fresh[nodes:]),
    )
    all_ports = layout.broker_ports + layout.controller_ports
    if len(layout.broker_ports) != nodes or len(layout.controller_ports) != nodes:
        raise ValueError(f"need exactly {nodes} client and {nodes} controller port(s)")
    if len(set(all_ports)) != len(all_ports):
        raise ValueError(f"ports must all differ: {all_ports}")
    return layout

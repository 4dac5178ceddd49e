"""``nrm-stack --topology cluster``: start the cluster topology, print it, run until
Ctrl-C or SIGTERM, stop it (services first, brokers and PostgreSQL last)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nrm_deploy.kafka_jars import KafkaLauncherError
from nrm_deploy.load_balancer import LoadBalancerUnavailable
from nrm_deploy.postgres import PostgresUnavailable
from nrm_deploy.topology import ClusterTopology, TopologyError, TopologyPorts

if TYPE_CHECKING:
    from nrm_deploy.stack import StackOptions, StopSignals

WATCH_SECONDS = 0.5


def ensure_keys(keys_dir: Path) -> None:
    """The dev token keys and the field encryption keys the replicas share."""
    from nrm_runtime.devtokens import ensure_dev_keys
    from nrm_runtime.field_crypto import create_key_file

    ensure_dev_keys(keys_dir)
    create_key_file(keys_dir / "field-keys.json")


def topology_for(var_dir: Path, base_port: int) -> ClusterTopology:
    keys_dir = var_dir / "keys"
    ensure_keys(keys_dir)
    ports = TopologyPorts(base=base_port, replica_base=base_port + 100)
    return ClusterTopology(var_dir / "cluster", keys_dir, ports)


def run_cluster(options: StackOptions, signals: StopSignals) -> int:
    """Start, watch, stop. Returns the exit code."""
    from nrm_deploy.stack import StopRequested

    started_at = time.monotonic()
    topology = topology_for(options.var_dir, options.base_port)
    print("starting the cluster topology (3 brokers, PostgreSQL, 2 replicas each) ...")
    try:
        with signals.interruptible():
            topology.start()
        print(
            f"NRM backbone (cluster topology): ready in {time.monotonic() - started_at:.0f}s\n"
            f"{topology.banner()}\nlogs in {topology.work_dir}/services; Ctrl-C stops everything.",
            flush=True,
        )
        while signals.requested is None:
            dead = topology.dead_parts()
            if dead:
                raise TopologyError(f"died: {', '.join(dead)}")
            time.sleep(WATCH_SECONDS)
        return 0
    except StopRequested:
        return 0
    except (
        KafkaLauncherError,
        LoadBalancerUnavailable,
        PostgresUnavailable,
        TopologyError,
        subprocess.CalledProcessError,
    ) as error:
        print(f"nrm-stack: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping ...", flush=True)
        topology.stop()
        print("stopped", flush=True)

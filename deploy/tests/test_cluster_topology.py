"""The cluster topology's layout: fixed ports outside the ephemeral range, one HAProxy
frontend per service in front of its replicas, and the replicas' settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.load_balancer import Backend, render_config
from nrm_deploy.stack import parse_options
from nrm_deploy.topology import REPLICAS, TopologyPorts

EPHEMERAL_RANGE = range(32768, 61000)


def all_ports(ports: TopologyPorts) -> list[int]:
    every = [*ports.brokers(), *ports.controllers(), ports.postgres]
    for index, _name in enumerate(SERVICES):
        every.append(ports.balancer(index))
        every += [ports.replica(index, n) for n in range(1, REPLICAS + 1)]
    return every


def test_every_port_is_fixed_distinct_and_below_the_ephemeral_range() -> None:
    ports = all_ports(TopologyPorts())
    assert len(set(ports)) == len(ports)
    assert not [port for port in ports if port in EPHEMERAL_RANGE]


def test_the_chaos_tests_ports_do_not_meet_make_chaos_ports() -> None:
    ci = TopologyPorts(27001, 27101, 27092, 27192, 27432)
    full = TopologyPorts(18001, 18101, 29092, 29192, 29432)
    assert not set(all_ports(ci)) & set(all_ports(full))
    assert not [port for port in all_ports(ci) if port in EPHEMERAL_RANGE]


def test_haproxy_accepts_the_config_of_four_services_with_two_replicas(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("HAProxy is not installed (make setup installs it as root)")
    ports = TopologyPorts()
    backends = [
        Backend(name, ports.balancer(i), tuple(ports.replica(i, n) for n in (1, 2)))
        for i, name in enumerate(SERVICES)
    ]
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_config(backends))
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    assert text.count("frontend ") == len(SERVICES)
    assert "server referral-2 127.0.0.1:8112 check" in text


def test_nrm_stack_topology_option(tmp_path: Path) -> None:
    assert parse_options(["--var-dir", str(tmp_path)]).topology == "single"
    cluster = parse_options(["--var-dir", str(tmp_path), "--topology", "cluster"])
    assert cluster.topology == "cluster"
    with pytest.raises(SystemExit):
        parse_options(["--topology", "cluster", "--secure"])

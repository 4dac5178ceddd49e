"""The chaos suite's short profile, so CI guards the referral guarantee under faults.

The cluster topology (3 brokers, PostgreSQL, two replicas of every service behind
HAProxy) under an open-loop load, with three leader kills, a referral replica and the
whole referral service killed, duplicates, and every broker down 60 s. The full profile
is ``make chaos``. The runner is a process of its own: it owns its event loop and the
cluster's processes, as when run by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Starts its own processes: left out of make test-fast.
pytestmark = pytest.mark.broker

RUN_TIMEOUT_SECONDS = 900
# Not the full profile's ports: `make chaos` and `make test` may run side by side.
BASE_PORT = 27001
BROKER_PORT = 27092


@pytest.fixture(scope="module")
def chaos_report() -> Iterator[dict[str, Any]]:
    # Not pytest's tmp dir: it is private to root, and PostgreSQL runs as its own user.
    var_dir = Path(tempfile.mkdtemp(prefix="nrm-chaos-"))
    var_dir.chmod(0o755)
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "nrm_deploy.chaos",
                "--profile",
                "ci",
                "--var-dir",
                str(var_dir),
                "--base-port",
                str(BASE_PORT),
                "--broker-port",
                str(BROKER_PORT),
            ],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        report_file = var_dir / "chaos" / "chaos-ci.json"
        assert report_file.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
        yield json.loads(report_file.read_text())
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
def test_nothing_lost_or_doubled_under_faults(chaos_report: dict[str, Any]) -> None:
    assert chaos_report["acknowledged"] > 0
    assert chaos_report["leader_kills"] >= 3
    assert chaos_report["lost"] == 0, chaos_report
    assert chaos_report["doubled"] == 0, chaos_report


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
def test_every_decision_has_its_case_within_60s_of_the_brokers_return(
    chaos_report: dict[str, Any],
) -> None:
    recovery = chaos_report["recovery_seconds"]
    assert recovery["broker_outage_unrecovered"] == 0, chaos_report["faults"]
    assert recovery["max_after_broker_outage"] is not None
    assert recovery["max_after_broker_outage"] <= 60, chaos_report["faults"]


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
def test_topics_have_rf_3_and_min_isr_2(chaos_report: dict[str, Any]) -> None:
    topics = chaos_report["checks"]["topics"]
    assert topics
    for name, durability in topics.items():
        assert durability == {"replication_factor": 3, "min_insync_replicas": 2}, name


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
def test_killed_referral_replicas_partitions_move_and_nothing_is_processed_twice(
    chaos_report: dict[str, Any],
) -> None:
    (moved,) = chaos_report["checks"]["referral_partitions_after_replica_kill"]
    assert moved == {"referral-2": [f"nrm.identification:{n}" for n in range(3)]}
    processed = chaos_report["checks"]["referral_processed_identification_events"]
    assert processed["doubled"] == 0
    assert processed["rows"] == processed["events"]
    duplicates = next(f for f in chaos_report["faults"] if f["name"].startswith("same event"))
    assert duplicates["details"]["redelivered"] > 0

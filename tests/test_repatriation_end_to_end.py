"""Repatriation across real processes: the service, counterpart simulators over real
HTTP, and the real Kafka broker.

- a full Cambodia-Viet Nam SOP case, notification to reintegration report;
- an inbound case from Thailand ending with ``handover.completed`` on the topic, and the
  referral service opening the reception referral to the transit centre at Poipet (known
  to referral from the shelter registry's events);
- a counterpart endpoint that is down: retried, delivered later, none lost or doubled;
- the Thai agency cannot see a Vietnamese case.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from nrm_contracts import Envelope, Topic
from nrm_deploy.kafka_cluster import free_port
from nrm_deploy.testing import bearer, eventually, on_both_engines, read_topic
from repatriation.domain.signing import signed_headers

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

SECRETS = {"VNM": "e2e-secret-vnm", "THA": "e2e-secret-tha"}
ORGANISATIONS = {"VNM": ["vnm-molisa", "vnm-mps"], "THA": ["tha-msdhs"]}
AGENCY = {"VNM": "vnm-molisa", "THA": "tha-msdhs"}


class Simulator:
    """``python -m repatriation.simulator`` as a real process."""

    def __init__(self, country: str, port: int, workdir: Path) -> None:
        self.country = country
        self.port = port
        self.log = workdir / f"simulator-{country}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, nrm_url: str, token: str, *arguments: str) -> Simulator:
        command = [
            sys.executable,
            "-m",
            "repatriation.simulator",
            "--country",
            self.country,
            "--port",
            str(self.port),
            "--nrm-url",
            nrm_url,
            "--delay",
            "0.1",
            *arguments,
        ]
        environment = {
            **os.environ,
            "SIMULATOR_SECRET": SECRETS[self.country],
            "SIMULATOR_TOKEN": token,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        eventually(self._healthy, timeout=30)
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"simulator exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def received(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/received", timeout=5).json()
        return answer

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def simulator_ports() -> dict[str, int]:
    return {"VNM": free_port(), "THA": free_port()}


@pytest.fixture
def simulators(tmp_path: Path, simulator_ports: dict[str, int]) -> Iterator[dict[str, Simulator]]:
    made = {
        country: Simulator(country, port, tmp_path) for country, port in simulator_ports.items()
    }
    yield made
    for simulator in made.values():
        simulator.stop()


@pytest.fixture
def repatriation(start_service, simulator_ports: dict[str, int]):
    counterparts = {
        country: {
            "organisations": ORGANISATIONS[country],
            "endpoint": f"http://127.0.0.1:{port}/nrm/messages",
            "secret": SECRETS[country],
        }
        for country, port in simulator_ports.items()
    }
    return start_service(
        "repatriation",
        wait_for="/readyz",
        counterparts=json.dumps(counterparts),
        liaison_poll_seconds="0.1",
        liaison_retry_base_seconds="0.2",
        liaison_retry_max_seconds="1",
    )


@pytest.fixture
def officer(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint("mosvy", "case_manager"))


def case_of(service, officer: dict[str, str], case_id: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/cases/{case_id}", headers=officer, timeout=10)
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


def wait_for_step(service, officer, case_id: str, step: str, timeout: float = 60) -> dict[str, Any]:
    """Until ``step`` is allowed (the counterpart has played its part)."""
    found = eventually(
        lambda: (
            (case := case_of(service, officer, case_id))
            and step in {s["step"] for s in case["allowed_steps"]}
            and case
        ),
        timeout=timeout,
    )
    assert isinstance(found, dict)
    return found


def complete(service, officer, case_id: str, step: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{service.url}/cases/{case_id}/steps",
        json={"step": step, **body},
        headers=officer,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def repatriation_events(kafka_bootstrap: str, topic_prefix: str, expect: int) -> list[Envelope]:
    records = asyncio.run(
        read_topic(kafka_bootstrap, f"{topic_prefix}{Topic.REPATRIATION}", expect=expect, within=60)
    )
    return [
        Envelope.from_kafka(record.key, record.value, dict(record.headers)) for record in records
    ]


def handover_day() -> str:
    return (date.today() + timedelta(days=7)).isoformat()


def test_a_cambodia_vietnam_case_runs_end_to_end_with_the_vietnamese_simulator(
    repatriation, simulators, officer, mint, kafka_bootstrap, topic_prefix
) -> None:
    vietnam = simulators["VNM"].start(repatriation.url, mint("vnm-molisa", "liaison_officer"))
    opened = httpx.post(
        f"{repatriation.url}/cases",
        json={
            "identification_case_id": str(uuid.uuid4()),
            "counterpart_country": "VNM",
            "person": {
                "given_name": "Thi Lan",
                "family_name": "Nguyen",
                "sex": "female",
                "estimated_age": 22,
            },
            "consent_to_return": {
                "status": "given",
                "basis": "own_consent",
                "recorded_on": date.today().isoformat(),
            },
        },
        headers=officer,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]

    complete(
        repatriation,
        officer,
        case_id,
        "notification",
        documents=["victim_identification_form", "consent_to_return"],
    )
    wait_for_step(repatriation, officer, case_id, "handover_proposed")
    border = {"handover_date": handover_day(), "border_point": "bavet-moc-bai"}
    complete(repatriation, officer, case_id, "handover_proposed", details=border)
    wait_for_step(repatriation, officer, case_id, "handover")
    complete(repatriation, officer, case_id, "handover", documents=["handover_record"])
    closed = eventually(
        lambda: (case := case_of(repatriation, officer, case_id))["status"] == "closed" and case,
        timeout=60,
    )

    assert isinstance(closed, dict) and closed["outcome"] == "returned"
    assert [s["step"] for s in closed["steps"]] == [
        "notification",
        "receipt_acknowledged",
        "identity_verified",
        "family_assessment",
        "travel_documents_issued",
        "handover_proposed",
        "handover_confirmed",
        "handover",
        "reception_confirmed",
        "reintegration_report",
    ]
    # One timeline, both ways: our three steps sent, Viet Nam's seven received.
    timeline = httpx.get(f"{repatriation.url}/cases/{case_id}/timeline", headers=officer).json()
    kinds = [entry["kind"] for entry in timeline["entries"]]
    assert kinds.count("message_sent") == 3 and kinds.count("message_received") == 7
    sent = [e for e in timeline["entries"] if e["kind"] == "message_sent"]
    assert {e["delivery"]["status"] for e in sent} == {"delivered"}
    received = vietnam.received()
    assert sorted(m["step"] for m in received["messages"]) == [
        "handover",
        "handover_proposed",
        "notification",
    ]
    assert received["duplicates"] == 0 and received["bad_signatures"] == 0
    # The Thai agency cannot see it: 404, as for no case at all.
    thai = bearer(mint("tha-msdhs", "liaison_officer"))
    headers = {
        **thai,
        **signed_headers(SECRETS["THA"], b"", now=time.time(), idempotency_key=str(uuid.uuid4())),
    }
    assert (
        httpx.get(f"{repatriation.url}/liaison/cases/{case_id}", headers=headers).status_code == 404
    )
    # Every change is on the topic, keyed by the case, no personal data.
    events = repatriation_events(kafka_bootstrap, topic_prefix, expect=14)
    types = [e.type.removeprefix("kh.nrm.repatriation.") for e in events]
    assert types[0] == "case.proposed.v1" and types[-1] == "case.closed.v1"
    assert types.count("step.completed.v1") == 10
    assert {"handover.scheduled.v1", "handover.completed.v1"} <= set(types)
    assert {e.subject for e in events} == {case_id}
    assert not any(b"Nguyen" in json.dumps(e.data.model_dump(mode="json")).encode() for e in events)


def test_an_inbound_case_from_thailand_ends_with_a_reception_referral(
    repatriation, simulators, officer, mint, kafka_bootstrap, topic_prefix, start_service
) -> None:
    # The registry publishes its reference facilities (the Poipet transit centre among
    # them); referral builds its directory from those events and hears the handover.
    start_service("shelter-registry", wait_for="/readyz", load_reference_data="true")
    referral = start_service("referral", wait_for="/readyz")
    thailand = simulators["THA"].start(repatriation.url, mint("tha-msdhs", "liaison_officer"))
    notified = httpx.post(
        f"{thailand.url}/notifications",
        json={
            "counterpart_reference": "MSDHS-2026-0042",
            "person": {
                "given_name": "Sokha",
                "family_name": "Chan",
                "sex": "male",
                "estimated_age": 34,
            },
            "consent_to_return": {
                "status": "given",
                "basis": "own_consent",
                "recorded_on": date.today().isoformat(),
            },
            "documents": ["victim_identification_form", "consent_to_return"],
        },
        timeout=30,
    )
    assert notified.status_code == 201, notified.text
    case_id = notified.json()["id"]

    complete(
        repatriation,
        officer,
        case_id,
        "receipt_acknowledged",
        details={"contact_name": "Mr Vuthy, MoSVY"},
    )
    complete(repatriation, officer, case_id, "identity_verified", documents=["verification_report"])
    complete(
        repatriation, officer, case_id, "family_assessment", documents=["family_assessment_report"]
    )
    wait_for_step(repatriation, officer, case_id, "travel_documents_issued")
    complete(
        repatriation, officer, case_id, "travel_documents_issued", documents=["travel_document"]
    )
    proposed = wait_for_step(repatriation, officer, case_id, "handover_confirmed")
    agreed = {
        "handover_date": proposed["handover"]["handover_date"],
        "border_point": proposed["handover"]["border_point"],
    }
    complete(repatriation, officer, case_id, "handover_confirmed", details=agreed)
    handed_over = wait_for_step(repatriation, officer, case_id, "reception_confirmed")

    assert handed_over["handover"]["status"] == "completed"
    events = repatriation_events(kafka_bootstrap, topic_prefix, expect=12)
    completed = [e for e in events if e.type == "kh.nrm.repatriation.handover.completed.v1"]
    assert len(completed) == 1
    handover = completed[0].data
    assert completed[0].subject == case_id
    assert (handover.direction, handover.counterpart_country) == ("inbound", "THA")
    assert handover.border_point == "poipet-aranyaprathet"
    assert (handover.reception_organisation, handover.reception_province_code) == (
        "mosvy-poipet-transit",
        "01",
    )
    assert (handover.sex, handover.is_child) == ("male", False)

    coordinator = bearer(mint("mosvy", "case_manager"))

    def reception_referrals() -> list[dict[str, Any]]:
        cases = httpx.get(f"{referral.url}/referral-cases", headers=coordinator).json()["items"]
        ours = [c for c in cases if c.get("repatriation_case_id") == case_id]
        if not ours:
            return []
        referrals = httpx.get(
            f"{referral.url}/referral-cases/{ours[0]['id']}/referrals", headers=coordinator
        )
        return [r for r in referrals.json() if r["kind"] == "reception"]

    opened = eventually(reception_referrals, timeout=60)
    assert isinstance(opened, list) and len(opened) == 1
    assert opened[0]["state"] == "sent"  # the procedure agreed it: no sign-off
    centre = httpx.get(
        f"{referral.url}/providers/me/referrals",
        headers=bearer(mint("mosvy-poipet-transit", "provider_staff")),
    )
    assert [item["id"] for item in centre.json()["items"]] == [opened[0]["id"]]


def test_a_counterpart_endpoint_that_is_down_gets_every_message_later_once(
    repatriation, simulators, officer, mint
) -> None:
    opened = httpx.post(
        f"{repatriation.url}/cases",
        json={
            "identification_case_id": str(uuid.uuid4()),
            "counterpart_country": "VNM",
            "person": {
                "given_name": "Van",
                "family_name": "Tran",
                "sex": "male",
                "estimated_age": 40,
            },
            "consent_to_return": {
                "status": "given",
                "basis": "own_consent",
                "recorded_on": date.today().isoformat(),
            },
        },
        headers=officer,
    )
    case_id = opened.json()["id"]
    complete(
        repatriation,
        officer,
        case_id,
        "notification",
        documents=["victim_identification_form", "consent_to_return"],
    )
    closed = httpx.post(
        f"{repatriation.url}/cases/{case_id}/consent",
        headers=officer,
        json={
            "status": "withdrawn",
            "basis": "own_consent",
            "recorded_on": date.today().isoformat(),
        },
    )
    assert closed.status_code == 200

    def timeline_sent() -> list[dict[str, Any]]:
        entries = httpx.get(f"{repatriation.url}/cases/{case_id}/timeline", headers=officer).json()[
            "entries"
        ]
        return [e for e in entries if e["kind"] == "message_sent"]

    # Nobody listens at the Vietnamese endpoint: the first message is retried, the
    # second waits behind it (a case's messages go out in order).
    eventually(
        lambda: [e["delivery"]["attempts"] >= 3 for e in timeline_sent()] == [True, False],
        timeout=30,
    )
    assert {e["delivery"]["status"] for e in timeline_sent()} == {"pending"}
    assert timeline_sent()[1]["delivery"]["attempts"] == 0

    # It comes back, and fails its first two deliveries more before it works.
    vietnam = simulators["VNM"].start(
        repatriation.url, mint("vnm-molisa", "liaison_officer"), "--fail-first", "2"
    )
    eventually(
        lambda: {e["delivery"]["status"] for e in timeline_sent()} == {"delivered"}, timeout=60
    )

    received = vietnam.received()
    keys = sorted(m["idempotency_key"] for m in received["messages"])
    assert keys == sorted(e["idempotency_key"] for e in timeline_sent())  # none lost
    assert received["duplicates"] == 0  # none twice
    assert received["failed_deliveries"] == 2
    assert [m["message_type"] for m in received["messages"]] == [
        "step_completed",
        "consent_changed",
    ]

"""Referral across real processes and the real broker: a screened girl presumed a victim
is assessed, matched from referral's own directory of the registry, signed off, sent to
the shelter NGO's webhook (a real HTTP server verifying the signature), accepted by REST,
admitted and discharged, the registry's occupancy following, and closed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from nrm_deploy.testing import bearer, eventually, on_both_engines, read_topic, screening_form
from nrm_runtime.field_crypto import create_key_file
from referral.delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


class NgoServer:
    """The NGO's webhook endpoint: keeps what it receives and whether the signature held."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers[TIMESTAMP_HEADER]
                valid = self.headers[SIGNATURE_HEADER] == signature(outer.secret, timestamp, body)
                outer.received.append({"valid": valid, "body": json.loads(body)})
                self.send_response(204 if valid else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/nrm/referrals"


@pytest.fixture
def ngo_server() -> Iterator[NgoServer]:
    server = NgoServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_presumed_girl_is_referred_admitted_discharged_and_closed(
    start_service, mint, ngo_server: NgoServer, tmp_path: Path, kafka_bootstrap, topic_prefix
) -> None:
    registry = start_service("shelter-registry", wait_for="/readyz", LOAD_REFERENCE_DATA="true")
    identification = start_service("identification", wait_for="/readyz")
    referral = start_service(
        "referral",
        wait_for="/readyz",
        FIELD_KEYS_FILE=str(create_key_file(tmp_path / "referral-field-keys.json")),
        DELIVERY_POLL_SECONDS="0.2",
        # The NGO's webhook server listens on the loopback, refused unless allowed.
        WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
    )
    coordinator = bearer(mint("mosvy", "case_manager"))

    screened = httpx.post(
        f"{identification.url}/screenings",
        json={**screening_form(), "consents": CONSENT},
        headers=bearer(mint("moi-dahtjp", "screener")),
    )
    assert screened.status_code == 201, screened.text
    decided = httpx.post(
        f"{identification.url}/cases/{screened.json()['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
        headers=bearer(mint("mosvy", "competent_authority")),
    )
    assert decided.status_code == 201, decided.text
    cases = eventually(
        lambda: httpx.get(f"{referral.url}/referral-cases", headers=coordinator).json()["items"]
    )
    case_id = cases[0]["id"]

    assessed = httpx.put(
        f"{referral.url}/referral-cases/{case_id}/assessment",
        json={
            "needs": ["safe_accommodation", "psychosocial"],
            "urgency": "high",
            "languages": ["km"],
        },
        headers=coordinator,
    )
    assert assessed.status_code == 200, assessed.text

    def shelter_candidates() -> list[dict[str, Any]]:
        matched = httpx.post(
            f"{referral.url}/referral-cases/{case_id}/matching", headers=coordinator
        )
        need = next(m for m in matched.json()["matches"] if m["need"] == "safe_accommodation")
        return list(need["candidates"])

    # The directory fills from the registry's events on the broker.
    best = eventually(shelter_candidates, timeout=60)[0]
    facility_id, organisation = best["facility_id"], best["organisation_id"]
    provider = bearer(mint(organisation, "provider_staff"))
    registered = httpx.put(
        f"{referral.url}/providers/me/webhook", json={"url": ngo_server.url}, headers=provider
    )
    ngo_server.secret = registered.json()["secret"]

    def occupied() -> int:
        found = httpx.get(f"{registry.url}/facilities/{facility_id}", headers=coordinator).json()
        return int(found["capacity"]["beds_occupied"])

    before = occupied()
    created = httpx.post(
        f"{referral.url}/referral-cases/{case_id}/referrals",
        json={
            "facility_id": facility_id,
            "needs": ["safe_accommodation"],
            "officer_contact": "+855 12 000 111",
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    referral_id = created.json()["id"]

    def act(action: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{referral.url}/referrals/{referral_id}/{action}", json=body or None, headers=headers
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert act("submit", coordinator)["state"] == "awaiting_signoff"
    assert act("sign-off", bearer(mint("mosvy", "competent_authority")))["state"] == "sent"

    notices = eventually(lambda: ngo_server.received, timeout=30)
    assert notices[0]["valid"] is True
    assert (notices[0]["body"]["referral_id"], notices[0]["body"]["event"]) == (
        referral_id,
        "referral.sent",
    )
    assert "Sokha" not in json.dumps(notices[0]["body"])
    # The same notice on the provider's own topic, for NGOs that run their own consumer.
    on_topic = asyncio.run(
        read_topic(kafka_bootstrap, f"{topic_prefix}nrm.referral.provider.{organisation}", expect=1)
    )
    first = json.loads(on_topic[0].value)
    assert (first["referral_id"], first["event"]) == (referral_id, "referral.sent")
    assert on_topic[0].key == referral_id.encode()
    assert b"Sokha" not in on_topic[0].value

    act("accept", provider)
    act("admit", provider)
    eventually(lambda: occupied() == before + 1, timeout=30)
    act("exit", provider, exit_reason="reintegrated")
    eventually(lambda: occupied() == before, timeout=30)
    closed = act("close", coordinator)

    assert closed["state"] == "closed"
    deliveries = httpx.get(f"{referral.url}/providers/me/deliveries", headers=provider).json()
    webhook = next(d for d in deliveries if d["channel"] == "webhook")
    assert webhook["delivered_at"] is not None
    # Another NGO learns nothing of it.
    other = bearer(
        mint("ngo-kdei" if organisation != "ngo-kdei" else "ngo-chantrea", "provider_staff")
    )
    assert (
        httpx.get(f"{referral.url}/providers/me/referrals/{referral_id}", headers=other).status_code
        == 404
    )

"""Referral across real processes and the real broker: a screened girl presumed a victim
is assessed, matched from referral's own directory of the registry, signed off, sent to
the shelter NGO's webhook (a real HTTP server verifying every notice with the Standard
Webhooks library, as docs tell an NGO to), accepted by REST, admitted and discharged,
the registry's occupancy following, and closed; every change is notified, the same
notices on the provider's own topic, each valid against the AsyncAPI document."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from jsonschema import Draft202012Validator, FormatChecker
from standardwebhooks import Webhook, WebhookVerificationError

from nrm_contracts.generate import contracts_dir
from nrm_deploy.testing import bearer, eventually, on_both_engines, read_topic, screening_form
from nrm_runtime.field_crypto import create_key_file

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


class NgoServer:
    """The NGO's webhook endpoint, as the NGO guide has one written: verifies each notice
    with the ``standardwebhooks`` library, skips a ``webhook-id`` it has processed, and
    keeps what it received (the raw request too, to try tampering with it)."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        self.raw: list[tuple[bytes, dict[str, str]]] = []
        self.seen: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                outer.raw.append((body, headers))
                try:
                    notice = Webhook(outer.secret).verify(body, headers)
                except WebhookVerificationError:
                    outer.received.append({"valid": False, "body": json.loads(body)})
                    self.send_response(401)
                else:
                    if notice["id"] not in outer.seen:  # a retry: processed already
                        outer.seen.add(notice["id"])
                        outer.received.append({"valid": True, "body": notice})
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/nrm/referrals"


def asyncapi_validator(channel: str, message: str) -> Draft202012Validator:
    """A validator of ``message`` of ``channel`` from the AsyncAPI document alone, as an
    integrator's own tooling would read it."""
    document = yaml.safe_load((contracts_dir() / "schemas" / "asyncapi.yaml").read_text())
    reference = document["channels"][channel]["messages"][message]["$ref"]
    payload_ref = document["components"]["messages"][reference.rsplit("/", 1)[1]]["payload"]
    # The whole document as the root, so that the schema's references resolve in it.
    return Draft202012Validator({**document, **payload_ref}, format_checker=FormatChecker())


def asyncapi_channels() -> dict[str, re.Pattern[str]]:
    """Each channel of the AsyncAPI document as a pattern of the topics it stands for
    (a parameter: one of its enum, else one topic-name word)."""
    document = yaml.safe_load((contracts_dir() / "schemas" / "asyncapi.yaml").read_text())
    patterns = {}
    for name, channel in document["channels"].items():
        parameters = channel.get("parameters", {})

        def alternatives(match: re.Match[str], parameters: dict[str, Any] = parameters) -> str:
            enum = parameters[match.group(1)].get("enum")
            return "(?:" + "|".join(map(re.escape, enum)) + ")" if enum else r"[a-z0-9_-]+"

        escaped = re.escape(channel["address"]).replace(r"\{", "{").replace(r"\}", "}")
        patterns[name] = re.compile(re.sub(r"{(\w+)}", alternatives, escaped))
    return patterns


async def topics_with_prefix(bootstrap: str, prefix: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t.removeprefix(prefix) for t in await admin.list_topics() if t.startswith(prefix)}
    finally:
        await admin.close()


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
    assert (notices[0]["body"]["subject"], notices[0]["body"]["data"]["event"]) == (
        referral_id,
        "referral.sent",
    )
    assert "Sokha" not in json.dumps(notices[0]["body"])

    act("accept", provider)
    act("admit", provider)
    eventually(lambda: occupied() == before + 1, timeout=30)
    act("exit", provider, exit_reason="reintegrated")
    eventually(lambda: occupied() == before, timeout=30)
    closed = act("close", coordinator)

    lifecycle = ["sent", "accepted", "admitted", "exited", "closed"]
    eventually(lambda: len(ngo_server.received) == len(lifecycle), timeout=30)
    assert all(notice["valid"] for notice in ngo_server.received)
    assert [n["body"]["data"]["event"] for n in ngo_server.received] == [
        f"referral.{state}" for state in lifecycle
    ]
    assert [n["body"]["data"]["state"] for n in ngo_server.received] == lifecycle
    # Tampered with, or signed with another secret: refused by the NGO's own check.
    body, headers = ngo_server.raw[0]
    tampered = body.replace(b'"referral.sent"', b'"referral.closed"')
    with pytest.raises(WebhookVerificationError):
        Webhook(ngo_server.secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(ngo_server.secret).verify(body, {**headers, "webhook-timestamp": "1700000000"})
    # Replayed: the same webhook-id, skipped by the receiver.
    replay = httpx.post(ngo_server.url, content=body, headers=headers)
    assert replay.status_code == 204 and len(ngo_server.received) == len(lifecycle)

    # The same notices, byte for byte, on the provider's own topic, for NGOs that run
    # their own consumer: each a valid message of the AsyncAPI document's channel.
    on_topic = asyncio.run(
        read_topic(
            kafka_bootstrap,
            f"{topic_prefix}nrm.referral.provider.{organisation}",
            expect=len(lifecycle),
        )
    )
    assert [json.loads(record.value) for record in on_topic] == [
        n["body"] for n in ngo_server.received
    ]
    assert {record.key for record in on_topic} == {referral_id.encode()}
    validator = asyncapi_validator("provider_notices", "kh.nrm.referral.provider_notice.v1")
    for record in on_topic:
        validator.validate(json.loads(record.value))
        assert b"Sokha" not in record.value

    # The topics on the broker and the AsyncAPI document agree, both ways: every topic
    # the services made is a channel of the document, and every channel has its topic.
    seen = asyncio.run(topics_with_prefix(kafka_bootstrap, topic_prefix))
    channels = asyncapi_channels()
    assert {topic for topic in seen if not any(c.fullmatch(topic) for c in channels.values())} == (
        set()
    )
    assert {name for name, c in channels.items() if not any(c.fullmatch(t) for t in seen)} == set()

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

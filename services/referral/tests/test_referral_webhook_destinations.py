"""A provider's webhook may only point at a public address (SSRF): refused at registration
with a 422 naming ``url``, and checked again at every delivery attempt on what the host
resolves to then (DNS rebinding), the request going to the checked address; a redirect is
a failed attempt. A refused attempt is a failed one: logged, retried, nothing dropped.

Names resolve through the test's resolver (``resolve_names``), never DNS.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from nrm_runtime.settings import Environment
from referral.entrypoints.events import reception_handlers
from referral.settings import ReferralSettings
from referral.usecases.delivery import DeliveryWorker

SHELTER = UUID("00000000-0000-4000-8000-0000000000a1")
PROVIDER = "ngo-shelter-a"
PUBLIC = "93.184.216.34"
HOOK = "https://ngo.example.org/hook"


@pytest.fixture
def provider(auth) -> dict[str, str]:
    return auth(PROVIDER, "provider_staff")


@pytest.fixture
def send_referral(client, auth, handle_event, victim_presumed, facility_event):
    """``send_referral()``: a referral to the provider's shelter, signed off and sent: its
    webhook notice is due."""
    database = client.app.state.database
    coordinator = auth("mosvy", "case_manager")

    async def _directory() -> None:
        async with database.unit_of_work() as uow:
            event = facility_event(SHELTER, PROVIDER)
            await reception_handlers(client.app.state.referral)[type(event)](event, uow)
            await uow.commit()

    def _send() -> str:
        client.portal.call(_directory)
        [opened] = client.portal.call(handle_event, database, victim_presumed())
        case = str(opened.data.referral_case_id)
        assessed = client.put(
            f"/referral-cases/{case}/assessment",
            json={"needs": ["safe_accommodation"], "urgency": "high"},
            headers=coordinator,
        )
        assert assessed.status_code == 200, assessed.text
        created = client.post(
            f"/referral-cases/{case}/referrals",
            json={
                "facility_id": str(SHELTER),
                "needs": ["safe_accommodation"],
                "officer_contact": "+855 12 000 111",
            },
            headers=coordinator,
        )
        assert created.status_code == 201, created.text
        referral = created.json()["id"]
        client.post(f"/referrals/{referral}/submit", headers=coordinator)
        signed = client.post(
            f"/referrals/{referral}/sign-off", headers=auth("mosvy", "competent_authority")
        )
        assert signed.json()["state"] == "sent", signed.text
        return str(referral)

    return _send


@pytest.fixture
def deliver(client):
    """``deliver(endpoint)``: run the due deliveries once with a worker built from the app's
    context, its webhook requests answered by ``endpoint``; answer the requests sent."""

    def _deliver(endpoint: Any) -> list[httpx.Request]:
        sent: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return endpoint(request)  # type: ignore[no-any-return]

        worker = DeliveryWorker(client.app.state.referral)

        async def run_due() -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
                await asyncio.gather(*await worker.dispatch_due(client.app.state.database, http))

        client.portal.call(run_due)
        return sent

    return _deliver


def webhook_log(client, provider) -> dict[str, Any]:
    found = client.get("/providers/me/deliveries", headers=provider).json()
    return next(d for d in found if d["channel"] == "webhook")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("https://[fd00:ec2::254]/", "a cloud metadata address"),
        ("https://metadata.google.internal/computeMetadata/v1/", "cloud metadata service"),
        ("http://127.0.0.1:8002/referral-cases", "a loopback address"),
        ("https://[::1]/hook", "a loopback address"),
        ("https://localhost/hook", "a loopback address"),
        ("https://10.20.30.40/hook", "a private address"),
        ("https://172.16.5.4/hook", "a private address"),
        ("https://192.168.0.10/hook", "a private address"),
        ("https://169.254.1.1/hook", "a link-local address"),
        ("https://[fc00::1]/hook", "a private address"),
        ("https://0.0.0.0/hook", "an unspecified address"),
        ("https://internal.example.org/hook", "internal.example.org resolves to 127.0.0.1"),
    ],
)
def test_a_webhook_to_a_forbidden_address_is_refused_at_registration(
    client, provider, resolve_names, url: str, reason: str
) -> None:
    resolve_names({"internal.example.org": ["127.0.0.1"]})

    refused = client.put("/providers/me/webhook", json={"url": url}, headers=provider)

    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", "url")
    assert reason in error["message"]


def test_a_public_https_webhook_is_registered(client, provider, resolve_names) -> None:
    resolver = resolve_names({"ngo.example.org": [PUBLIC]})

    registered = client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)

    assert registered.status_code == 200, registered.text
    assert registered.json()["url"] == HOOK
    assert resolver.asked == ["ngo.example.org"]


def test_http_is_refused_in_production(client, provider, resolve_names) -> None:
    resolve_names({"ngo.example.org": [PUBLIC]})
    context = client.app.state.referral
    # Production settings cannot be built here (PostgreSQL, the real issuer...): the
    # registration reads the environment from the context's settings only.
    production = context.settings.model_copy(update={"environment": Environment.PRODUCTION})
    client.app.state.referral = replace(context, settings=production)

    refused = client.put(
        "/providers/me/webhook", json={"url": "http://ngo.example.org/hook"}, headers=provider
    )
    accepted = client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)

    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "url"
    assert "only https" in refused.json()["error"]["message"]
    assert accepted.status_code == 200, accepted.text


def test_a_name_that_does_not_resolve_yet_is_registered_and_checked_at_delivery(
    client, provider, resolve_names
) -> None:
    resolve_names({})

    registered = client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)

    assert registered.status_code == 200, registered.text


def test_a_delivery_goes_to_the_checked_address_naming_the_registered_host(
    client, provider, resolve_names, send_referral, deliver
) -> None:
    resolve_names({"ngo.example.org": [PUBLIC]})
    client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)
    send_referral()

    [request] = deliver(lambda _request: httpx.Response(204))

    assert str(request.url) == f"https://{PUBLIC}/hook"
    assert request.headers["host"] == "ngo.example.org"
    assert request.extensions["sni_hostname"] == "ngo.example.org"
    assert webhook_log(client, provider)["delivered_at"] is not None


def test_a_name_rebound_to_loopback_after_registration_fails_the_attempt_and_is_retried(
    client, provider, resolve_names, send_referral, deliver, clock
) -> None:
    resolve_names({"ngo.example.org": [PUBLIC]})
    client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)
    referral = send_referral()
    # DNS rebinding: the name now points at the service's own loopback, one address of two.
    resolve_names({"ngo.example.org": [PUBLIC, "127.0.0.1"]})

    sent = deliver(lambda _request: httpx.Response(204))

    assert sent == []
    logged = webhook_log(client, provider)
    assert (logged["referral_id"], logged["attempts"], logged["delivered_at"]) == (
        referral,
        1,
        None,
    )
    assert "destination refused" in logged["last_error"]
    assert "127.0.0.1, a loopback address" in logged["log"][0]["error"]
    assert logged["log"][0]["status_code"] is None
    # Kept and retried after its backoff, like any failed attempt: delivered once the
    # name points at a public address again.
    resolve_names({"ngo.example.org": [PUBLIC]})
    clock.advance(seconds=3)
    assert len(deliver(lambda _request: httpx.Response(204))) == 1
    assert webhook_log(client, provider)["delivered_at"] is not None


def test_a_redirect_is_not_followed_and_fails_the_attempt(
    client, provider, resolve_names, send_referral, deliver
) -> None:
    resolve_names({"ngo.example.org": [PUBLIC]})
    client.put("/providers/me/webhook", json={"url": HOOK}, headers=provider)
    send_referral()

    sent = deliver(
        lambda _request: httpx.Response(
            307, headers={"location": "http://169.254.169.254/latest/meta-data/"}
        )
    )

    assert [request.url.host for request in sent] == [PUBLIC]
    logged = webhook_log(client, provider)
    assert logged["delivered_at"] is None
    assert logged["log"][0]["status_code"] == 307
    assert "redirects are not followed" in logged["log"][0]["error"]


def production_settings(tmp_path: Path, **values: Any) -> ReferralSettings:
    return ReferralSettings(
        environment="production",
        database_url="postgresql+asyncpg://referral@db/referral",
        jwt_issuer="https://idp.example.org",
        jwt_jwks_file=tmp_path / "jwks.json",
        organisations_file=tmp_path / "organisations.yaml",
        operating_organisation="mosvy",
        field_keys_file=tmp_path / "field-keys.json",
        **values,
    )


def test_production_accepts_a_private_network_in_the_allow_list(tmp_path: Path) -> None:
    settings = production_settings(tmp_path, webhook_allowed_networks=["10.20.0.0/16"])

    assert [str(n) for n in settings.webhook_allowed_networks] == ["10.20.0.0/16"]


@pytest.mark.parametrize(
    "network", ["127.0.0.0/8", "127.0.0.1/32", "::1/128", "169.254.0.0/16", "0.0.0.0/0", "::/0"]
)
def test_production_refuses_loopback_or_metadata_in_the_allow_list(
    tmp_path: Path, network: str
) -> None:
    with pytest.raises(ValueError, match="webhook_allowed_networks"):
        production_settings(tmp_path, webhook_allowed_networks=[network])


@pytest.fixture
def loopback_receiver() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A real webhook receiver on the loopback: its port, and the headers it received."""
    received: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append({name.lower(): value for name, value in self.headers.items()})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, received
    server.shutdown()
    server.server_close()


def test_an_allowed_loopback_receiver_gets_the_notice_over_a_real_connection(
    client, provider, send_referral, loopback_receiver
) -> None:
    port, received = loopback_receiver
    url = f"http://localhost:{port}/hook"
    refused = client.put("/providers/me/webhook", json={"url": url}, headers=provider)
    context = client.app.state.referral
    allowing = context.settings.model_copy(
        update={"webhook_allowed_networks": (ip_network("127.0.0.0/8"), ip_network("::1/128"))}
    )
    client.app.state.referral = replace(context, settings=allowing)
    registered = client.put("/providers/me/webhook", json={"url": url}, headers=provider)
    send_referral()

    async def run_due() -> None:
        worker = DeliveryWorker(client.app.state.referral)
        async with httpx.AsyncClient() as http:
            await asyncio.gather(*await worker.dispatch_due(client.app.state.database, http))

    client.portal.call(run_due)

    assert refused.status_code == 422 and registered.status_code == 200, registered.text
    assert [(h["host"], h["connection"]) for h in received] == [(f"localhost:{port}", "close")]
    assert webhook_log(client, provider)["delivered_at"] is not None

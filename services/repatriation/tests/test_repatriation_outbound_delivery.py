"""Our messages to a counterpart: signed, retried with backoff while its endpoint is
down, delivered later, none lost, in order per case, the same key on every retry.

The service's own delivery loop runs; the counterpart's endpoint is an in-memory
transport that is down until the test brings it up, and time is the fake clock's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from repatriation.domain.signing import verify
from repatriation.settings import CounterpartLink
from repatriation.usecases.delivery import OutboundDispatcher

ENDPOINT = "http://vnm.example/nrm/messages"
NOTIFY = {"documents": ["victim_identification_form", "consent_to_return"]}


class Endpoint:
    """A counterpart endpoint, down until told otherwise; it keeps what it got."""

    def __init__(self) -> None:
        self.up = False
        self.answer = 202
        self.received: list[httpx.Request] = []
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(request)
        return httpx.Response(self.answer)


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
def liaison_transport(endpoint: Endpoint) -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(endpoint.handle)


@pytest.fixture
def options() -> dict[str, object]:
    return {
        "counterparts": {
            "VNM": CounterpartLink(
                organisations=("vnm-molisa",), endpoint=ENDPOINT, secret="test-secret-vnm"
            )
        },
        "liaison_retry_base_seconds": 2.0,
    }


def until(probe: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not reached: {probe()!r}")


def complete(client, officer, case_id: str, step: str, **body) -> None:
    response = client.post(f"/cases/{case_id}/steps", json={"step": step, **body}, headers=officer)
    assert response.status_code == 201, response.text


def test_a_message_to_a_counterpart_that_is_down_is_retried_and_delivered_later_once(
    client, officer, clock, endpoint, outbound_case, liaison_rows
) -> None:
    case = outbound_case("VNM")
    complete(client, officer, case["id"], "notification", **NOTIFY)

    until(lambda: liaison_rows("sent")[0]["attempts"] == 1)
    [pending] = liaison_rows("sent")
    assert pending["status"] == "pending" and "unreachable" in pending["last_error"]
    time.sleep(0.3)
    assert endpoint.calls == 1  # backing off: the fake clock has not moved

    clock.advance(seconds=3)
    until(lambda: liaison_rows("sent")[0]["attempts"] == 2)  # still down
    endpoint.up = True
    clock.advance(minutes=10)
    until(lambda: liaison_rows("sent")[0]["status"] == "delivered")
    clock.advance(hours=1)
    time.sleep(0.3)

    [sent] = liaison_rows("sent")
    assert sent["attempts"] == 3
    [request] = endpoint.received  # delivered once, never again
    assert request.headers["Idempotency-Key"] == sent["idempotency_key"]
    assert request.content == sent["body"].encode()
    timestamp = request.headers["X-NRM-Timestamp"]
    assert (
        verify(
            "test-secret-vnm",
            timestamp=timestamp,
            given=request.headers["X-NRM-Signature"],
            body=request.content,
            now=float(timestamp),
            tolerance_seconds=1,
        )
        is None
    )


def test_the_backoff_doubles_up_to_its_cap(client) -> None:
    dispatcher = OutboundDispatcher(client.app.state.repatriation)

    waits = [dispatcher.backoff(attempt) for attempt in (1, 2, 3, 30)]

    assert timedelta(seconds=1.6) <= waits[0] <= timedelta(seconds=2)
    assert timedelta(seconds=3.2) <= waits[1] <= timedelta(seconds=4)
    assert timedelta(seconds=6.4) <= waits[2] <= timedelta(seconds=8)
    assert timedelta(seconds=240) <= waits[3] <= timedelta(seconds=300)


def test_a_later_message_of_a_case_waits_for_the_earlier_one(
    client, officer, agency, clock, endpoint, outbound_case, liaison_rows
) -> None:
    case = outbound_case("VNM")
    complete(client, officer, case["id"], "notification", **NOTIFY)
    until(lambda: liaison_rows("sent")[0]["attempts"] == 1)
    vietnam = agency("vnm-molisa", "VNM")
    for step, documents, details in [
        ("receipt_acknowledged", [], {"contact_name": "Ms Hoa"}),
        ("identity_verified", ["verification_report"], {}),
        ("family_assessment", ["family_assessment_report"], {}),
        ("travel_documents_issued", ["travel_document"], {}),
    ]:
        answer = vietnam.step(case["id"], step, documents=documents, details=details)
        assert answer.status_code == 201, answer.text
    complete(
        client,
        officer,
        case["id"],
        "handover_proposed",
        details={"handover_date": "2026-04-20", "border_point": "bavet-moc-bai"},
    )
    time.sleep(0.3)
    assert [row["attempts"] for row in liaison_rows("sent")] == [1, 0]  # the second waits

    endpoint.up = True
    clock.advance(minutes=1)
    until(lambda: all(row["status"] == "delivered" for row in liaison_rows("sent")))

    steps = [json.loads(request.content)["step"]["id"] for request in endpoint.received]
    assert steps == ["notification", "handover_proposed"]


def test_a_message_the_counterpart_refuses_is_kept_as_rejected_not_retried(
    client, officer, clock, endpoint, outbound_case, liaison_rows
) -> None:
    endpoint.up, endpoint.answer = True, 401
    case = outbound_case("VNM")
    complete(client, officer, case["id"], "notification", **NOTIFY)

    until(lambda: liaison_rows("sent")[0]["status"] == "rejected")
    clock.advance(hours=1)
    time.sleep(0.3)

    [sent] = liaison_rows("sent")
    assert (sent["response_status"], sent["attempts"]) == (401, 1)
    timeline = client.get(f"/cases/{case['id']}/timeline", headers=officer).json()["entries"]
    assert timeline[-1]["delivery"]["status"] == "rejected"


def test_the_notification_carries_the_person_and_the_consent_no_later_message_does(
    client, officer, outbound_case, liaison_rows
) -> None:
    case = outbound_case("VNM")
    complete(client, officer, case["id"], "notification", **NOTIFY)
    client.post(f"/cases/{case['id']}/closure", json={"outcome": "withdrawn"}, headers=officer)

    first, second = (json.loads(row["body"]) for row in liaison_rows("sent"))
    assert first["person"]["family_name"] == "Nguyen"
    assert first["consent_to_return"]["status"] == "given"
    assert second["message_type"] == "case_closed" and "person" not in second

"""Nothing lost, nothing doubled: the outbox, the idempotent consumer and the dead-letter
topic, against the real broker and real service processes."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import date

import httpx
import pytest

from nrm_contracts import Envelope, Topic, dead_letter_topic
from nrm_contracts.events.identification import AgeBand, ConsentBasis, Sex, VictimPresumed
from nrm_deploy.testing import (
    bearer,
    eventually,
    on_both_engines,
    produce_records,
    read_topic,
    screening_form,
)

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def referral_cases(referral_url: str, token: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{referral_url}/referral-cases", params=params, headers=bearer(token))
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]
PRESUMPTION = {"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"}


def victim_presumed_event() -> Envelope:
    return Envelope(
        source="/nrm/identification",
        data=VictimPresumed(
            case_id=uuid.uuid4(),
            decision_id=uuid.uuid4(),
            person_ref=uuid.uuid4(),
            decided_on=date(2026, 3, 4),
            sex=Sex.MALE,
            age_band=AgeBand.FROM_25_TO_39,
            is_child=False,
            referral_consent_basis=ConsentBasis.OWN_CONSENT,
            recovery_period_ends_on=date(2026, 4, 3),
            final_decision_due_on=date(2026, 4, 18),
        ),
        traceparent=TRACEPARENT,
    )


def presume_victim(client: httpx.Client, decider: dict[str, str]) -> str:
    """A screening with consent to referral, then a positive preliminary decision."""
    screened = client.post("/screenings", json={**screening_form(), "consents": GUARDIAN_CONSENT})
    assert screened.status_code == 201, screened.text
    case_id: str = screened.json()["case_id"]
    decided = client.post(f"/cases/{case_id}/decisions", json=PRESUMPTION, headers=decider)
    assert decided.status_code == 201, decided.text
    return case_id


def as_record(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    message = envelope.to_kafka()
    key = message.key.encode() if isinstance(message.key, str) else message.key
    assert key is not None
    return key, message.value, list(message.headers.items())


def consumed(metrics_text: str, outcome: str) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("nrm_consumer_events_total{") and f'outcome="{outcome}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_killed_consumer_loses_nothing_and_doubles_nothing(start_service, mint) -> None:
    identification = start_service("identification")
    referral = start_service("referral", wait_for="/readyz")
    screener = bearer(mint("moi-dahtjp", "screener"))
    decider = bearer(mint("mosvy", "competent_authority"))
    coordinator = mint("mosvy", "case_manager")
    total = 400
    recorded: list[str] = []

    def record_screenings() -> None:
        with httpx.Client(base_url=identification.url, headers=screener, timeout=30) as client:
            for _ in range(total):
                recorded.append(presume_victim(client, decider))

    flow = threading.Thread(target=record_screenings)
    flow.start()
    eventually(lambda: len(referral_cases(referral.url, coordinator)) >= 20, interval=0.02)
    referral.kill()  # SIGKILL mid-stream: no offset commit, no clean shutdown
    recorded_at_kill = len(recorded)
    referral.start(wait_for="/readyz")
    flow.join(timeout=120)

    assert recorded_at_kill < total, "the kill must happen while decisions flow"
    assert len(recorded) == total
    cases = eventually(
        lambda: (lambda c: c if len(c) >= total else None)(
            referral_cases(referral.url, coordinator)
        ),
        timeout=60,
    )
    assert isinstance(cases, list)
    opened_for = [case["identification_case_id"] for case in cases]
    assert len(opened_for) == total, "a referral case was doubled"
    assert set(opened_for) == set(recorded), "a presumed victim was lost"


async def test_the_same_event_delivered_twice_has_one_effect(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    referral = start_service("referral", wait_for="/readyz")
    event = victim_presumed_event()

    await produce_records(
        kafka_bootstrap, f"{topic_prefix}{Topic.IDENTIFICATION}", [as_record(event)] * 2
    )

    metrics = eventually(
        lambda: (lambda text: text if consumed(text, "duplicate") >= 1 else None)(
            httpx.get(f"{referral.url}/metrics").text
        )
    )
    assert isinstance(metrics, str)
    assert consumed(metrics, "processed") == 1
    cases = referral_cases(referral.url, mint("mosvy", "case_manager"))
    assert [case["identification_case_id"] for case in cases] == [str(event.data.subject())]


async def test_malformed_events_are_dead_lettered_and_the_consumer_goes_on(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    referral = start_service("referral", wait_for="/readyz")
    topic = f"{topic_prefix}{Topic.IDENTIFICATION}"
    valid = victim_presumed_event()
    wrong_type = json.loads(valid.to_kafka().value)
    wrong_type["id"] = str(uuid.uuid4())
    wrong_type["data"]["sex"] = "not-a-sex"
    not_json = b"\x00this is not an event"

    await produce_records(
        kafka_bootstrap,
        topic,
        [
            (valid.subject.encode(), not_json, []),
            (valid.subject.encode(), json.dumps(wrong_type).encode(), []),
            as_record(valid),
        ],
    )

    coordinator = mint("mosvy", "case_manager")
    eventually(lambda: referral_cases(referral.url, coordinator))
    parked = await read_topic(
        kafka_bootstrap, dead_letter_topic(topic, "referral"), expect=2, within=30
    )
    assert [record.value for record in parked] == [not_json, json.dumps(wrong_type).encode()]
    reasons = [dict(record.headers)["nrm.dlq.reason"].decode() for record in parked]
    assert "not a CloudEvents JSON envelope" in reasons[0]
    assert "data.sex" in reasons[1]
    for record in parked:
        headers = dict(record.headers)
        assert headers["nrm.dlq.topic"].decode() == topic
        assert headers["nrm.dlq.consumer-group"] == b"referral"
    cases = referral_cases(referral.url, coordinator)
    assert [case["identification_case_id"] for case in cases] == [valid.subject]


@pytest.mark.parametrize("count", [1])
def test_outbox_keeps_events_while_the_broker_is_down(start_service, mint, tmp_path, count) -> None:
    from nrm_deploy.kafka_cluster import KafkaCluster

    cluster = KafkaCluster(tmp_path / "own-kafka", nodes=1)
    cluster.start()
    try:
        own_broker = {"kafka_bootstrap_servers": cluster.bootstrap_servers}
        identification = start_service("identification", **own_broker)
        referral = start_service("referral", wait_for="/readyz", **own_broker)
        cluster.stop()

        with httpx.Client(
            base_url=identification.url,
            headers=bearer(mint("moi-dahtjp", "screener")),
            timeout=10,
        ) as client:
            case_id = presume_victim(client, bearer(mint("mosvy", "competent_authority")))

        def broker_reported_down() -> bool:
            ready = httpx.get(f"{identification.url}/readyz", timeout=10)
            return ready.status_code == 503 and ready.json()["checks"]["broker"] is False

        eventually(broker_reported_down, timeout=30)

        cluster.start()
        coordinator = mint("mosvy", "case_manager")
        cases = eventually(lambda: referral_cases(referral.url, coordinator), timeout=90)
        assert isinstance(cases, list)
        assert [case["identification_case_id"] for case in cases] == [case_id]
        eventually(lambda: httpx.get(f"{identification.url}/readyz").status_code == 200)
    finally:
        cluster.stop()

"""Identification and referral on the real broker: a police screening, the Competent
Authority's preliminary decision, the referral case it opens; a withdrawal of consent,
published and recorded by referral."""

from __future__ import annotations

from typing import Any

import httpx

from nrm_contracts import Envelope, Topic
from nrm_deploy.testing import bearer, eventually, on_both_engines, read_topic, screening_form

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines

GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]
SVAY_PAK = {
    "acts": ["harbouring", "receipt"],
    "purposes": ["sexual_exploitation"],
    "person_consented": True,
}


def referral_case_of(referral_url: str, token: str, case_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{referral_url}/referral-cases?limit=500", headers=bearer(token))
    assert response.status_code == 200, response.text
    cases = [c for c in response.json()["items"] if c["identification_case_id"] == case_id]
    return cases[0] if cases else None


def post(url: str, body: dict[str, Any], token: str) -> httpx.Response:
    return httpx.post(url, json=body, headers=bearer(token))


def presumed_victim(identification_url: str, mint) -> str:
    """A police screening of a girl of about 16 in Phnom Penh, presumed a victim."""
    screened = httpx.post(
        f"{identification_url}/screenings",
        json={
            **screening_form(),
            "encounter": {"type": "police_operation", "date": "2026-11-20", "province_code": "12"},
            "indicators": SVAY_PAK,
            "consents": GUARDIAN_CONSENT,
        },
        headers=bearer(mint("moi-dahtjp", "screener")),
    )
    assert screened.status_code == 201, screened.text
    assert screened.json()["presumptive_assessment"]["result"] == "presumed_victim"
    case_id: str = screened.json()["case_id"]
    decided = httpx.post(
        f"{identification_url}/cases/{case_id}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
        headers=bearer(mint("mosvy", "competent_authority")),
    )
    assert decided.status_code == 201, decided.text
    return case_id


async def identification_events(kafka_bootstrap: str, topic_prefix: str, expect: int) -> list:
    records = await read_topic(
        kafka_bootstrap, f"{topic_prefix}{Topic.IDENTIFICATION}", expect=expect, within=30
    )
    return [Envelope.from_kafka(r.key, r.value, dict(r.headers)) for r in records]


async def test_police_screening_then_preliminary_decision_opens_a_referral_case(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    identification = start_service("identification")
    referral = start_service("referral", wait_for="/readyz")

    case_id = presumed_victim(identification.url, mint)

    coordinator = mint("mosvy", "case_manager")
    opened = eventually(lambda: referral_case_of(referral.url, coordinator, case_id))
    assert isinstance(opened, dict)
    assert (opened["status"], opened["consent_basis"]) == ("open", "guardian")
    assert (opened["is_child"], opened["province_code"]) == (True, "12")
    published = await identification_events(kafka_bootstrap, topic_prefix, expect=4)
    # The person index announces the screening's person too, keyed by the person.
    about_case = [e for e in published if not e.type.startswith("kh.nrm.identification.person.")]
    assert [e.type.split(".")[3:5] for e in about_case] == [
        ["screening", "recorded"],
        ["consent", "changed"],
        ["victim", "presumed"],
    ]
    assert {e.subject for e in about_case} == {case_id}  # one key: the case's order holds


async def test_a_withdrawal_of_consent_is_published_and_recorded_by_referral(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    identification = start_service("identification")
    referral = start_service("referral", wait_for="/readyz")
    case_id = presumed_victim(identification.url, mint)
    coordinator = mint("mosvy", "case_manager")
    eventually(lambda: referral_case_of(referral.url, coordinator, case_id))

    withdrawn = post(
        f"{identification.url}/cases/{case_id}/consents",
        {"purpose": "referral", "status": "withdrawn", "basis": "guardian"},
        mint("moi-dahtjp", "screener"),
    )

    assert withdrawn.status_code == 201, withdrawn.text
    # screening, consent, person.linked (keyed by the person: in any order), presumed,
    # then the withdrawal
    published = await identification_events(kafka_bootstrap, topic_prefix, expect=5)
    about_case = [e for e in published if e.subject == case_id]
    last = about_case[-1]
    assert last.type == "kh.nrm.identification.consent.changed.v1"
    assert (last.subject, last.data.purpose, last.data.status) == (case_id, "referral", "withdrawn")
    recorded = eventually(
        lambda: (lambda c: c if c and c["consent_withdrawn_at"] else None)(
            referral_case_of(referral.url, coordinator, case_id)
        )
    )
    assert isinstance(recorded, dict)
    assert recorded["status"] == "open"  # the case stays; nothing more is done on it


async def test_a_screening_without_a_decision_opens_no_referral_case(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    identification = start_service("identification")
    referral = start_service("referral", wait_for="/readyz")
    screened = post(
        f"{identification.url}/screenings",
        {**screening_form(), "consents": GUARDIAN_CONSENT},
        mint("moi-dahtjp", "screener"),
    )
    assert screened.status_code == 201

    await identification_events(kafka_bootstrap, topic_prefix, expect=2)
    metrics = eventually(
        lambda: (lambda t: t if 'outcome="ignored"' in t else None)(
            httpx.get(f"{referral.url}/metrics").text
        )
    )

    assert isinstance(metrics, str)
    assert (
        referral_case_of(referral.url, mint("mosvy", "case_manager"), screened.json()["case_id"])
        is None
    )

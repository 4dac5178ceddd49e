"""Prosecution liaison across real processes and the real broker: identification keeps
what the prosecution's status view says of a linked victim from the events on referral's
and repatriation's topics, consumed by its own consumer group.

- the whole way with the real services: a girl screened and presumed a victim is
  referred by the real referral service, admitted to a shelter, and the court's
  prosecutor sees her "in_assistance", with MOSVY to contact and nothing of the shelter;
- identification alone, fed the events referral's and repatriation's outboxes publish
  (the contract models, on the real topics): in assistance, then repatriated to Viet Nam;
  her consent to legal proceedings withdrawn, the view drops her case.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from nrm_contracts import Actor, Envelope, EventPayload, Topic
from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import (
    PlacementStarted,
    PopulationGroup,
    ReferralCaseOpened,
)
from nrm_contracts.events.repatriation import (
    CaseOrigin,
    Direction,
    HandoverCompleted,
    RepatriationProposed,
)
from nrm_deploy.testing import bearer, eventually, on_both_engines, produce_records, screening_form
from nrm_runtime.field_crypto import create_key_file

pytestmark = on_both_engines

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CA = ("mosvy", "competent_authority")
PROSECUTOR = ("court-phnom-penh", "prosecutor")
RECORD = {
    "reference_kind": "court_file",
    "reference": "PP-2026/3381",
    "investigating_organisation": "moi-dahtjp",
    "prosecuting_office": "court-phnom-penh",
}


def _call(method: str, url: str, who: tuple[str, str], mint: Any, body: Any = None) -> Any:
    answer = httpx.request(method, url, json=body, headers=bearer(mint(*who)), timeout=10)
    assert answer.status_code < 300, answer.text
    return answer.json()


def _linked_victim(identification: Any, mint: Any, form: dict[str, Any]) -> tuple[str, str]:
    """A person screened by the police, presumed a victim, consenting to legal
    proceedings, linked to a court's proceedings record: (record id, case id)."""
    screened = _call(
        "POST", f"{identification.url}/screenings", ("moi-dahtjp", "screener"), mint, form
    )
    case_id = screened["case_id"]
    _call(
        "POST",
        f"{identification.url}/cases/{case_id}/decisions",
        CA,
        mint,
        {"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
    )
    _call(
        "POST",
        f"{identification.url}/cases/{case_id}/consents",
        CA,
        mint,
        {"purpose": "legal_proceedings", "status": "given", "basis": "guardian"},
    )
    record = _call(
        "POST",
        f"{identification.url}/proceedings",
        CA,
        mint,
        {**RECORD, "reference": f"PP-{uuid.uuid4().hex[:8]}"},
    )
    _call(
        "POST",
        f"{identification.url}/proceedings/{record['id']}/links",
        CA,
        mint,
        {"case_id": case_id},
    )
    return record["id"], case_id


def _victims(identification: Any, mint: Any, proceedings_id: str) -> list[dict[str, Any]]:
    answer = _call(
        "GET", f"{identification.url}/proceedings/{proceedings_id}/victims", PROSECUTOR, mint
    )
    victims: list[dict[str, Any]] = answer["victims"]
    return victims


def test_a_victim_admitted_by_the_real_referral_service_is_in_assistance(
    start_service, mint, tmp_path: Path
) -> None:
    registry = start_service("shelter-registry", wait_for="/readyz", LOAD_REFERENCE_DATA="true")
    identification = start_service("identification", wait_for="/readyz")
    referral = start_service(
        "referral",
        wait_for="/readyz",
        FIELD_KEYS_FILE=str(create_key_file(tmp_path / "referral-field-keys.json")),
    )
    coordinator = ("mosvy", "case_manager")
    form = {
        **screening_form(),
        "consents": [{"purpose": "referral", "given": True, "basis": "guardian"}],
    }
    proceedings_id, _ = _linked_victim(identification, mint, form)

    case_id = eventually(
        lambda: _call("GET", f"{referral.url}/referral-cases", coordinator, mint)["items"]
    )[0]["id"]
    _call(
        "PUT",
        f"{referral.url}/referral-cases/{case_id}/assessment",
        coordinator,
        mint,
        {"needs": ["safe_accommodation"], "urgency": "high", "languages": ["km"]},
    )

    def shelter_candidates() -> list[dict[str, Any]]:
        matched = _call(
            "POST", f"{referral.url}/referral-cases/{case_id}/matching", coordinator, mint
        )
        need = next(m for m in matched["matches"] if m["need"] == "safe_accommodation")
        return list(need["candidates"])

    best = eventually(shelter_candidates, timeout=60)[0]
    facility_id, shelter = best["facility_id"], best["organisation_id"]
    facility = _call("GET", f"{registry.url}/facilities/{facility_id}", coordinator, mint)
    referral_id = _call(
        "POST",
        f"{referral.url}/referral-cases/{case_id}/referrals",
        coordinator,
        mint,
        {
            "facility_id": facility_id,
            "needs": ["safe_accommodation"],
            "officer_contact": "+855 12 000 111",
        },
    )["id"]
    for action, who in [
        ("submit", coordinator),
        ("sign-off", CA),
        ("accept", (shelter, "provider_staff")),
        ("admit", (shelter, "provider_staff")),
    ]:
        _call("POST", f"{referral.url}/referrals/{referral_id}/{action}", who, mint)

    [victim] = eventually(
        lambda: [
            v
            for v in _victims(identification, mint, proceedings_id)
            if v["whereabouts"] != "whereabouts_unknown"
        ],
        timeout=30,
    )

    assert (victim["whereabouts"], victim["repatriated_to"]) == ("in_assistance", None)
    assert victim["contact"] == {"organisation": "mosvy"}
    assert victim["non_punishment"] is True
    # Nothing of the shelter: not its name, organisation, facility, place or phone.
    answer = httpx.get(
        f"{identification.url}/proceedings/{proceedings_id}/victims",
        headers=bearer(mint(*PROSECUTOR)),
        timeout=10,
    ).text
    shelter_facts = [facility_id, shelter, facility["name"], json.dumps(facility["location"])]
    shelter_facts += [str(v) for v in (facility.get("contacts") or {}).values() if v]
    assert [fact for fact in shelter_facts if fact and fact in answer] == []


def _publish(bootstrap: str, prefix: str, topic: Topic, event: EventPayload, actor: Actor) -> None:
    """As the owning service's outbox relay publishes an event."""
    message = Envelope(
        source=f"/nrm/{topic.value.removeprefix('nrm.')}",
        data=event,
        traceparent=TRACEPARENT,
        actor=actor,
    ).to_kafka()
    key = message.key.encode() if isinstance(message.key, str) else message.key
    asyncio.run(
        produce_records(
            bootstrap, f"{prefix}{topic}", [(key, message.value, list(message.headers.items()))]
        )
    )


def test_a_linked_victim_in_assistance_then_repatriated_then_withdrawn(
    start_service, mint, kafka_bootstrap, topic_prefix
) -> None:
    identification = start_service("identification", wait_for="/readyz")
    proceedings_id, case_id = _linked_victim(
        identification, mint, screening_form(nationality="VNM")
    )
    referral_case, repatriation_case = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)

    def publish(topic: Topic, event: EventPayload, actor: Actor) -> None:
        _publish(kafka_bootstrap, topic_prefix, topic, event, actor)

    def whereabouts() -> tuple[str, str | None]:
        [victim] = _victims(identification, mint, proceedings_id)
        return victim["whereabouts"], victim["repatriated_to"]

    publish(
        Topic.REFERRAL,
        ReferralCaseOpened(
            referral_case_id=referral_case, identification_case_id=uuid.UUID(case_id), opened_at=now
        ),
        Actor("mosvy", "competent_authority"),
    )
    publish(
        Topic.REFERRAL,
        PlacementStarted(
            referral_case_id=referral_case,
            referral_id=uuid.uuid4(),
            placement_id=uuid.uuid4(),
            facility_id=uuid.uuid4(),
            population_group=PopulationGroup.GIRLS,
            sex=Sex.FEMALE,
            age_band=AgeBand.FROM_12_TO_17,
            started_at=now,
        ),
        Actor("ngo-shelter-a", "provider_staff"),
    )
    assert eventually(lambda: whereabouts() == ("in_assistance", None), timeout=30)

    returned = {
        "repatriation_case_id": repatriation_case,
        "direction": Direction.OUTBOUND,
        "counterpart_country": "VNM",
    }
    publish(
        Topic.REPATRIATION,
        RepatriationProposed(
            **returned,
            sop_id="khm-vnm-2009",
            sop_version="2009",
            origin=CaseOrigin.OFFICER,
            identification_case_id=uuid.UUID(case_id),
            sex=Sex.FEMALE,
            is_child=True,
            proposed_at=now,
        ),
        Actor("mosvy", "case_manager"),
    )
    publish(
        Topic.REPATRIATION,
        HandoverCompleted(
            **returned,
            identification_case_id=uuid.UUID(case_id),
            handed_over_on=date.today(),
            border_point="bavet-moc-bai",
            sex=Sex.FEMALE,
            is_child=True,
            completed_at=datetime.now(UTC),
        ),
        Actor("mosvy", "case_manager"),
    )
    assert eventually(lambda: whereabouts() == ("repatriated", "VNM"), timeout=30)

    _call(
        "POST",
        f"{identification.url}/cases/{case_id}/consents",
        CA,
        mint,
        {"purpose": "legal_proceedings", "status": "withdrawn", "basis": "guardian"},
    )

    assert _victims(identification, mint, proceedings_id) == []
    record = _call("GET", f"{identification.url}/proceedings/{proceedings_id}", PROSECUTOR, mint)
    assert record["linked_cases"] == 0

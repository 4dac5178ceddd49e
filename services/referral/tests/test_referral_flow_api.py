"""The referral service in-process: assessment, matching, the lifecycle by role, re-routing,
deadlines on a fake clock, gaps, provider isolation and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from standardwebhooks import Webhook

from referral.entrypoints.events import reception_handlers
from referral.usecases.delivery import DeliveryWorker

GIRLS_A = UUID("00000000-0000-4000-8000-00000000000a")
GIRLS_B = UUID("00000000-0000-4000-8000-00000000000b")
LEGAL = UUID("00000000-0000-4000-8000-00000000000c")


@pytest.fixture
def feed_events(client, handle_event):
    """Handle events through the app's handlers (as its consumer does)."""
    database = client.app.state.database
    handlers = reception_handlers(client.app.state.referral)

    async def _handle(event: Any) -> None:
        async with database.unit_of_work() as uow:
            await handlers[type(event)](event, uow)
            await uow.commit()

    def _feed(*events: Any) -> None:
        for event in events:
            client.portal.call(_handle, event)

    return _feed


@pytest.fixture
def directory(feed_events, facility_event) -> None:
    feed_events(
        # Same province as the girl: ranked first.
        facility_event(GIRLS_A, "ngo-shelter-a"),
        facility_event(GIRLS_B, "ngo-shelter-b", location={"province_code": "12"}),
        facility_event(
            LEGAL,
            "ngo-legal-aid",
            facility_type="legal_aid_office",
            services=["legal_aid"],
            capacity={"beds_total": 0, "beds_occupied": 0, "beds_reserved": 0, "beds_free": 0},
        ),
    )


@pytest.fixture
def coordinator(auth):
    return auth("mosvy", "case_manager")


@pytest.fixture
def case_id(client, open_cases, coordinator, directory) -> str:
    """A girl presumed a victim, assessed as needing a safe place and psychosocial care."""
    case = str(open_cases(1)[0].referral_case_id)
    assessed = client.put(
        f"/referral-cases/{case}/assessment",
        json={
            "needs": ["safe_accommodation", "psychosocial"],
            "urgency": "high",
            "languages": ["km"],
            "wishes": "wants to stay near her sister",
        },
        headers=coordinator,
    )
    assert assessed.status_code == 200, assassed_text(assessed)
    return case


def assassed_text(response: httpx.Response) -> str:
    return response.text


def refer(client, case_id: str, coordinator, facility: UUID = GIRLS_A) -> dict[str, Any]:
    created = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            "facility_id": str(facility),
            "needs": ["safe_accommodation"],
            "officer_contact": "+855 12 000 111",
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    return created.json()


def step(client, referral_id: str, action: str, headers, **body: Any) -> httpx.Response:
    return client.post(f"/referrals/{referral_id}/{action}", json=body or None, headers=headers)


def sent_referral(client, case_id, coordinator, auth, facility: UUID = GIRLS_A) -> str:
    referral = refer(client, case_id, coordinator, facility)
    assert step(client, referral["id"], "submit", coordinator).json()["state"] == "awaiting_signoff"
    signed = step(client, referral["id"], "sign-off", auth("mosvy", "competent_authority"))
    assert signed.json()["state"] == "sent", signed.text
    return str(referral["id"])


def outbox_types(outbox_rows) -> list[str]:
    return [row["event_type"] for row in outbox_rows()]


def test_matching_ranks_candidates_with_reasons(client, case_id, coordinator) -> None:
    matched = client.post(f"/referral-cases/{case_id}/matching", headers=coordinator)

    assert matched.status_code == 200, matched.text
    shelter = next(m for m in matched.json()["matches"] if m["need"] == "safe_accommodation")
    assert [c["facility_id"] for c in shelter["candidates"]] == [str(GIRLS_A), str(GIRLS_B)]
    assert "in the person's province (02)" in shelter["candidates"][0]["reasons"]
    assert "5 free beds now" in shelter["candidates"][0]["reasons"]
    assert shelter["gap_recorded"] is False


def test_a_full_facility_is_no_candidate_for_a_bed(
    client, case_id, coordinator, feed_events, facility_event
) -> None:
    full = {"beds_total": 10, "beds_occupied": 10, "beds_reserved": 0, "beds_free": 0}
    feed_events(facility_event(GIRLS_A, "ngo-shelter-a", state_version=2, capacity=full))
    # An older version arriving late changes nothing: the newest state wins.
    feed_events(facility_event(GIRLS_A, "ngo-shelter-a", state_version=1))

    matched = client.post(f"/referral-cases/{case_id}/matching", headers=coordinator).json()

    shelter = next(m for m in matched["matches"] if m["need"] == "safe_accommodation")
    assert [c["facility_id"] for c in shelter["candidates"]] == [str(GIRLS_B)]


def test_the_whole_lifecycle_by_role_publishes_its_events(
    client, case_id, coordinator, auth, outbox_rows, parse_outbox_row
) -> None:
    provider = auth("ngo-shelter-a", "provider_staff")
    referral_id = sent_referral(client, case_id, coordinator, auth)

    assert step(client, referral_id, "accept", provider).json()["state"] == "accepted"
    assert step(client, referral_id, "admit", provider).json()["state"] == "admitted"
    exited = step(client, referral_id, "exit", provider, exit_reason="reintegrated")
    assert exited.json()["state"] == "exited"
    closed = step(client, referral_id, "close", coordinator)

    assert closed.status_code == 200, closed.text
    assert [h["to_state"] for h in closed.json()["history"]] == [
        "awaiting_signoff",
        "sent",
        "accepted",
        "admitted",
        "exited",
        "closed",
    ]
    types = outbox_types(outbox_rows)
    assert [t.removeprefix("kh.nrm.referral.") for t in types[1:]] == [
        "referral.opened.v1",
        "referral.sent.v1",
        "referral.accepted.v1",
        "placement.started.v1",
        "placement.ended.v1",
        "referral.closed.v1",
    ]
    started = parse_outbox_row(outbox_rows()[4]).data
    assert (str(started.facility_id), started.population_group) == (str(GIRLS_A), "girls")
    visits = client.get(f"/referrals/{referral_id}/follow-ups", headers=coordinator).json()
    assert len(visits) == 3


def test_out_of_order_is_409_naming_the_allowed_transitions(
    client, case_id, coordinator, auth
) -> None:
    referral = refer(client, case_id, coordinator)

    refused = step(client, referral["id"], "accept", auth("mosvy", "case_manager"))

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "transition_not_allowed"
    assert refused.json()["error"]["message"] == (
        "cannot accept a referral that is draft; allowed now: submit, cancel"
    )


def test_acting_on_a_closed_referral_is_409_saying_it_has_ended(
    client, case_id, coordinator, auth
) -> None:
    provider = auth("ngo-shelter-a", "provider_staff")
    referral_id = sent_referral(client, case_id, coordinator, auth)
    for action, body in (("accept", {}), ("admit", {}), ("exit", {"exit_reason": "left"})):
        step(client, referral_id, action, provider, **body)
    step(client, referral_id, "close", coordinator)

    again = step(client, referral_id, "cancel", coordinator, reason="other")

    assert again.status_code == 409
    assert "allowed now: none: the referral has ended" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("organisation", "role", "action"),
    [
        ("mosvy", "case_manager", "sign-off"),  # the coordinator does not sign off
        ("ngo-shelter-a", "provider_staff", "sign-off"),  # not visible yet: 404 below
    ],
)
def test_only_mosvy_signs_off(
    client, case_id, coordinator, auth, organisation, role, action
) -> None:
    referral = refer(client, case_id, coordinator)
    step(client, referral["id"], "submit", coordinator)

    denied = step(client, referral["id"], action, auth(organisation, role))

    assert denied.status_code == (403 if organisation == "mosvy" else 404)


def test_a_declined_referral_is_rerouted_to_the_next_candidate(
    client, case_id, coordinator, auth
) -> None:
    referral_id = sent_referral(client, case_id, coordinator, auth)

    declined = step(
        client,
        referral_id,
        "decline",
        auth("ngo-shelter-a", "provider_staff"),
        reason="no_capacity",
    )

    assert declined.json()["state"] == "declined"
    referrals = client.get(f"/referral-cases/{case_id}/referrals", headers=coordinator).json()
    assert [(r["facility_id"], r["state"]) for r in referrals] == [
        (str(GIRLS_A), "declined"),
        (str(GIRLS_B), "awaiting_signoff"),  # residential: MOSVY signs the new one off too
    ]


def test_decline_needs_a_reason_from_the_list(client, case_id, coordinator, auth) -> None:
    referral_id = sent_referral(client, case_id, coordinator, auth)
    provider = auth("ngo-shelter-a", "provider_staff")

    missing = step(client, referral_id, "decline", provider)
    unknown = step(client, referral_id, "decline", provider, reason="busy")

    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "reason")
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "reason")
    assert client.get(f"/referrals/{referral_id}", headers=coordinator).json()["state"] == "sent"


def test_an_unanswered_referral_expires_escalates_and_is_rerouted(
    client, case_id, coordinator, auth, clock, outbox_rows
) -> None:
    from referral.usecases.deadlines import expire_overdue

    referral_id = sent_referral(client, case_id, coordinator, auth)
    context = client.app.state.referral
    database = client.app.state.database

    async def sweep() -> int:
        async with database.unit_of_work() as uow:
            count = await expire_overdue(uow, context)
            await uow.commit()
            return count

    clock.advance(hours=47)
    assert client.portal.call(sweep) == 0
    clock.advance(hours=2)
    assert client.portal.call(sweep) == 1

    expired = client.get(f"/referrals/{referral_id}", headers=coordinator).json()
    assert expired["state"] == "expired" and expired["escalated_at"] is not None
    escalated = client.get("/escalations", headers=coordinator).json()
    assert [e["id"] for e in escalated] == [referral_id]
    referrals = client.get(f"/referral-cases/{case_id}/referrals", headers=coordinator).json()
    assert referrals[-1]["facility_id"] == str(GIRLS_B)
    assert "kh.nrm.referral.referral.expired.v1" in outbox_types(outbox_rows)


def test_an_adult_man_with_no_eligible_provider_is_a_gap(
    client, victim_presumed, handle_event, coordinator, directory
) -> None:
    man = victim_presumed(
        sex="male",
        age_band="25_to_39",
        is_child=False,
        referral_consent_basis="own_consent",
        exploitation_types=["forced_labour"],
        province_code="01",
    )
    opened = client.portal.call(handle_event, client.app.state.database, man)
    case_id = str(opened[0].data.referral_case_id)
    client.put(
        f"/referral-cases/{case_id}/assessment",
        json={"needs": ["safe_accommodation", "legal_aid"], "urgency": "immediate"},
        headers=coordinator,
    )

    matched = client.post(f"/referral-cases/{case_id}/matching", headers=coordinator).json()
    client.post(f"/referral-cases/{case_id}/matching", headers=coordinator)  # counted once

    shelter = next(m for m in matched["matches"] if m["need"] == "safe_accommodation")
    assert shelter == {"need": "safe_accommodation", "candidates": [], "gap_recorded": True}
    gaps = client.get("/gaps?group=adult_men&need=safe_accommodation", headers=coordinator).json()
    assert gaps == [
        {
            "population_group": "adult_men",
            "need": "safe_accommodation",
            "province_code": "01",
            "count": 1,
        }
    ]


def test_ngo_a_never_sees_nor_acts_on_ngo_b_referrals(client, case_id, coordinator, auth) -> None:
    referral_id = sent_referral(client, case_id, coordinator, auth)  # to ngo-shelter-a
    ngo_b = auth("ngo-shelter-b", "provider_staff")

    assert client.get(f"/providers/me/referrals/{referral_id}", headers=ngo_b).status_code == 404
    assert client.get(f"/referrals/{referral_id}", headers=ngo_b).status_code == 404
    assert client.get("/providers/me/referrals", headers=ngo_b).json()["items"] == []
    assert step(client, referral_id, "accept", ngo_b).status_code == 404
    own = client.get("/providers/me/referrals", headers=auth("ngo-shelter-a", "provider_staff"))
    assert [item["id"] for item in own.json()["items"]] == [referral_id]
    assert client.get("/referral-cases", headers=ngo_b).status_code == 403


def test_the_provider_sees_no_name_before_and_details_only_with_consent_after(
    client, case_id, coordinator, auth
) -> None:
    provider = auth("ngo-shelter-a", "provider_staff")
    referral_id = sent_referral(client, case_id, coordinator, auth)

    offered = client.get(f"/providers/me/referrals/{referral_id}", headers=provider).json()
    early = client.get(f"/providers/me/referrals/{referral_id}/person", headers=provider)
    step(client, referral_id, "accept", provider)
    without_consent = client.get(f"/providers/me/referrals/{referral_id}/person", headers=provider)

    assert (
        offered["age_band"] == "12_to_17"
        and offered["referring_officer_contact"] == "+855 12 000 111"
    )
    assert "wishes" not in offered and "name" not in json.dumps(offered)
    assert early.status_code == 409
    # The presumed girl consented to referral only, not to data sharing.
    assert without_consent.status_code == 403


def test_bad_input_is_refused_with_a_clear_reason(client, case_id, coordinator) -> None:
    unknown_facility = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            "facility_id": str(uuid4()),
            "needs": ["safe_accommodation"],
            "officer_contact": "x@y.kh",
        },
        headers=coordinator,
    )
    unknown_need = client.put(
        f"/referral-cases/{case_id}/assessment",
        json={"needs": ["astrology"], "urgency": "high"},
        headers=coordinator,
    )
    not_assessed_need = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={"facility_id": str(LEGAL), "needs": ["legal_aid"], "officer_contact": "x@y.kh"},
        headers=coordinator,
    )
    ineligible = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={"facility_id": str(LEGAL), "needs": ["psychosocial"], "officer_contact": "x@y.kh"},
        headers=coordinator,
    )

    assert (unknown_facility.status_code, unknown_facility.json()["error"]["code"]) == (
        422,
        "unknown_facility",
    )
    assert unknown_need.status_code == 422 and unknown_need.json()["error"]["field"] == "needs.0"
    assert (
        not_assessed_need.status_code == 422
        and not_assessed_need.json()["error"]["field"] == "needs.0"
    )
    assert ineligible.status_code == 422
    assert "does not offer psychosocial" in ineligible.json()["error"]["message"]


def test_webhooks_are_signed_and_a_failing_endpoint_blocks_no_other(
    client, case_id, coordinator, auth, victim_presumed, handle_event, clock, resolve_names
) -> None:
    received: dict[str, list[httpx.Request]] = {"a": [], "b": []}
    resolve_names({"ngo-a.example": ["93.184.216.34"], "ngo-b.example": ["93.184.216.35"]})

    def endpoint(request: httpx.Request) -> httpx.Response:
        # Sent to the checked address, naming the registered host.
        if request.headers["host"] == "ngo-b.example":
            received["b"].append(request)
            return httpx.Response(503)
        received["a"].append(request)
        return httpx.Response(204)

    secret_a = client.put(
        "/providers/me/webhook",
        json={"url": "https://ngo-a.example/hook"},
        headers=auth("ngo-shelter-a", "provider_staff"),
    ).json()["secret"]
    client.put(
        "/providers/me/webhook",
        json={"url": "https://ngo-b.example/hook"},
        headers=auth("ngo-shelter-b", "provider_staff"),
    )
    to_a = sent_referral(client, case_id, coordinator, auth, GIRLS_A)
    second = str(
        client.portal.call(handle_event, client.app.state.database, victim_presumed())[
            0
        ].data.referral_case_id
    )
    client.put(
        f"/referral-cases/{second}/assessment",
        json={"needs": ["safe_accommodation"], "urgency": "high"},
        headers=coordinator,
    )
    to_b = sent_referral(client, second, coordinator, auth, GIRLS_B)

    worker = DeliveryWorker(client.app.state.referral)
    transport = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))

    async def run_due() -> None:
        import asyncio

        tasks = await worker.dispatch_due(client.app.state.database, transport)
        await asyncio.gather(*tasks)

    client.portal.call(run_due)

    assert len(received["a"]) == 1 and len(received["b"]) == 1
    request = received["a"][0]
    # Standard Webhooks, checked by its own library; the body is a CloudEvent.
    body = Webhook(secret_a).verify(request.content, dict(request.headers))
    assert request.headers["webhook-id"] == body["id"]
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert body["type"] == "kh.nrm.referral.provider_notice.v1"
    assert (body["subject"], body["data"]["referral_id"]) == (to_a, to_a)
    assert body["data"]["event"] == "referral.sent"
    log_b = client.get(
        "/providers/me/deliveries", headers=auth("ngo-shelter-b", "provider_staff")
    ).json()
    webhook_b = next(d for d in log_b if d["channel"] == "webhook")
    assert webhook_b["referral_id"] == to_b and webhook_b["delivered_at"] is None
    assert webhook_b["log"][0]["status_code"] == 503
    # Retried after its backoff, not before; nothing is dropped.
    client.portal.call(run_due)
    assert len(received["b"]) == 1
    clock.advance(seconds=3)
    client.portal.call(run_due)
    assert len(received["b"]) == 2
    # The same notice again: the receiver deduplicates on webhook-id.
    first, again = received["b"]
    assert first.headers["webhook-id"] == again.headers["webhook-id"]


def test_an_inbound_handover_opens_a_reception_referral_sent_to_the_transit_centre(
    client, feed_events, facility_event, coordinator, auth
) -> None:
    from datetime import date

    from nrm_contracts.events.repatriation import HandoverCompleted

    poipet = uuid4()
    feed_events(
        facility_event(
            poipet,
            "mosvy-poipet-transit",
            facility_type="transit_centre",
            location={"province_code": "01"},
        )
    )
    handover = HandoverCompleted(
        repatriation_case_id=uuid4(),
        direction="inbound",
        counterpart_country="THA",
        handed_over_on=date(2026, 6, 1),
        border_point="poipet-aranyaprathet",
        reception_province_code="01",
        reception_organisation="mosvy-poipet-transit",
        sex="male",
        is_child=False,
        completed_at=datetime(2026, 6, 1, 3, tzinfo=UTC),
    )
    feed_events(handover, handover)  # delivered twice: one reception

    cases = client.get("/referral-cases", headers=coordinator).json()["items"]
    assert [c["repatriation_case_id"] for c in cases] == [str(handover.repatriation_case_id)]
    referrals = client.get(
        f"/referral-cases/{cases[0]['id']}/referrals", headers=coordinator
    ).json()
    assert [(r["kind"], r["facility_id"], r["state"]) for r in referrals] == [
        ("reception", str(poipet), "sent")
    ]
    centre = client.get(
        "/providers/me/referrals", headers=auth("mosvy-poipet-transit", "provider_staff")
    )
    assert [item["id"] for item in centre.json()["items"]] == [referrals[0]["id"]]


def system_disclosures(client, auth, purpose: str) -> list[tuple[str, str, str, str, str]]:
    """The audit's disclosures made for ``purpose``: (referral, subject, organisation,
    role, action)."""
    response = client.get(
        "/audit", params={"resource_type": "referral"}, headers=auth("mosvy", "auditor")
    )
    assert response.status_code == 200, response.text
    return [
        (e["resource_id"], e["subject"], e["organisation"], e["role"], e["action"])
        for e in response.json()["items"]
        if e["purpose"] == purpose
    ]


def test_an_expiry_and_its_reroute_are_disclosures_audited_as_the_service_itself(
    client, case_id, coordinator, auth, clock
) -> None:
    from referral.usecases.deadlines import expire_overdue

    referral_id = sent_referral(client, case_id, coordinator, auth)
    context = client.app.state.referral
    database = client.app.state.database

    async def sweep() -> None:
        async with database.unit_of_work() as uow:
            await expire_overdue(uow, context)
            await uow.commit()

    clock.advance(hours=47)
    client.portal.call(sweep)
    assert system_disclosures(client, auth, "referral_expiry_reroute") == []
    clock.advance(hours=2)
    client.portal.call(sweep)

    referrals = client.get(f"/referral-cases/{case_id}/referrals", headers=coordinator).json()
    # The expired referral's provider is told; the next shelter is told nothing before
    # MOSVY signs the re-route off (its notice is then the signing officer's disclosure).
    assert referrals[-1]["state"] == "awaiting_signoff"
    assert system_disclosures(client, auth, "referral_expiry_reroute") == [
        (referral_id, "system/referral", "mosvy", "system", "disclose")
    ]
    chain = client.get("/audit/chain", headers=auth("mosvy", "auditor")).json()
    assert chain["intact"] is True


def legal_aid_sent(
    client, case_id, coordinator, feed_events, facility_event, second_legal_aid: UUID
) -> str:
    """A legal aid referral sent to LEGAL (not residential: no sign-off), with a second
    legal aid office (``second_legal_aid``) left to re-route to; the referral's id."""
    feed_events(
        facility_event(
            second_legal_aid,
            "ngo-kdei",
            facility_type="legal_aid_office",
            services=["legal_aid"],
            location={"province_code": "12"},
        )
    )
    assessed = client.put(
        f"/referral-cases/{case_id}/assessment",
        json={"needs": ["legal_aid"], "urgency": "high"},
        headers=coordinator,
    )
    assert assessed.status_code == 200, assessed.text
    created = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={"facility_id": str(LEGAL), "needs": ["legal_aid"], "officer_contact": "x@y.kh"},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    first: str = created.json()["id"]
    assert step(client, first, "submit", coordinator).json()["state"] == "sent"
    return first


def test_a_reroute_sent_at_once_is_the_services_disclosure_to_the_next_provider(
    client, case_id, coordinator, auth, clock, feed_events, facility_event
) -> None:
    from referral.usecases.deadlines import expire_overdue

    second_legal_aid = uuid4()
    first = legal_aid_sent(
        client, case_id, coordinator, feed_events, facility_event, second_legal_aid
    )
    context = client.app.state.referral
    database = client.app.state.database

    async def sweep() -> None:
        async with database.unit_of_work() as uow:
            await expire_overdue(uow, context)
            await uow.commit()

    clock.advance(hours=49)
    client.portal.call(sweep)

    referrals = client.get(f"/referral-cases/{case_id}/referrals", headers=coordinator).json()
    successor = referrals[-1]
    assert (successor["facility_id"], successor["state"]) == (str(second_legal_aid), "sent")
    assert sorted(system_disclosures(client, auth, "referral_expiry_reroute")) == sorted(
        [
            (first, "system/referral", "mosvy", "system", "disclose"),
            (successor["id"], "system/referral", "mosvy", "system", "disclose"),
        ]
    )


def test_a_decline_is_the_providers_write_and_its_reroute_the_services_disclosure(
    client, case_id, coordinator, auth, feed_events, facility_event
) -> None:
    second_legal_aid = uuid4()
    first = legal_aid_sent(
        client, case_id, coordinator, feed_events, facility_event, second_legal_aid
    )

    declined = step(
        client, first, "decline", auth("ngo-legal-aid", "provider_staff"), reason="no_capacity"
    )

    assert declined.status_code == 200, declined.text
    successor = client.get(f"/referral-cases/{case_id}/referrals", headers=coordinator).json()[-1]
    assert (successor["facility_id"], successor["state"]) == (str(second_legal_aid), "sent")
    assert system_disclosures(client, auth, "referral_decline_reroute") == [
        (successor["id"], "system/referral", "mosvy", "system", "disclose")
    ]
    entries = client.get(
        "/audit", params={"resource_type": "referral"}, headers=auth("mosvy", "auditor")
    ).json()["items"]
    by_the_ngo = {
        (e["action"], e["resource_id"]) for e in entries if e["organisation"] == "ngo-legal-aid"
    }
    assert by_the_ngo == {("write", first)}


def test_a_reception_referral_is_a_disclosure_audited_as_the_service_itself_once(
    client, feed_events, facility_event, coordinator, auth
) -> None:
    from datetime import date

    from nrm_contracts.events.repatriation import HandoverCompleted

    feed_events(
        facility_event(
            uuid4(),
            "mosvy-poipet-transit",
            facility_type="transit_centre",
            location={"province_code": "01"},
        )
    )
    handover = HandoverCompleted(
        repatriation_case_id=uuid4(),
        direction="inbound",
        counterpart_country="THA",
        handed_over_on=date(2026, 6, 1),
        border_point="poipet-aranyaprathet",
        reception_province_code="01",
        reception_organisation="mosvy-poipet-transit",
        sex="female",
        is_child=True,
        completed_at=datetime(2026, 6, 1, 3, tzinfo=UTC),
    )
    feed_events(handover, handover)  # delivered twice: one reception, one entry

    [case] = client.get("/referral-cases", headers=coordinator).json()["items"]
    [reception] = client.get(f"/referral-cases/{case['id']}/referrals", headers=coordinator).json()
    assert system_disclosures(client, auth, "reception_referral") == [
        (reception["id"], "system/referral", "mosvy", "system", "disclose")
    ]


def test_a_handover_without_a_reception_facility_discloses_nothing(
    client, feed_events, coordinator, auth
) -> None:
    from datetime import date

    from nrm_contracts.events.repatriation import HandoverCompleted

    feed_events(
        HandoverCompleted(
            repatriation_case_id=uuid4(),
            direction="inbound",
            counterpart_country="THA",
            handed_over_on=date(2026, 6, 1),
            border_point="poipet-aranyaprathet",
            reception_province_code="01",
            reception_organisation="mosvy-poipet-transit",
            sex="female",
            is_child=True,
            completed_at=datetime(2026, 6, 1, 3, tzinfo=UTC),
        )
    )

    assert [c["id"] for c in client.get("/referral-cases", headers=coordinator).json()["items"]]
    assert system_disclosures(client, auth, "reception_referral") == []


@pytest.mark.parametrize(
    "caller", [("moj", "case_manager"), ("mowa", "competent_authority"), ("mofaic", "case_manager")]
)
def test_another_ministrys_officer_learns_nothing_of_a_referral(
    client, case_id, coordinator, auth, caller
) -> None:
    referral_id = sent_referral(client, case_id, coordinator, auth)
    outsider = auth(*caller)

    assessment = client.get(f"/referral-cases/{case_id}/assessment", headers=outsider)
    listed = client.get(f"/referral-cases/{case_id}/referrals", headers=outsider)
    seen = client.get(f"/referrals/{referral_id}", headers=outsider)
    moved = step(client, referral_id, "cancel", outsider, reason="not ours")

    assert (assessment.status_code, listed.status_code) == (403, 403)
    assert (seen.status_code, moved.status_code) == (404, 404)
    assert client.get(f"/referrals/{referral_id}", headers=coordinator).json()["state"] == "sent"


def notices_to(client, organisation: str) -> list[dict[str, Any]]:
    """The notices queued for ``organisation`` (its topic's channel), oldest first."""
    from sqlmodel import col, select

    from referral.store import Delivery

    async def _read() -> list[dict[str, Any]]:
        async with client.app.state.database.session() as session:
            rows = await session.exec(
                select(Delivery)
                .where(col(Delivery.organisation_id) == organisation)
                .where(col(Delivery.channel) == "kafka")
                .order_by(col(Delivery.created_at))
            )
            return [json.loads(row.body) for row in rows.all()]

    result: list[dict[str, Any]] = client.portal.call(_read)
    return result


def test_every_change_a_provider_must_know_is_a_notice(
    client, case_id, coordinator, auth, clock
) -> None:
    from referral.usecases.deadlines import notice_follow_ups_due

    provider = auth("ngo-shelter-a", "provider_staff")
    referral_id = sent_referral(client, case_id, coordinator, auth)
    for action, body in [
        ("accept", {}),
        ("admit", {}),
        ("exit", {"exit_reason": "reintegrated"}),
    ]:
        clock.advance(minutes=1)
        assert step(client, referral_id, action, provider, **body).status_code == 200
    clock.advance(minutes=1)
    assert step(client, referral_id, "close", coordinator).status_code == 200

    async def follow_ups() -> int:
        async with client.app.state.database.unit_of_work() as uow:
            count = await notice_follow_ups_due(uow, client.app.state.referral)
            await uow.commit()
            return count

    clock.advance(days=29)
    assert client.portal.call(follow_ups) == 0
    clock.advance(days=2)
    assert client.portal.call(follow_ups) == 1
    assert client.portal.call(follow_ups) == 0  # told once

    notices = notices_to(client, "ngo-shelter-a")
    assert [n["data"]["event"] for n in notices] == [
        "referral.sent",
        "referral.accepted",
        "referral.admitted",
        "referral.exited",
        "referral.closed",
        "referral.follow_up_due",
    ]
    assert {n["type"] for n in notices} == {"kh.nrm.referral.provider_notice.v1"}
    assert {n["subject"] for n in notices} == {referral_id}
    assert len({n["id"] for n in notices}) == len(notices)
    assert notices[-1]["data"]["follow_up_due_on"] is not None
    assert notices_to(client, "ngo-shelter-b") == []


def test_an_expired_provider_is_told_and_told_it_was_rerouted(
    client, case_id, coordinator, auth, clock
) -> None:
    from referral.usecases.deadlines import expire_overdue

    sent_referral(client, case_id, coordinator, auth)

    async def sweep() -> int:
        async with client.app.state.database.unit_of_work() as uow:
            count = await expire_overdue(uow, client.app.state.referral)
            await uow.commit()
            return count

    clock.advance(hours=49)
    assert client.portal.call(sweep) == 1
    assert [n["data"]["event"] for n in notices_to(client, "ngo-shelter-a")] == [
        "referral.sent",
        "referral.expired",
        "referral.rerouted",
    ]
    # The successor, residential, awaits MOSVY's sign-off: its provider hears nothing yet.
    assert notices_to(client, "ngo-shelter-b") == []


def webhook_worker(client, endpoint) -> Any:
    """``run()``: the notices due now, attempted once each against ``endpoint``."""
    import asyncio

    worker = DeliveryWorker(client.app.state.referral)
    transport = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))

    async def run_due() -> None:
        await asyncio.gather(*await worker.dispatch_due(client.app.state.database, transport))

    worker.run_due = lambda: client.portal.call(run_due)
    return worker


def test_a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends(
    client, case_id, coordinator, auth, clock, resolve_names
) -> None:
    from standardwebhooks import WebhookVerificationError

    resolve_names({"ngo-a.example": ["93.184.216.34"]})
    provider = auth("ngo-shelter-a", "provider_staff")
    received: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    old = client.put(
        "/providers/me/webhook", json={"url": "https://ngo-a.example/hook"}, headers=provider
    ).json()["secret"]
    assert old.startswith("whsec_")
    rotated = client.post("/providers/me/webhook/secret", headers=provider)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    worker = webhook_worker(client, endpoint)

    referral_id = sent_referral(client, case_id, coordinator, auth)
    worker.run_due()
    in_overlap = received[-1]
    assert len(in_overlap.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a verifier on either secret accepts it
        Webhook(secret).verify(in_overlap.content, dict(in_overlap.headers))

    clock.advance(hours=25)
    assert step(client, referral_id, "accept", provider).status_code == 200
    worker.run_due()
    after = received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.content, dict(after.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.content, dict(after.headers))
    # Another organisation has no webhook to rotate: 404, nothing created.
    other = client.post("/providers/me/webhook/secret", headers=auth("ngo-kdei", "provider_staff"))
    assert other.status_code == 404


def test_a_notice_failing_for_the_give_up_period_is_dead_until_redelivered(
    client, case_id, coordinator, auth, clock, resolve_names
) -> None:
    from nrm_runtime.metrics import ServiceMetrics

    resolve_names({"ngo-a.example": ["93.184.216.34"]})
    provider = auth("ngo-shelter-a", "provider_staff")
    answers = {"status": 500}
    attempts: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(answers["status"])

    client.put(
        "/providers/me/webhook", json={"url": "https://ngo-a.example/hook"}, headers=provider
    )
    worker = webhook_worker(client, endpoint)
    metrics = ServiceMetrics()
    worker.report_to(metrics)
    sent_referral(client, case_id, coordinator, auth)

    def webhook_delivery() -> dict[str, Any]:
        log = client.get("/providers/me/deliveries", headers=provider).json()
        found: dict[str, Any] = next(d for d in log if d["channel"] == "webhook")
        return found

    for _ in range(80):  # a failing endpoint, tried for more than three days
        worker.run_due()
        clock.advance(hours=1)
    dead = webhook_delivery()
    assert dead["dead_at"] is not None and dead["delivered_at"] is None
    assert (
        metrics.registry.get_sample_value("nrm_deliveries_dead_total", {"channel": "webhook"}) == 1
    )
    tried = len(attempts)
    worker.run_due()
    assert len(attempts) == tried  # given up: no longer attempted

    # Only its own organisation may ask for it again.
    other = auth("ngo-shelter-b", "provider_staff")
    redeliver = f"/providers/me/deliveries/{dead['id']}/redeliver"
    assert client.post(redeliver, headers=other).status_code == 404
    answers["status"] = 204
    again = client.post(redeliver, headers=provider)
    assert again.status_code == 200, again.text
    assert again.json()["dead_at"] is None
    worker.run_due()
    assert webhook_delivery()["delivered_at"] is not None
    assert attempts[-1].headers["webhook-id"] == attempts[0].headers["webhook-id"]


def test_the_openapi_document_declares_every_notice_with_its_schema(client) -> None:
    from nrm_contracts.events.notices import NoticeEvent

    document = client.get("/openapi.json").json()
    webhooks = document["webhooks"]
    assert set(webhooks) == {event.value for event in NoticeEvent}
    for operation in (hook["post"] for hook in webhooks.values()):
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ReferralNoticeCloudEvent"}
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    envelope = document["components"]["schemas"]["ReferralNoticeCloudEvent"]
    assert envelope["properties"]["type"]["const"] == "kh.nrm.referral.provider_notice.v1"


def test_a_referrals_notices_reach_the_webhook_in_order_a_failed_one_holding_the_next(
    client, case_id, coordinator, auth, clock, resolve_names
) -> None:
    resolve_names({"ngo-a.example": ["93.184.216.34"]})
    provider = auth("ngo-shelter-a", "provider_staff")
    received: list[str] = []
    failing = {"referral.accepted"}

    def endpoint(request: httpx.Request) -> httpx.Response:
        event = json.loads(request.content)["data"]["event"]
        received.append(event)
        if event in failing:
            failing.discard(event)  # fails once
            return httpx.Response(503)
        return httpx.Response(204)

    hook = {"url": "https://ngo-a.example/hook"}
    client.put("/providers/me/webhook", json=hook, headers=provider)
    worker = webhook_worker(client, endpoint)
    referral_id = sent_referral(client, case_id, coordinator, auth)
    assert step(client, referral_id, "accept", provider).status_code == 200
    assert step(client, referral_id, "admit", provider).status_code == 200

    worker.run_due()  # sent only: accepted and admitted wait for it
    worker.run_due()  # accepted fails; admitted waits for it
    clock.advance(seconds=3)
    worker.run_due()  # accepted again
    worker.run_due()  # then admitted
    assert received == [
        "referral.sent",
        "referral.accepted",
        "referral.accepted",
        "referral.admitted",
    ]

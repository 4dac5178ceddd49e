"""Audit coverage, generated from the routes: every route that declares it returns or
changes a person's data writes an audit entry on every call it serves; the audit chain
of a service detects an entry changed in its database."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nrm_deploy.testing import bearer, facility_registered_fields, victim_presumed_fields
from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.policy import Objects, RoutePolicy, declared_routes

SECRET_VNM = "audit-secret-vnm"
CONSENT = {"status": "given", "basis": "own_consent", "recorded_on": "2026-03-02"}
PERSON = {"given_name": "Audit", "family_name": "Coverage", "sex": "male", "estimated_age": 30}
NOTIFICATION = {
    "step": "notification",
    "documents": ["victim_identification_form", "consent_to_return"],
}
# What each personal-data route is called with (a new such route without one fails).
EXAMPLES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("POST", "/cases"): {
        "identification_case_id": "{fresh}",
        "counterpart_country": "VNM",
        "person": PERSON,
        "consent_to_return": CONSENT,
    },
    ("GET", "/cases/{case_id}"): None,
    ("GET", "/cases/{case_id}/timeline"): None,
    ("POST", "/cases/{case_id}/steps"): NOTIFICATION,
    ("POST", "/cases/{case_id}/consent"): {**CONSENT, "status": "withdrawn"},
    ("POST", "/cases/{case_id}/closure"): {"outcome": "withdrawn"},
    ("POST", "/liaison/cases"): {
        "counterpart_reference": "{fresh}",
        "person": PERSON,
        "consent_to_return": CONSENT,
        "documents": ["victim_identification_form", "consent_to_return"],
    },
    ("GET", "/liaison/cases/{case_id}"): None,
    ("GET", "/liaison/cases/{case_id}/timeline"): None,
    ("POST", "/liaison/cases/{case_id}/steps"): {
        "step": "receipt_acknowledged",
        "details": {"contact_name": "Ms Hoa"},
    },
}
# A counterpart acknowledges only a notified case.
NOTIFIED_FIRST = {("POST", "/liaison/cases/{case_id}/steps")}


@pytest.fixture
def repatriation(tmp_path: Path, token_keys: Path) -> Iterator[TestClient]:
    from repatriation.app import create_app
    from repatriation.settings import CounterpartLink, RepatriationSettings

    settings = RepatriationSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'repatriation.db'}",
        kafka_bootstrap_servers="127.0.0.1:1",
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=token_keys / "field-keys.json",
        counterparts={"VNM": CounterpartLink(organisations=("vnm-molisa",), secret=SECRET_VNM)},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _caller(policy: RoutePolicy) -> tuple[str, str]:
    """An organisation and role the policy admits for a VNM case MOSVY opened."""
    role = sorted(policy.roles)[0]
    if policy.objects is Objects.OWN_COUNTRY or OrganisationType.FOREIGN_AGENCY in (
        policy.organisation_types
    ):
        return "vnm-molisa", role
    return "mosvy", role


def _headers(mint, organisation: str, role: str, body: bytes) -> dict[str, str]:
    from repatriation.domain.signing import signed_headers

    return {
        **bearer(mint(organisation, role)),
        "Content-Type": "application/json",
        **signed_headers(SECRET_VNM, body, now=time.time(), idempotency_key=str(uuid.uuid4())),
    }


def _entries(client: TestClient, mint) -> int:
    chain = client.get("/audit/chain", headers=bearer(mint("mosvy", Role.AUDITOR.value)))
    assert chain.status_code == 200 and chain.json()["intact"], chain.text
    return int(chain.json()["entries"])


def _call(client: TestClient, mint, method: str, path: str, example: Any, caller: tuple[str, str]):
    text = json.dumps(example).replace("{fresh}", str(uuid.uuid4())) if example else ""
    body = text.encode()
    return client.request(method, path, content=body or None, headers=_headers(mint, *caller, body))


def test_every_repatriation_route_with_personal_data_writes_an_audit_entry(
    repatriation, mint
) -> None:
    personal = [route for route in declared_routes(repatriation.app) if route.policy]
    personal = [route for route in personal if route.policy and route.policy.personal_data]
    unaudited = []
    for route in personal:
        assert route.policy is not None
        key = (route.method, route.path)
        assert key in EXAMPLES, f"no example call for {key}: add one"
        opened = _call(
            repatriation,
            mint,
            "POST",
            "/cases",
            EXAMPLES[("POST", "/cases")],
            ("mosvy", "case_manager"),
        )
        case_id = opened.json()["id"]
        if key in NOTIFIED_FIRST:
            _call(
                repatriation,
                mint,
                "POST",
                f"/cases/{case_id}/steps",
                NOTIFICATION,
                ("mosvy", "case_manager"),
            )
        before = _entries(repatriation, mint)

        response = _call(
            repatriation,
            mint,
            route.method,
            route.path.replace("{case_id}", case_id),
            EXAMPLES[key],
            _caller(route.policy),
        )

        assert response.status_code < 300, (key, response.text)
        if _entries(repatriation, mint) <= before:
            unaudited.append(key)
    assert len(personal) >= 10
    assert unaudited == []


def test_a_changed_audit_entry_breaks_the_services_chain_at_that_entry(
    repatriation, mint, tmp_path
) -> None:
    officer = ("mosvy", "case_manager")
    case_id = _call(
        repatriation, mint, "POST", "/cases", EXAMPLES[("POST", "/cases")], officer
    ).json()["id"]
    for _ in range(3):
        _call(repatriation, mint, "GET", f"/cases/{case_id}", None, officer)
    assert _entries(repatriation, mint) == 4

    connection = sqlite3.connect(tmp_path / "repatriation.db")
    try:
        connection.execute("UPDATE audit_entry SET organisation = 'mofaic' WHERE sequence = 3")
        connection.commit()
    finally:
        connection.close()
    chain = repatriation.get("/audit/chain", headers=bearer(mint("mosvy", "auditor"))).json()

    assert chain == {
        "intact": False,
        "entries": 2,
        "broken_at": 3,
        "reason": "entry content was changed",
    }


# --- referral -----------------------------------------------------------------------------

SHELTER = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
ADDRESSEE = "ngo-shelter-a"
ASSESSMENT = {"needs": ["safe_accommodation"], "urgency": "high", "wishes": "Audit wishes"}
# What each personal-data route of referral is called with, on a referral to ADDRESSEE
# that was accepted, admitted and discharged (a new such route without one fails).
REFERRAL_EXAMPLES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("PUT", "/referral-cases/{case_id}/assessment"): ASSESSMENT,
    ("GET", "/referral-cases/{case_id}/assessment"): None,
    ("POST", "/referrals/{referral_id}/{action}"): None,
    ("PUT", "/referrals/{referral_id}/follow-ups/{visit_id}"): {"visited_on": "2026-03-02"},
    ("GET", "/providers/me/referrals"): None,
    ("GET", "/providers/me/referrals/{referral_id}"): None,
    ("GET", "/providers/me/referrals/{referral_id}/person"): None,
}


@pytest.fixture
def referral(tmp_path: Path, token_keys: Path) -> Iterator[TestClient]:
    from referral.app import create_app
    from referral.settings import ReferralSettings

    settings = ReferralSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'referral.db'}",
        kafka_bootstrap_servers="127.0.0.1:1",
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=token_keys / "field-keys.json",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _discharged_referral(client: TestClient, mint) -> dict[str, str]:
    """A case presumed, assessed and referred to ADDRESSEE, who accepted, admitted and
    discharged the person (follow-up visits scheduled): every personal route applies."""
    from nrm_contracts.events.identification import VictimPresumed
    from nrm_contracts.events.shelter_registry import FacilityRegistered
    from referral.entrypoints.events import HANDLERS, reception_handlers

    database = client.app.state.database  # type: ignore[attr-defined]
    handlers = {**HANDLERS, **reception_handlers(client.app.state.referral)}  # type: ignore[attr-defined]
    events = [
        FacilityRegistered.model_validate(facility_registered_fields(SHELTER, ADDRESSEE)),
        VictimPresumed.model_validate(victim_presumed_fields()),
    ]

    async def _announce() -> str:
        opened = []
        for event in events:
            async with database.unit_of_work() as uow:
                await handlers[type(event)](event, uow)
                await uow.commit()
                opened = [envelope.data for envelope in uow.recorded]
        return str(opened[0].referral_case_id)

    assert client.portal is not None
    case_id = client.portal.call(_announce)
    coordinator = bearer(mint("mosvy", "case_manager"))
    provider = bearer(mint(ADDRESSEE, "provider_staff"))
    client.put(f"/referral-cases/{case_id}/assessment", json=ASSESSMENT, headers=coordinator)
    referral_id = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            "facility_id": str(SHELTER),
            "needs": ["safe_accommodation"],
            "officer_contact": "+855 12 000 111",
        },
        headers=coordinator,
    ).json()["id"]
    for action, headers, body in [
        ("submit", coordinator, None),
        ("sign-off", bearer(mint("mosvy", "competent_authority")), None),
        ("accept", provider, None),
        ("admit", provider, None),
        ("exit", provider, {"exit_reason": "reintegrated"}),
    ]:
        moved = client.post(f"/referrals/{referral_id}/{action}", json=body, headers=headers)
        assert moved.status_code == 200, moved.text
    visits = client.get(f"/referrals/{referral_id}/follow-ups", headers=provider).json()
    # "close": the coordinator's next step on a discharged referral.
    return {
        "case_id": case_id,
        "referral_id": referral_id,
        "action": "close",
        "visit_id": visits[0]["id"],
    }


def _referral_caller(policy: RoutePolicy) -> tuple[str, str]:
    """An organisation and role the policy admits for a referral to ADDRESSEE."""
    if Role.CASE_MANAGER in policy.roles:
        return "mosvy", Role.CASE_MANAGER.value
    return ADDRESSEE, Role.PROVIDER_STAFF.value


def test_every_referral_route_with_personal_data_writes_an_audit_entry(referral, mint) -> None:
    personal = [
        route
        for route in declared_routes(referral.app)
        if route.policy is not None and route.policy.personal_data
    ]
    unaudited = []
    for route in personal:
        assert route.policy is not None
        key = (route.method, route.path)
        assert key in REFERRAL_EXAMPLES, f"no example call for {key}: add one"
        path = route.path
        for name, value in _discharged_referral(referral, mint).items():
            path = path.replace("{" + name + "}", value)
        before = _entries(referral, mint)

        example = REFERRAL_EXAMPLES[key]
        response = referral.request(
            route.method,
            path,
            json=example,
            headers=bearer(mint(*_referral_caller(route.policy))),
        )

        assert response.status_code < 300, (key, response.text)
        if _entries(referral, mint) <= before:
            unaudited.append(key)
    assert sorted(personal_key for personal_key in REFERRAL_EXAMPLES) == sorted(
        (route.method, route.path) for route in personal
    )
    assert unaudited == []


# --- identification ----------------------------------------------------------------------

IDENTIFICATION_SCREENER = ("moi-dahtjp", Role.SCREENER.value)
IDENTIFICATION_AUTHORITY = ("mosvy", Role.COMPETENT_AUTHORITY.value)
LAW_ENFORCEMENT = ("moi-immigration", Role.SCREENER.value)


def _identification_form(given_name: str, family_name: str) -> dict[str, Any]:
    return {
        "person": {"given_name": given_name, "family_name": family_name, "sex": "female"},
        "encounter": {"type": "police_operation", "date": "2026-03-02", "province_code": "02"},
        "indicators": {"acts": ["recruitment"], "act_notes": "Audit notes"},
    }


# What each personal-data route of identification is called with (a new such route
# without one fails); "{given_name}" and "{family_name}" are the screened person's.
IDENTIFICATION_EXAMPLES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("POST", "/screenings"): _identification_form("{given_name}", "{family_name}"),
    ("GET", "/screenings/{screening_id}"): None,
    ("GET", "/cases/{case_id}"): None,
    ("POST", "/cases/{case_id}/decisions"): {
        "stage": "preliminary",
        "outcome": "identified",
        "rationale": "Audit grounds",
    },
    ("POST", "/cases/{case_id}/consents"): {
        "purpose": "referral",
        "status": "given",
        "basis": "own_consent",
    },
    ("POST", "/non-punishment-checks"): {
        "given_name": "{given_name}",
        "family_name": "{family_name}",
    },
    ("GET", "/persons/review-pairs/{pair_id}"): None,
    ("POST", "/persons/review-pairs/{pair_id}/confirm"): None,
    ("POST", "/persons/review-pairs/{pair_id}/reject"): None,
    ("GET", "/persons/{person_id}"): None,
    ("POST", "/persons/{person_id}/records/{screening_id}/unlink"): None,
    ("POST", "/persons/{person_id}/records"): {"screening_id": "{other_screening_id}"},
    ("GET", "/proceedings/{proceedings_id}"): None,
    ("GET", "/proceedings/{proceedings_id}/victims"): None,
    ("POST", "/proceedings/{proceedings_id}/links"): {
        "case_id": "{case_id}",
        "legal_basis": "court_order",
    },
    ("POST", "/proceedings/{proceedings_id}/links/{case_id}/unlink"): None,
}
# An unlink needs a person of two records: the pair is confirmed first.
CONFIRMED_FIRST = {("POST", "/persons/{person_id}/records/{screening_id}/unlink")}
# A case is unlinked from a proceedings record it was linked to first.
LINKED_FIRST = {("POST", "/proceedings/{proceedings_id}/links/{case_id}/unlink")}


@pytest.fixture
def identification(tmp_path: Path, token_keys: Path) -> Iterator[TestClient]:
    from identification.app import create_app
    from identification.settings import IdentificationSettings

    settings = IdentificationSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identification.db'}",
        kafka_bootstrap_servers="127.0.0.1:1",
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=token_keys / "field-keys.json",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _fresh_name() -> str:
    """A name of its own for each person, so that the matcher links no two persons."""
    letters = "".join(chr(ord("a") + int(digit, 16) % 26) for digit in uuid.uuid4().hex[:8])
    return "Audit" + letters


async def _queue_review_pair(app: Any, arrived: str, known: str) -> tuple[str, str]:
    """A pair in the review queue, as the matcher leaves one between its thresholds (or
    the one it left), and the known record's person."""
    from sqlmodel import col, select

    from identification.store import PersonRecord, ReviewPair
    from nrm_runtime.tables import utc_now

    pair = ReviewPair(
        screening_id=uuid.UUID(arrived),
        candidate_screening_id=uuid.UUID(known),
        score=4.0,
        evidence={"total": 4.0, "name_similarity": 0.9, "fields": {}},
        status="open",
        created_at=utc_now(),
    )
    queued = select(ReviewPair).where(
        col(ReviewPair.screening_id) == pair.screening_id,
        col(ReviewPair.candidate_screening_id) == pair.candidate_screening_id,
    )
    async with app.state.database.unit_of_work() as uow:
        # The matcher may have queued these two already: that pair serves.
        pair = (await uow.session.exec(queued)).first() or pair
        uow.session.add(pair)
        record = await uow.session.get(PersonRecord, uuid.UUID(known))
        assert record is not None
        await uow.commit()
    return str(pair.id), str(record.person_id)


def _screened_pair(client: TestClient, mint) -> dict[str, str]:
    """Two persons screened by the police, queued as a review pair: every identification
    route applies to them."""
    screener = bearer(mint(*IDENTIFICATION_SCREENER))
    given_name, family_name = _fresh_name(), _fresh_name()
    screened = client.post(
        "/screenings", json=_identification_form(given_name, family_name), headers=screener
    ).json()
    other = client.post(
        "/screenings", json=_identification_form(_fresh_name(), _fresh_name()), headers=screener
    ).json()
    assert client.portal is not None
    pair_id, person_id = client.portal.call(
        _queue_review_pair, client.app, other["id"], screened["id"]
    )
    proceedings = client.post(
        "/proceedings",
        json={
            "reference_kind": "police_case",
            "reference": f"AUDIT-{uuid.uuid4().hex[:8]}",
            "investigating_organisation": IDENTIFICATION_SCREENER[0],
            "prosecuting_office": "court-phnom-penh",
        },
        headers=bearer(mint(*IDENTIFICATION_AUTHORITY)),
    ).json()
    return {
        "given_name": given_name,
        "family_name": family_name,
        "screening_id": screened["id"],
        "case_id": screened["case_id"],
        "other_screening_id": other["id"],
        "pair_id": pair_id,
        "person_id": person_id,
        "proceedings_id": proceedings["id"],
    }


def _identification_caller(policy: RoutePolicy) -> tuple[str, str]:
    """An organisation and role the policy admits for a case the police screened."""
    if OrganisationType.POLICE in policy.organisation_types:
        return LAW_ENFORCEMENT
    if Role.SCREENER in policy.roles:
        return IDENTIFICATION_SCREENER
    return IDENTIFICATION_AUTHORITY


def _filled(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def test_every_identification_route_with_personal_data_writes_an_audit_entry(
    identification, mint
) -> None:
    personal = [
        route
        for route in declared_routes(identification.app)
        if route.policy is not None and route.policy.personal_data
    ]
    unaudited = []
    for route in personal:
        assert route.policy is not None
        key = (route.method, route.path)
        assert key in IDENTIFICATION_EXAMPLES, f"no example call for {key}: add one"
        values = _screened_pair(identification, mint)
        if key in CONFIRMED_FIRST:
            confirmed = identification.post(
                _filled("/persons/review-pairs/{pair_id}/confirm", values),
                headers=bearer(mint(*IDENTIFICATION_AUTHORITY)),
            )
            assert confirmed.status_code == 200, confirmed.text
        if key in LINKED_FIRST:
            linked = identification.post(
                _filled("/proceedings/{proceedings_id}/links", values),
                json={"case_id": values["case_id"], "legal_basis": "court_order"},
                headers=bearer(mint(*IDENTIFICATION_AUTHORITY)),
            )
            assert linked.status_code == 201, linked.text
        before = _entries(identification, mint)

        example = IDENTIFICATION_EXAMPLES[key]
        response = identification.request(
            route.method,
            _filled(route.path, values),
            content=_filled(json.dumps(example), values) if example is not None else None,
            headers={
                **bearer(mint(*_identification_caller(route.policy))),
                "Content-Type": "application/json",
            },
        )

        assert response.status_code < 300, (key, response.text)
        if _entries(identification, mint) <= before:
            unaudited.append(key)
    assert sorted(IDENTIFICATION_EXAMPLES) == sorted(
        (route.method, route.path) for route in personal
    )
    assert unaudited == []


def test_a_non_punishment_check_is_audited_even_when_nobody_is_found(identification, mint) -> None:
    """An officer looking people up by name is accountable for every look: the entry
    names the check, never the names asked about."""
    asked = {"given_name": "Nobody", "family_name": "Known"}

    response = identification.post(
        "/non-punishment-checks", json=asked, headers=bearer(mint(*LAW_ENFORCEMENT))
    )

    assert response.json() == {"matches": []}
    entries = identification.get(
        "/audit",
        params={"resource_type": "non_punishment_check"},
        headers=bearer(mint("mosvy", Role.AUDITOR.value)),
    ).json()["items"]
    assert [(e["organisation"], e["action"], e["purpose"]) for e in entries] == [
        ("moi-immigration", "read", "non_punishment")
    ]
    assert "Nobody" not in json.dumps(entries)

"""The authorization matrix, generated from the routes: every route of every service
declares its policy (nrm_runtime.policy), and every route called by every role of every
other organisation on an object it has no claim to returns no data (403 or 404, never a
2xx, never the object's personal data). Routes returning personal data write an audit
entry on every call served; a changed audit entry breaks the chain.

The services run in-process (their real apps, SQLite in tmp_path, no broker). An object
is created first by its owner through the API; the callers then come from organisations
of every type. A route whose policy admits a caller for that object (its owner, a shared
record, its country's agency) is not a denial case and is skipped here: its own tests
cover it. A write route needs a valid example body (``EXAMPLE_BODIES``), so that the
object check is reached rather than the body's validation: a new write route without
one fails the matrix.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nrm_deploy.testing import bearer, facility_registered_fields, victim_presumed_fields
from nrm_runtime.auth import Role
from nrm_runtime.organisations import Organisation, OrganisationRegistry
from nrm_runtime.policy import DeclaredRoute, Objects, RoutePolicy, declared_routes
from nrm_runtime.settings import dev_organisations_file

UNUSED_BROKER = "127.0.0.1:1"
CANARY_GIVEN = "Matrixcanary Given"
CANARY_FAMILY = "Matrixcanary Family"
CANARY_PHONE = "+855 12 999 731"
REPATRIATION_SECRETS = {"VNM": "matrix-secret-vnm", "THA": "matrix-secret-tha"}
PENDING_DECLARATIONS: dict[str, str] = {}


def _settings_values(tmp_path: Path, token_keys: Path, name: str) -> dict[str, Any]:
    return {
        "environment": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}",
        "kafka_bootstrap_servers": UNUSED_BROKER,
        "jwt_jwks_file": token_keys / "dev-jwks.json",
        "field_keys_file": token_keys / "field-keys.json",
        "auth_failure_limit": 100_000,
    }


def _identification(values: dict[str, Any]) -> FastAPI:
    from identification.app import create_app
    from identification.settings import IdentificationSettings

    return create_app(IdentificationSettings(**values))


def _referral(values: dict[str, Any]) -> FastAPI:
    from referral.app import create_app
    from referral.settings import ReferralSettings

    return create_app(ReferralSettings(**values))


def _repatriation(values: dict[str, Any]) -> FastAPI:
    from repatriation.app import create_app
    from repatriation.settings import CounterpartLink, RepatriationSettings

    counterparts = {
        "VNM": CounterpartLink(organisations=("vnm-molisa", "vnm-mps"), secret="matrix-secret-vnm"),
        "THA": CounterpartLink(organisations=("tha-msdhs",), secret="matrix-secret-tha"),
    }
    return create_app(RepatriationSettings(**values, counterparts=counterparts))


def _shelter_registry(values: dict[str, Any]) -> FastAPI:
    from shelter_registry.app import create_app
    from shelter_registry.settings import ShelterRegistrySettings

    return create_app(ShelterRegistrySettings(**values, load_reference_data=True))


APPS: dict[str, Callable[[dict[str, Any]], FastAPI]] = {
    "identification": _identification,
    "referral": _referral,
    "repatriation": _repatriation,
    "shelter-registry": _shelter_registry,
}


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_declares_its_policy(service, tmp_path, token_keys) -> None:
    app = APPS[service](_settings_values(tmp_path, token_keys, service))
    undeclared = [
        f"{route.method} {route.path}" for route in declared_routes(app) if route.policy is None
    ]
    if undeclared and service in PENDING_DECLARATIONS:
        pytest.xfail(f"{PENDING_DECLARATIONS[service]}; undeclared: {undeclared}")
    assert undeclared == []


# --- the matrix -------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedObject:
    """What the matrix calls the routes on: path parameters, and whose it is."""

    path_parameters: dict[str, str]
    owner: str
    country: str
    canaries: tuple[str, ...]
    sharers: dict[str, frozenset[Role]] = field(default_factory=dict)
    """Organisations besides the owner that own-organisation routes admit in some roles
    (a proceedings record's prosecuting office, in the prosecutor role)."""


@dataclass(frozen=True)
class Caller:
    organisation: Organisation
    role: Role


def _organisations() -> OrganisationRegistry:
    return OrganisationRegistry.load(dev_organisations_file())


def _entitled(
    policy: RoutePolicy,
    caller: Caller,
    target: OwnedObject,
    overseers: set[str],
    authorities: dict[Role, set[str]] | None = None,
) -> bool:
    """Whether the policy lets this caller act on this object (then it is no denial case).

    ``authorities``: a role a service honours on every object only in the organisations
    named (identification's competent_authority is MOSVY's officers, not another
    ministry's): elsewhere that role is no claim to an ``any`` object.
    """
    organisation = caller.organisation
    if not policy.admits(caller.role, organisation.type):
        return False
    if policy.objects is Objects.ANY and organisation.id not in (authorities or {}).get(
        caller.role, {organisation.id}
    ):
        return False
    if policy.objects in (Objects.NONE, Objects.ANY):
        return True
    if policy.objects is Objects.OWN_COUNTRY:
        return organisation.country == target.country
    if caller.role in target.sharers.get(organisation.id, frozenset()):
        return True
    return organisation.id == target.owner or organisation.id in overseers


def _path(template: str, parameters: dict[str, str]) -> str:
    path = template
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"the matrix has no object for {template}"
    return path


def _signed_headers(caller: Caller, body: bytes) -> dict[str, str]:
    """A counterpart agency signs its calls; others' signature headers are ignored."""
    from repatriation.domain.signing import signed_headers

    secret = REPATRIATION_SECRETS.get(caller.organisation.country, "not-a-counterpart")
    return signed_headers(secret, body, now=time.time(), idempotency_key=str(uuid.uuid4()))


def _leaks(
    client: TestClient,
    app: FastAPI,
    target: OwnedObject,
    examples: dict[tuple[str, str], dict[str, Any]],
    mint: Callable[..., str],
    overseers: set[str],
    authorities: dict[Role, set[str]] | None = None,
) -> tuple[list[str], int]:
    leaks: list[str] = []
    checked = 0
    routes = [route for route in declared_routes(app) if route.policy is not None]
    organisations = [
        organisation
        for organisation in _organisations()
        if organisation.id != target.owner and organisation.id not in overseers
    ]
    for route in routes:
        for organisation in organisations:
            for role in Role:
                caller = Caller(organisation, role)
                assert route.policy is not None
                if _entitled(route.policy, caller, target, overseers, authorities):
                    continue
                checked += 1
                problem = _call_as_outsider(client, route, caller, target, examples, mint)
                if problem:
                    leaks.append(
                        f"{route.method} {route.path} as {role} of {organisation.id}: {problem}"
                    )
    return leaks, checked


def _call_as_outsider(
    client: TestClient,
    route: DeclaredRoute,
    caller: Caller,
    target: OwnedObject,
    examples: dict[tuple[str, str], dict[str, Any]],
    mint: Callable[..., str],
) -> str | None:
    token = mint(caller.organisation.id, caller.role.value)
    body = b""
    if route.method in ("POST", "PUT", "PATCH"):
        example = examples.get((route.method, route.path))
        if example is None:
            return "no example body: add one to the matrix"
        body = json.dumps(example).encode()
    headers = {**bearer(token), "Content-Type": "application/json", **_signed_headers(caller, body)}
    response = client.request(
        route.method,
        _path(route.path, target.path_parameters),
        content=body or None,
        headers=headers,
    )
    if response.status_code not in (403, 404):
        return f"answered {response.status_code}: {response.text[:200]}"
    leaked = [canary for canary in target.canaries if canary in response.text]
    return f"answered with {leaked}" if leaked else None


@pytest.fixture
def service_app(tmp_path: Path, token_keys: Path) -> Callable[[str], FastAPI]:
    return lambda name: APPS[name](_settings_values(tmp_path, token_keys, name))


@pytest.fixture
def repatriation_client(service_app) -> Iterator[TestClient]:
    with TestClient(service_app("repatriation")) as client:
        yield client


@pytest.fixture
def shelter_client(service_app) -> Iterator[TestClient]:
    with TestClient(service_app("shelter-registry")) as client:
        yield client


def _person() -> dict[str, Any]:
    return {
        "given_name": CANARY_GIVEN,
        "family_name": CANARY_FAMILY,
        "sex": "female",
        "birth_date": "2000-02-29",
    }


CONSENT = {"status": "given", "basis": "own_consent", "recorded_on": "2026-03-02"}
REPATRIATION_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/cases"): {
        "identification_case_id": str(uuid.uuid4()),
        "counterpart_country": "VNM",
        "person": _person(),
        "consent_to_return": CONSENT,
    },
    ("POST", "/cases/{case_id}/steps"): {
        "step": "notification",
        "documents": ["victim_identification_form", "consent_to_return"],
    },
    ("POST", "/cases/{case_id}/consent"): {**CONSENT, "status": "withdrawn"},
    ("POST", "/cases/{case_id}/closure"): {"outcome": "withdrawn"},
    ("POST", "/liaison/cases"): {
        "counterpart_reference": "MATRIX-1",
        "person": _person(),
        "consent_to_return": CONSENT,
        "documents": ["victim_identification_form", "consent_to_return"],
    },
    ("POST", "/liaison/cases/{case_id}/steps"): {
        "step": "receipt_acknowledged",
        "details": {"contact_name": "Matrix contact"},
    },
}


def test_no_repatriation_route_gives_a_case_to_an_organisation_without_a_claim_to_it(
    repatriation_client, mint
) -> None:
    opened = repatriation_client.post(
        "/cases",
        json=REPATRIATION_EXAMPLES[("POST", "/cases")],
        headers=bearer(mint("mosvy", "case_manager")),
    )
    assert opened.status_code == 201, opened.text
    target = OwnedObject(
        {"case_id": opened.json()["id"]}, "mosvy", "VNM", (CANARY_GIVEN, CANARY_FAMILY)
    )

    authorities = _repatriation_authorities()
    leaks, checked = _leaks(
        repatriation_client,
        repatriation_client.app,
        target,
        REPATRIATION_EXAMPLES,
        mint,
        set(),
        {Role.CASE_MANAGER: authorities, Role.LIAISON_OFFICER: authorities},
    )

    assert leaks == []
    assert checked > 500  # every route x role x organisation type, not a sample


SHELTER_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/organisations"): {"id": "ngo-matrix", "name": "Matrix NGO", "kind": "ngo"},
    ("POST", "/facilities"): {},
    ("PATCH", "/facilities/{facility_id}"): {"contacts": {"phone": "+855 12 000 000"}},
    ("POST", "/facilities/{facility_id}/registration"): {"status": "suspended", "reason": "matrix"},
    ("POST", "/facilities/{facility_id}/inspections"): {
        "date": "2026-03-02",
        "result": "compliant",
    },
    ("PUT", "/facilities/{facility_id}/capacity"): {"beds_total": 40},
    ("POST", "/facilities/{facility_id}/reservations"): {"referral_id": str(uuid.uuid4())},
    ("POST", "/facilities/{facility_id}/reservations/{reservation_id}/release"): {},
    ("POST", "/facilities/{facility_id}/placements"): {"placement_id": str(uuid.uuid4())},
    ("POST", "/facilities/{facility_id}/placements/{placement_id}/end"): {"exit_reason": "other"},
}


def test_no_shelter_registry_route_lets_another_organisation_act_on_a_facility(
    shelter_client, mint
) -> None:
    from shelter_registry.usecases.reference_data import reference_facility_id

    facility = str(reference_facility_id("poipet-transit-centre"))
    owner = shelter_client.get(
        f"/facilities/{facility}", headers=bearer(mint("mosvy", "admin"))
    ).json()["organisation_id"]
    mosvy_coordinator = bearer(mint("mosvy", "case_manager"))
    reservation = shelter_client.post(
        f"/facilities/{facility}/reservations",
        json={"referral_id": str(uuid.uuid4())},
        headers=mosvy_coordinator,
    )
    assert reservation.status_code == 201, reservation.text
    placement = str(uuid.uuid4())
    admitted = shelter_client.post(
        f"/facilities/{facility}/placements",
        json={"placement_id": placement},
        headers=bearer(mint("mosvy", "admin")),
    )
    assert admitted.status_code in (200, 201), admitted.text
    target = OwnedObject(
        {
            "facility_id": facility,
            "reservation_id": reservation.json()["id"],
            "placement_id": placement,
            "organisation_id": owner,
        },
        owner,
        "KHM",
        (),
    )

    leaks, checked = _leaks(
        shelter_client, shelter_client.app, target, SHELTER_EXAMPLES, mint, {"mosvy"}
    )

    assert leaks == []
    assert checked > 200


# --- referral -----------------------------------------------------------------------------

REFERRAL_SHELTER = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
REFERRAL_ADDRESSEE = "ngo-shelter-a"
REFERRAL_WISHES = "Matrixcanary wishes to stay near her sister"
REFERRAL_NOTES = "Matrixcanary notes: afraid of the broker"
REFERRAL_CONTACT = "+855 12 999 732"
REFERRAL_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/referral-cases/{case_id}/assessment"): {
        "needs": ["safe_accommodation"],
        "urgency": "high",
    },
    ("POST", "/referral-cases/{case_id}/matching"): {},
    ("POST", "/referral-cases/{case_id}/referrals"): {
        "facility_id": str(REFERRAL_SHELTER),
        "needs": ["safe_accommodation"],
        "officer_contact": "+855 12 000 111",
    },
    ("POST", "/referrals/{referral_id}/{action}"): {},
    ("PUT", "/referrals/{referral_id}/follow-ups/{visit_id}"): {"visited_on": "2026-03-02"},
    ("PUT", "/providers/me/webhook"): {"url": "https://matrix.example/hook"},
    ("POST", "/providers/me/webhook/secret"): {},
    ("POST", "/providers/me/deliveries/{delivery_id}/redeliver"): {},
}


@pytest.fixture
def referral_client(service_app) -> Iterator[TestClient]:
    with TestClient(service_app("referral")) as client:
        yield client


def _referral_events() -> tuple[Any, Any]:
    """ngo-shelter-a's shelter in referral's directory, and a girl presumed a victim who
    consented to referral and to data sharing, as the registry and identification
    announce them."""
    from nrm_contracts.events.identification import VictimPresumed
    from nrm_contracts.events.shelter_registry import FacilityRegistered

    return (
        FacilityRegistered.model_validate(
            facility_registered_fields(REFERRAL_SHELTER, REFERRAL_ADDRESSEE)
        ),
        VictimPresumed.model_validate(victim_presumed_fields()),
    )


def _referred_and_discharged(client: TestClient, mint: Callable[..., str]) -> OwnedObject:
    """A referral to ngo-shelter-a, accepted, admitted and discharged (its follow-up
    visits scheduled), of an assessed case whose wishes and notes are the canaries."""
    from referral.entrypoints.events import HANDLERS, reception_handlers

    database = client.app.state.database  # type: ignore[attr-defined]
    handlers = {**HANDLERS, **reception_handlers(client.app.state.referral)}  # type: ignore[attr-defined]
    shelter, presumed = _referral_events()

    async def _announce() -> str:
        for event in (shelter, presumed):
            async with database.unit_of_work() as uow:
                await handlers[type(event)](event, uow)
                await uow.commit()
                opened = [e.data for e in uow.recorded]
        return str(opened[0].referral_case_id)

    assert client.portal is not None
    case_id = client.portal.call(_announce)
    coordinator = bearer(mint("mosvy", "case_manager"))
    provider = bearer(mint(REFERRAL_ADDRESSEE, "provider_staff"))
    assessed = client.put(
        f"/referral-cases/{case_id}/assessment",
        json={
            **REFERRAL_EXAMPLES[("PUT", "/referral-cases/{case_id}/assessment")],
            "wishes": REFERRAL_WISHES,
            "notes": REFERRAL_NOTES,
        },
        headers=coordinator,
    )
    assert assessed.status_code == 200, assessed.text
    referral = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            **REFERRAL_EXAMPLES[("POST", "/referral-cases/{case_id}/referrals")],
            "officer_contact": REFERRAL_CONTACT,
        },
        headers=coordinator,
    ).json()["id"]
    moves = [
        ("submit", coordinator, None),
        ("sign-off", bearer(mint("mosvy", "competent_authority")), None),
        ("accept", provider, None),
        ("admit", provider, None),
        ("exit", provider, {"exit_reason": "reintegrated"}),
    ]
    for action, headers, body in moves:
        moved = client.post(f"/referrals/{referral}/{action}", json=body, headers=headers)
        assert moved.status_code == 200, moved.text
    visits = client.get(f"/referrals/{referral}/follow-ups", headers=provider).json()
    deliveries = client.get("/providers/me/deliveries", headers=provider).json()
    return OwnedObject(
        {
            "case_id": case_id,
            "referral_id": referral,
            "action": "close",
            "visit_id": visits[0]["id"],
            "delivery_id": deliveries[0]["id"],
        },
        REFERRAL_ADDRESSEE,
        "KHM",
        (REFERRAL_WISHES, REFERRAL_NOTES, REFERRAL_CONTACT),
    )


def _referral_coordination() -> set[str]:
    """The NRM coordination: MOSVY's (and its units') officers act on every referral
    case; another ministry's officers have no claim to any."""
    from referral.settings import ReferralSettings

    return set(ReferralSettings.model_fields["coordination_organisations"].default)


def _repatriation_authorities() -> set[str]:
    """MOSVY's and MOFAIC's officers run every return; another ministry's none."""
    from repatriation.settings import RepatriationSettings

    return set(RepatriationSettings.model_fields["repatriation_authorities"].default)


def test_no_referral_route_gives_a_referral_to_an_organisation_it_is_not_addressed_to(
    referral_client, mint
) -> None:
    target = _referred_and_discharged(referral_client, mint)

    coordination = _referral_coordination()
    leaks, checked = _leaks(
        referral_client,
        referral_client.app,
        target,
        REFERRAL_EXAMPLES,
        mint,
        coordination,
        {Role.CASE_MANAGER: coordination, Role.COMPETENT_AUTHORITY: coordination},
    )

    assert leaks == []
    assert checked > 1000  # every route x role x organisation type, not a sample


def test_no_providers_list_shows_another_organisations_referral(referral_client, mint) -> None:
    target = _referred_and_discharged(referral_client, mint)
    lists = [
        route
        for route in declared_routes(referral_client.app)
        if route.method == "GET"
        and route.policy is not None
        and route.policy.objects is Objects.NONE
        and Role.PROVIDER_STAFF in route.policy.roles
    ]
    shown = []
    for organisation in _organisations():
        if organisation.id == target.owner:
            continue
        headers = bearer(mint(organisation.id, Role.PROVIDER_STAFF.value))
        for route in lists:
            answer = referral_client.get(route.path, headers=headers)
            assert answer.status_code == 200, answer.text
            if target.path_parameters["referral_id"] in answer.text:
                shown.append(f"{route.path} to {organisation.id}")

    assert [route.path for route in lists] == [
        "/providers/me/referrals",
        "/providers/me/deliveries",
        "/reference/provinces",  # codes, no one's data: checked all the same
        "/reference/languages",
    ]
    assert shown == []


# --- identification -----------------------------------------------------------------------

IDENTIFICATION_OWNER = "moi-dahtjp"
IDENTIFICATION_AUTHORITY = "mosvy"
IDENTIFICATION_NOTES = "Matrixcanary notes: sold by her cousin in Koh Kong"
IDENTIFICATION_GROUNDS = "Matrixcanary grounds: her account of the Koh Kong boat"
IDENTIFICATION_OTHER = "Matrixother"


def _identification_form(given_name: str, family_name: str, **indicators: Any) -> dict[str, Any]:
    return {
        "person": {
            "given_name": given_name,
            "family_name": family_name,
            "sex": "female",
            "birth_date": "2000-02-29",
            "nationality": "KHM",
        },
        "encounter": {"type": "police_operation", "date": "2026-03-02", "province_code": "02"},
        "indicators": {"acts": ["recruitment"], "purposes": ["forced_labour"], **indicators},
    }


IDENTIFICATION_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/screenings"): _identification_form(CANARY_GIVEN, CANARY_FAMILY),
    ("POST", "/cases/{case_id}/decisions"): {
        "stage": "final",
        "outcome": "identified",
        "rationale": "Matrix final grounds",
    },
    ("POST", "/cases/{case_id}/consents"): {
        "purpose": "referral",
        "status": "withdrawn",
        "basis": "own_consent",
    },
    ("POST", "/non-punishment-checks"): {"given_name": CANARY_GIVEN, "family_name": CANARY_FAMILY},
    ("POST", "/persons/review-pairs/{pair_id}/confirm"): {},
    ("POST", "/persons/review-pairs/{pair_id}/reject"): {},
    ("POST", "/persons/{person_id}/records/{screening_id}/unlink"): {},
    ("POST", "/persons/{person_id}/records"): {"screening_id": str(uuid.uuid4())},
    ("POST", "/proceedings"): {
        "reference_kind": "police_case",
        "reference": "MATRIX-2",
        "investigating_organisation": IDENTIFICATION_OWNER,
        "prosecuting_office": "court-phnom-penh",
    },
    # The target's own case, already linked: a caller let through would get 409.
    ("POST", "/proceedings/{proceedings_id}/links"): {"legal_basis": "court_order"},
    ("POST", "/proceedings/{proceedings_id}/links/{case_id}/unlink"): {},
}
IDENTIFICATION_PROSECUTOR = "court-phnom-penh"
IDENTIFICATION_PROCEEDINGS = "Matrixcanary-PP-2026-17"


@pytest.fixture
def identification_client(service_app) -> Iterator[TestClient]:
    with TestClient(service_app("identification")) as client:
        yield client


async def _queue_review_pair(app: FastAPI, arrived: str, known: str) -> tuple[str, str]:
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
    async with app.state.database.unit_of_work() as uow:  # type: ignore[attr-defined]
        # The matcher may have queued these two already: that pair serves.
        pair = (await uow.session.exec(queued)).first() or pair
        uow.session.add(pair)
        record = await uow.session.get(PersonRecord, uuid.UUID(known))
        assert record is not None
        await uow.commit()
    return str(pair.id), str(record.person_id)


def _screened_and_decided(client: TestClient, mint: Callable[..., str]) -> OwnedObject:
    """A police screening whose names and notes are canaries, decided by MOSVY on
    canary grounds (so the non-punishment flag applies), and in a review pair with
    another person the same police unit screened."""
    police = bearer(mint(IDENTIFICATION_OWNER, "screener"))
    screened = client.post(
        "/screenings",
        json=_identification_form(CANARY_GIVEN, CANARY_FAMILY, act_notes=IDENTIFICATION_NOTES),
        headers=police,
    )
    assert screened.status_code == 201, screened.text
    other = client.post(
        "/screenings",
        json=_identification_form(IDENTIFICATION_OTHER, "Sok"),
        headers=police,
    )
    assert other.status_code == 201, other.text
    case_id = screened.json()["case_id"]
    decided = client.post(
        f"/cases/{case_id}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": IDENTIFICATION_GROUNDS},
        headers=bearer(mint(IDENTIFICATION_AUTHORITY, "competent_authority")),
    )
    assert decided.status_code == 201, decided.text
    assert client.portal is not None
    pair_id, person_id = client.portal.call(
        _queue_review_pair, client.app, other.json()["id"], screened.json()["id"]
    )
    # The police unit investigates the criminal case she is a witness in; a court
    # prosecutes it.
    authority = bearer(mint(IDENTIFICATION_AUTHORITY, "competent_authority"))
    proceedings = client.post(
        "/proceedings",
        json={
            **IDENTIFICATION_EXAMPLES[("POST", "/proceedings")],
            "reference": IDENTIFICATION_PROCEEDINGS,
            "prosecuting_office": IDENTIFICATION_PROSECUTOR,
        },
        headers=authority,
    )
    assert proceedings.status_code == 201, proceedings.text
    linked = client.post(
        f"/proceedings/{proceedings.json()['id']}/links",
        json={"case_id": case_id, "legal_basis": "court_order"},
        headers=authority,
    )
    assert linked.status_code == 201, linked.text
    return OwnedObject(
        {
            "screening_id": screened.json()["id"],
            "case_id": case_id,
            "pair_id": pair_id,
            "person_id": person_id,
            "proceedings_id": proceedings.json()["id"],
        },
        IDENTIFICATION_OWNER,
        "KHM",
        (
            CANARY_GIVEN,
            CANARY_FAMILY,
            IDENTIFICATION_NOTES,
            IDENTIFICATION_GROUNDS,
            IDENTIFICATION_PROCEEDINGS,
        ),
        {IDENTIFICATION_PROSECUTOR: frozenset({Role.PROSECUTOR})},
    )


def test_no_identification_route_gives_a_screening_or_case_to_another_organisation(
    identification_client, mint
) -> None:
    """Every route x every role x every organisation but the police unit that screened
    and MOSVY (the Competent Authority): a screener of another agency, another
    ministry's competent_authority, an analyst, an auditor, a foreign agency... get 403
    or 404 and never a canary. A competent_authority outside MOSVY has no claim to the
    person index or the decisions either."""
    target = _screened_and_decided(identification_client, mint)
    link = ("POST", "/proceedings/{proceedings_id}/links")
    examples = {
        **IDENTIFICATION_EXAMPLES,
        link: {**IDENTIFICATION_EXAMPLES[link], "case_id": target.path_parameters["case_id"]},
    }

    leaks, checked = _leaks(
        identification_client,
        identification_client.app,
        target,
        examples,
        mint,
        {IDENTIFICATION_AUTHORITY},
        {Role.COMPETENT_AUTHORITY: {IDENTIFICATION_AUTHORITY}},
    )

    assert leaks == []
    # 24 routes (the audit log's two and the proceedings' six among them) x 24
    # organisations x 10 roles, less the callers each route admits: every combination.
    # The court prosecuting the criminal case is a prosecutor's claim to its record, and
    # no claim to anything else: its other roles are called like everyone's.
    assert checked > 2500

"""Sample events of every type, as fixtures.

Test modules get these through fixtures only, never by importing this module: another
test directory's conftest.py could stand under the same module name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from nrm_contracts import Actor, Envelope, payload_class

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# The public state of a girls' shelter in Phnom Penh, as every facility event carries it.
REFERRAL_IDS = {
    "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "referral_id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
    "organisation_id": "ngo-shelter-a",
    "facility_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
}
FACILITY_STATE: dict[str, Any] = {
    "facility_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    "state_version": 7,
    "organisation_id": "ngo-shelter-a",
    "organisation_kind": "ngo",
    "name": "Lotus House Phnom Penh",
    "facility_type": "residential_shelter",
    "services": ["safe_accommodation", "medical", "psychosocial", "education"],
    "eligibility": {
        "sexes": ["female"],
        "min_age": 10,
        "max_age": 17,
        "exploitation_types": ["sexual_exploitation", "forced_marriage"],
        "nationalities": [],
    },
    "languages": ["km", "en"],
    "location": {
        "province_code": "12",
        "district_code": "1201",
        "latitude": 11.5564,
        "longitude": 104.9282,
    },
    "registration": {
        "status": "registered",
        "offered_for_referral": True,
        "status_changed_at": "2024-06-01T03:00:00Z",
        "last_inspection_date": "2024-05-20",
        "last_inspection_result": "compliant",
    },
    "capacity": {"beds_total": 24, "beds_occupied": 19, "beds_reserved": 2, "beds_free": 3},
    "changed_at": "2025-03-06T02:00:00Z",
}

# One realistic payload per event type: a new event type needs one here (a test says so).
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "kh.nrm.identification.screening.recorded.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "screening_id": "6c1d8e3f-2b4a-4c5d-8e9f-0a1b2c3d4e5f",
        "reporting_organisation": "moi-antitrafficking",
        "encounter_type": "border_or_deportation_screening",
        "sex": "female",
        "is_child": True,
        "nationality": "KHM",
        "province_code": "01",
        "recorded_at": "2025-03-04T05:06:07Z",
    },
    "kh.nrm.identification.victim.presumed.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "decision_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
        "person_ref": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        "decided_on": "2025-03-07",
        "sex": "male",
        "age_band": "25_to_39",
        "is_child": False,
        "nationality": "KHM",
        "exploitation_types": ["forced_labour"],
        "labour_sectors": ["fishing"],
        "province_code": "01",
        "needs_hints": ["medical", "safe_accommodation"],
        "consented_purposes": ["referral"],
        "referral_consent_basis": "own_consent",
        "recovery_period_ends_on": "2025-04-06",
        "final_decision_due_on": "2025-04-21",
    },
    "kh.nrm.identification.victim.identified.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "decision_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "person_ref": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        "decided_on": "2025-04-15",
        "sex": "female",
        "age_band": "12_to_17",
        "is_child": True,
        "nationality": "VNM",
        "exploitation_types": ["sexual_exploitation"],
        "province_code": "12",
        "consented_purposes": ["referral", "repatriation"],
        "referral_consent_basis": "best_interest_decision",
    },
    "kh.nrm.identification.victim.not_identified.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "decision_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
        "person_ref": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        "stage": "preliminary",
        "decided_on": "2025-03-07",
    },
    "kh.nrm.identification.decision.overdue.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "deadline": "preliminary_decision",
        "due_on": "2025-03-11",
        "detected_at": "2025-03-12T00:00:05Z",
    },
    "kh.nrm.identification.consent.changed.v1": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "consent_id": "3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f",
        "person_ref": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        "purpose": "referral",
        "status": "withdrawn",
        "basis": "own_consent",
        "is_child": False,
        "recorded_at": "2025-03-20T02:00:00Z",
    },
    "kh.nrm.identification.consent.changed.v2": {
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "consent_id": "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",
        "person_ref": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        "purpose": "legal_proceedings",
        "status": "given",
        "basis": "own_consent",
        "is_child": False,
        "recorded_at": "2025-03-21T02:00:00Z",
    },
    "kh.nrm.identification.proceedings.case_linked.v1": {
        "proceedings_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "link_id": "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f",
        "basis": "consent",
        "linked_at": "2025-03-22T02:00:00Z",
    },
    "kh.nrm.identification.proceedings.case_unlinked.v1": {
        "proceedings_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "link_id": "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f",
        "unlinked_at": "2025-04-02T02:00:00Z",
    },
    "kh.nrm.identification.person.linked.v1": {
        "person_id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "screening_id": "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b",
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "previous_person_id": None,
        "score": 15.2,
        "basis": "automatic",
        "linked_at": "2025-03-20T02:00:00Z",
    },
    "kh.nrm.identification.person.unlinked.v1": {
        "person_id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "screening_id": "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b",
        "case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "new_person_id": "6b5c4d3e-2f1a-4b0c-9d8e-7f6a5b4c3d2e",
        "unlinked_at": "2025-03-21T02:00:00Z",
    },
    "kh.nrm.referral.case.opened.v1": {
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "identification_case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "opened_at": "2025-03-04T06:00:00Z",
    },
    "kh.nrm.referral.placement.started.v1": {
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "referral_id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
        "placement_id": "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
        "facility_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "population_group": "girls",
        "sex": "female",
        "age_band": "12_to_17",
        "started_at": "2025-03-06T02:00:00Z",
    },
    "kh.nrm.referral.placement.ended.v1": {
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "referral_id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
        "placement_id": "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
        "facility_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "population_group": "girls",
        "sex": "female",
        "age_band": "12_to_17",
        "exit_reason": "reintegrated",
        "ended_at": "2025-09-01T03:00:00Z",
    },
    **{
        f"kh.nrm.referral.referral.{event}.v1": {**REFERRAL_IDS, **extra}
        for event, extra in (
            (
                "opened",
                {
                    "needs": ["safe_accommodation", "psychosocial"],
                    "requires_signoff": True,
                    "opened_at": "2025-03-05T02:00:00Z",
                },
            ),
            (
                "sent",
                {"answer_due_at": "2025-03-07T02:00:00Z", "sent_at": "2025-03-05T02:00:00Z"},
            ),
            ("accepted", {"accepted_at": "2025-03-05T09:00:00Z"}),
            ("declined", {"reason": "no_capacity", "declined_at": "2025-03-05T09:00:00Z"}),
            (
                "expired",
                {"answer_due_at": "2025-03-07T02:00:00Z", "expired_at": "2025-03-07T02:01:00Z"},
            ),
            (
                "cancelled",
                {"reason": "placed_elsewhere", "cancelled_at": "2025-03-05T09:00:00Z"},
            ),
            ("closed", {"exit_reason": "reintegrated", "closed_at": "2025-10-01T02:00:00Z"}),
        )
    },
    "kh.nrm.referral.service.gap_recorded.v1": {
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "gap_id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
        "population_group": "adult_men",
        "need": "safe_accommodation",
        "province_code": "01",
        "recorded_at": "2025-03-05T02:00:00Z",
    },
    **{
        f"kh.nrm.shelter_registry.{event}.v1": {**FACILITY_STATE, **extra}
        for event, extra in (
            ("facility.registered", {}),
            ("facility.updated", {}),
            ("facility.status_changed", {"previous_status": "applied"}),
            (
                "capacity.changed",
                {
                    "cause": "placement_started",
                    "placement_id": "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
                    "referral_id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
                },
            ),
        )
    },
    "kh.nrm.shelter_registry.placement.refused.v1": {
        "facility_id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "placement_id": "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
        "referral_id": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "reason": "facility_full",
        "refused_at": "2025-03-06T02:00:01Z",
    },
}


# A Vietnamese girl identified in Cambodia, returned to Viet Nam under the 2009 SOP.
REPATRIATION_CASE: dict[str, Any] = {
    "repatriation_case_id": "4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a",
    "direction": "outbound",
    "counterpart_country": "VNM",
}
SAMPLE_DATA.update(
    {
        "kh.nrm.repatriation.case.proposed.v1": {
            **REPATRIATION_CASE,
            "sop_id": "khm-vnm-sop",
            "sop_version": "2009.1",
            "origin": "officer",
            "identification_case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
            "sex": "female",
            "is_child": True,
            "proposed_at": "2025-04-16T03:00:00Z",
        },
        "kh.nrm.repatriation.step.completed.v1": {
            **REPATRIATION_CASE,
            "step": "receipt_acknowledged",
            "sequence": 2,
            "acting_country": "VNM",
            "acting_organisation": "vnm-molisa",
            "document_kinds": [],
            "next_steps": ["identity_verified", "identity_not_confirmed"],
            "completed_at": "2025-04-18T02:00:00Z",
        },
        "kh.nrm.repatriation.deadline.missed.v1": {
            **REPATRIATION_CASE,
            "step": "identity_verified",
            "acting_country": "VNM",
            "working_days": 20,
            "due_on": "2025-05-19",
            "detected_at": "2025-05-20T00:00:05Z",
        },
        "kh.nrm.repatriation.handover.scheduled.v1": {
            **REPATRIATION_CASE,
            "handover_date": "2025-06-10",
            "border_point": "bavet-moc-bai",
        },
        "kh.nrm.repatriation.handover.completed.v1": {
            **REPATRIATION_CASE,
            "direction": "inbound",
            "counterpart_country": "THA",
            "handed_over_on": "2025-06-10",
            "border_point": "poipet-aranyaprathet",
            "reception_province_code": "01",
            "reception_organisation": "mosvy-poipet-transit",
            "sex": "male",
            "is_child": False,
            "completed_at": "2025-06-10T04:00:00Z",
        },
        "kh.nrm.repatriation.case.closed.v1": {
            **REPATRIATION_CASE,
            "outcome": "returned",
            "last_step": "reintegration_report",
            "closed_at": "2025-09-01T03:00:00Z",
        },
    }
)

# A signed head of a service's audit log: counts and hashes only.
TREE_HEAD = {
    "tree_size": 1024,
    "root_hash": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    "timestamp_ms": 1741064768000,
    "signature": (
        "q0Z3kz0XxJ8m3W0hQ1cQ9m7t2YwF4a1b6c8d0e2f4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6"
        "a8c0e2a4c6e8a0Ag=="
    ),
    "key_id": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
}
SAMPLE_DATA.update(
    {
        f"kh.nrm.{service.replace('-', '_')}.audit.tree_head_signed.v1": {
            **TREE_HEAD,
            "log_id": service,
        }
        for service in ("identification", "referral", "shelter-registry", "repatriation")
    }
)


def make_envelope(event_type: str) -> Envelope:
    """An envelope of ``event_type`` around its sample data, with every attribute set."""
    model = payload_class(event_type)
    assert model is not None, f"no payload class for {event_type}"
    return Envelope(
        source=f"/{event_type.split('.')[2]}",
        data=model.model_validate(SAMPLE_DATA[event_type]),
        traceparent=TRACEPARENT,
        actor=Actor("moi-antitrafficking", "police-officer"),
        id="3f0e6a1c-8b2d-4e5f-a6b7-c8d9e0f1a2b3",
        time=datetime(2025, 3, 4, 5, 6, 8, tzinfo=UTC),
    )


@pytest.fixture(params=sorted(SAMPLE_DATA))
def sample_envelope(request: pytest.FixtureRequest) -> Envelope:
    """One envelope per event type (the test runs once for each)."""
    event_type: str = request.param
    return make_envelope(event_type)


@pytest.fixture
def envelope_of() -> Callable[[str], Envelope]:
    """Make the sample envelope of a given event type."""
    return make_envelope


@pytest.fixture
def sample_data() -> dict[str, dict[str, Any]]:
    """The sample ``data`` of every event type, by type."""
    return SAMPLE_DATA

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
    "kh.nrm.referral.case.opened.v1": {
        "referral_case_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "identification_case_id": "0b6f2a8e-6a43-4f1e-9d0c-2f1b7c9e4a10",
        "opened_at": "2025-03-04T06:00:00Z",
    },
}


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

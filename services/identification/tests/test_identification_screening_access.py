"""GET /screenings/{id}: the reporting organisation and the Competent Authority (a
ministry) read a screening; anyone else is told it does not exist."""

from __future__ import annotations

from uuid import uuid4

import pytest

NOT_FOUND = {"error": {"code": "not_found", "message": "screening not found"}}


@pytest.fixture
def screening(client, auth, screening_form) -> dict:
    """A screening recorded by the police (moi-dahtjp)."""
    response = client.post(
        "/screenings", json=screening_form(), headers=auth("moi-dahtjp", "screener")
    )
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("moi-dahtjp", "screener"),  # the reporting organisation
        ("moi-dahtjp", "competent_authority"),  # the reporting organisation, another role
        ("mosvy", "competent_authority"),  # the Competent Authority
    ],
)
def test_the_reporter_and_the_competent_authority_read_a_screening(
    client, auth, screening, organisation, role
) -> None:
    response = client.get(f"/screenings/{screening['id']}", headers=auth(organisation, role))

    assert response.status_code == 200
    read = response.json()
    assert {key: read[key] for key in read if key != "recorded_at"} == {
        key: screening[key] for key in screening if key != "recorded_at"
    }


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("moi-immigration", "screener"),  # another organisation's screener
        ("mosvy", "screener"),  # a ministry, but not acting as Competent Authority
        ("ngo-shelter-a", "competent_authority"),  # the Competent Authority is a ministry
        ("moi-immigration", "competent_authority"),  # ... and the police is not one
        ("vnm-molisa", "competent_authority"),  # nor is a foreign agency
    ],
)
def test_anyone_else_is_told_the_screening_does_not_exist(
    client, auth, screening, organisation, role
) -> None:
    response = client.get(f"/screenings/{screening['id']}", headers=auth(organisation, role))

    # 404, not 403: the answer must not confirm that the screening exists.
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_unknown_screening_is_404_with_the_same_answer(client, auth, screening) -> None:
    response = client.get(f"/screenings/{uuid4()}", headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_malformed_screening_id_is_422(client, auth) -> None:
    response = client.get("/screenings/not-a-uuid", headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["field"] == "screening_id"


@pytest.mark.parametrize(
    ("organisation", "role"), [("mosvy", "analyst"), ("ngo-shelter-a", "provider_staff")]
)
def test_a_role_that_may_not_read_screenings_is_403(
    client, auth, screening, organisation, role
) -> None:
    response = client.get(f"/screenings/{screening['id']}", headers=auth(organisation, role))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"}])
def test_reading_without_a_valid_token_is_401(client, screening, headers) -> None:
    response = client.get(f"/screenings/{screening['id']}", headers=headers)

    assert response.status_code == 401


def test_recorded_at_reads_back_as_the_same_utc_instant(client, auth, screening) -> None:
    response = client.get(f"/screenings/{screening['id']}", headers=auth("moi-dahtjp", "screener"))

    recorded_at = response.json()["recorded_at"]
    assert recorded_at == screening["recorded_at"]
    assert recorded_at.endswith("Z")

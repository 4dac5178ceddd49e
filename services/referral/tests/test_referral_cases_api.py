"""GET /referral-cases: the NRM coordination (a ministry) reads every referral case;
nobody else does, until referrals are addressed to providers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from nrm_runtime.http import encode_cursor
from referral.entrypoints import events

COORDINATOR = ("mosvy", "case_manager")


def walk(client, headers, limit: int) -> list[dict]:
    """Every page of the list, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get("/referral-cases", params=params, headers=headers)
        assert response.status_code == 200
        pages.append(response.json())
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("mosvy", "case_manager"),
        ("mosvy", "competent_authority"),
        ("mosvy-poipet-transit", "case_manager"),
    ],
)
def test_the_nrm_coordination_lists_referral_cases(
    client, auth, open_cases, organisation, role
) -> None:
    opened = open_cases(2)

    response = client.get("/referral-cases", headers=auth(organisation, role))

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [str(e.referral_case_id) for e in opened]
    assert body["items"][0] == {
        "id": str(opened[0].referral_case_id),
        "identification_case_id": str(opened[0].identification_case_id),
        "repatriation_case_id": None,
        "status": "open",
        "sex": "female",
        "is_child": True,
        "age_band": "12_to_17",
        "province_code": "02",
        "opened_at": body["items"][0]["opened_at"],
        "consent_basis": "guardian",
        "consent_withdrawn_at": None,
    }


def test_the_list_narrows_to_the_case_opened_for_one_identification_case(
    client, auth, open_cases
) -> None:
    opened = open_cases(3)

    def listed(identification_case_id: object) -> list[str]:
        response = client.get(
            "/referral-cases",
            params={"identification_case_id": str(identification_case_id)},
            headers=auth(*COORDINATOR),
        )
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert listed(opened[1].identification_case_id) == [str(opened[1].referral_case_id)]
    assert listed(uuid4()) == []  # not yet reached referral, or no such case
    malformed = client.get(
        "/referral-cases", params={"identification_case_id": "42"}, headers=auth(*COORDINATOR)
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["field"] == "identification_case_id"


def test_opened_at_is_utc(client, auth, open_cases) -> None:
    open_cases(1)

    [item] = client.get("/referral-cases", headers=auth(*COORDINATOR)).json()["items"]

    assert item["opened_at"].endswith("Z")
    assert datetime.fromisoformat(item["opened_at"]).utcoffset().total_seconds() == 0


def test_an_empty_list_is_one_page_without_a_cursor(client, auth) -> None:
    response = client.get("/referral-cases", headers=auth(*COORDINATOR))

    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("cases", "limit", "page_sizes"),
    [(7, 3, [3, 3, 1]), (4, 2, [2, 2]), (3, 5, [3]), (1, 1, [1])],
)
def test_paging_walks_every_case_exactly_once_in_opening_order(
    client, auth, open_cases, cases, limit, page_sizes
) -> None:
    opened = open_cases(cases)

    pages = walk(client, auth(*COORDINATOR), limit)

    assert [len(page["items"]) for page in pages] == page_sizes
    items = [item for page in pages for item in page["items"]]
    assert [item["id"] for item in items] == [str(e.referral_case_id) for e in opened]
    opened_at = [datetime.fromisoformat(item["opened_at"]) for item in items]
    assert opened_at == sorted(opened_at)


def test_cases_opened_at_the_same_instant_are_each_paged_once(
    client, auth, open_cases, monkeypatch
) -> None:
    same_instant = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    monkeypatch.setattr(events, "utc_now", lambda: same_instant)
    opened = open_cases(5)

    pages = walk(client, auth(*COORDINATOR), 2)

    ids = [item["id"] for page in pages for item in page["items"]]
    assert sorted(ids) == sorted(str(e.referral_case_id) for e in opened)
    assert ids == sorted(ids)  # ties broken by id


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("ngo-shelter-a", "provider_staff"),  # a provider: may not even ask
        ("ngo-legal-aid", "case_manager"),  # the right role, but an NGO
        ("ngo-shelter-a", "competent_authority"),
        ("iom-khm", "case_manager"),  # an international organisation
        ("vnm-molisa", "case_manager"),  # a foreign agency
        ("moi-dahtjp", "screener"),  # a first responder
        ("mosvy", "analyst"),  # the ministry, but not a coordinating role
        ("moj", "case_manager"),  # another ministry: reads no one's referrals
        ("mowa", "competent_authority"),
        ("mofaic", "case_manager"),
    ],
)
@pytest.mark.parametrize("path", ["/referral-cases", "/referral-cases/{id}"])
def test_anyone_but_the_nrm_coordination_is_403(
    client, auth, open_cases, organisation, role, path
) -> None:
    [opened] = open_cases(1)

    response = client.get(path.format(id=opened.referral_case_id), headers=auth(organisation, role))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/referral-cases", f"/referral-cases/{uuid4()}"])
@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "unauthenticated"), ({"Authorization": "Bearer garbage"}, "invalid_token")],
    ids=["no token", "garbage token"],
)
def test_without_a_valid_token_is_401(client, path, headers, code) -> None:
    response = client.get(path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == code


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


BAD_CURSORS = {
    "not base64": "!!!",
    "base64 of bytes that are not UTF-8": _b64(b"\xff\xfe"),
    "base64 of text that is not JSON": _b64(b"page two"),
    "a JSON list, not an object": _b64(b"[1, 2]"),
    "longer than 500 characters": "A" * 501,
}

# A well-formed cursor (base64 of a JSON object) whose content is not a position.
BAD_POSITIONS = {
    "no position in it": {"page": 2},
    "opened_at not a time": {"opened_at": "yesterday", "id": str(uuid4())},
    "id not a uuid": {"opened_at": "2026-03-02T08:30:00+00:00", "id": "x"},
    "opened_at without a time zone": {"opened_at": "2026-03-02T08:30:00", "id": str(uuid4())},
}


@pytest.mark.parametrize("cursor", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
def test_a_malformed_cursor_is_422_naming_the_cursor(client, auth, cursor) -> None:
    response = client.get("/referral-cases", params={"cursor": cursor}, headers=auth(*COORDINATOR))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("position", list(BAD_POSITIONS.values()), ids=list(BAD_POSITIONS))
def test_a_cursor_that_holds_no_position_is_422_naming_the_cursor(
    client, auth, open_cases, position
) -> None:
    open_cases(1)

    response = client.get(
        "/referral-cases",
        params={"cursor": encode_cursor(position)},
        headers=auth(*COORDINATOR),
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
def test_a_limit_outside_1_to_500_is_422_naming_the_limit(client, auth, limit) -> None:
    response = client.get("/referral-cases", params={"limit": limit}, headers=auth(*COORDINATOR))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"


def test_the_coordination_reads_one_referral_case(client, auth, open_cases) -> None:
    [opened] = open_cases(1)

    response = client.get(f"/referral-cases/{opened.referral_case_id}", headers=auth(*COORDINATOR))

    assert response.status_code == 200
    listed = client.get("/referral-cases", headers=auth(*COORDINATOR)).json()["items"]
    assert response.json() == listed[0]


def test_an_unknown_referral_case_is_404(client, auth, open_cases) -> None:
    open_cases(1)

    response = client.get(f"/referral-cases/{uuid4()}", headers=auth(*COORDINATOR))

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "referral case not found"}}


def test_a_malformed_referral_case_id_is_422(client, auth) -> None:
    response = client.get("/referral-cases/42", headers=auth(*COORDINATOR))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "case_id"

"""POST /screenings: a first responder records a screening; it opens an identification
case and announces it in the outbox, without personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from identification.domain import ages
from nrm_contracts import Topic
from nrm_contracts.events.identification import ScreeningRecorded

SCREENING_RECORDED = "kh.nrm.identification.screening.recorded.v1"


def test_a_screener_records_a_screening(client, auth, screening_form) -> None:
    form = screening_form()
    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 201
    body = response.json()
    assert UUID(body["id"]) != UUID(body["case_id"])
    assert {key: body["person"][key] for key in form["person"]} == form["person"]
    assert body["person"]["birth_date_precision"] == "day"
    assert body["encounter"] == {"country_code": None, "district_code": None, **form["encounter"]}


def test_the_reporting_organisation_is_the_callers_from_the_token(
    client, auth, screening_form, screening_rows
) -> None:
    response = client.post(
        "/screenings", json=screening_form(), headers=auth("moi-immigration", "screener")
    )

    assert response.json()["reporting_organisation"] == "moi-immigration"
    assert screening_rows()[0]["reporting_organisation"] == "moi-immigration"


def test_the_body_cannot_name_the_reporting_organisation(client, auth, screening_form) -> None:
    form = {**screening_form(), "reporting_organisation": "mosvy"}

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reporting_organisation"


@pytest.mark.parametrize(
    ("birth_date", "estimated_age", "encounter_date", "is_child"),
    [
        ("2008-03-15", None, "2026-03-14", True),  # the day before the 18th birthday
        ("2008-03-15", None, "2026-03-15", False),  # the 18th birthday
        ("2008-02-29", None, "2026-02-28", True),  # born on 29 February: not 18 yet
        ("2008-02-29", None, "2026-03-01", False),
        ("1990-01-01", None, "2026-01-01", False),
        (None, 0, "2026-01-01", True),
        (None, 17, "2026-01-01", True),
        (None, 18, "2026-01-01", False),
        ("2008-06-01", 19, "2026-01-01", True),  # a known birth date wins over an estimate
        ("2007-06-01", 17, "2026-01-01", False),
        (None, None, "2026-01-01", None),  # unknown age stays unknown, never "adult"
    ],
)
def test_is_child_is_under_18_on_the_encounter_date(
    client,
    auth,
    screening_form,
    outbox_rows,
    parse_outbox_row,
    birth_date,
    estimated_age,
    encounter_date,
    is_child,
) -> None:
    form = screening_form(
        birth_date=birth_date, estimated_age=estimated_age, encounter={"date": encounter_date}
    )

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 201
    assert response.json()["is_child"] is is_child
    assert parse_outbox_row(outbox_rows()[0]).data.is_child is is_child


def test_recording_a_screening_records_one_screening_recorded_event_about_its_case(
    client, auth, screening_form, outbox_rows, parse_outbox_row
) -> None:
    body = client.post(
        "/screenings", json=screening_form(), headers=auth("moi-dahtjp", "screener")
    ).json()

    # Beside it, the person index announces the person the screening belongs to.
    rows = [row for row in outbox_rows() if row["event_type"] != PERSON_LINKED]
    assert len(rows) == 1
    row = rows[0]
    assert row["event_type"] == SCREENING_RECORDED
    assert row["topic"] == str(Topic.IDENTIFICATION)
    assert row["message_key"] == body["case_id"]
    assert row["published_at"] is None  # no broker here: it waits for the relay
    envelope = parse_outbox_row(row)
    assert envelope.type == SCREENING_RECORDED
    assert envelope.subject == body["case_id"]
    assert envelope.source == "/nrm/identification"
    assert envelope.data == ScreeningRecorded(
        case_id=body["case_id"],
        screening_id=body["id"],
        reporting_organisation="moi-dahtjp",
        encounter_type="police_operation",
        sex="female",
        is_child=True,
        nationality="KHM",
        province_code="02",
        recorded_at=envelope.data.recorded_at,
        person_ref=envelope.data.person_ref,
        presumptive_result="indicators_not_met",
    )
    assert envelope.data.person_ref is not None


@pytest.mark.parametrize(
    ("organisation", "roles", "actor"),
    [
        ("moi-dahtjp", ("screener",), "moi-dahtjp/screener"),
        ("mosvy", ("screener", "competent_authority"), "mosvy/screener"),
    ],
)
def test_the_event_names_the_caller_in_the_role_that_acted(
    client, auth, screening_form, outbox_rows, parse_outbox_row, organisation, roles, actor
) -> None:
    client.post("/screenings", json=screening_form(), headers=auth(organisation, *roles))

    assert str(parse_outbox_row(outbox_rows()[0]).actor) == actor


def test_the_event_carries_no_personal_data(client, auth, screening_form, outbox_rows) -> None:
    form = screening_form()
    client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    row = outbox_rows()[0]
    stored = row["message_value"] + row["message_key"].encode()
    person = form["person"]
    for field in (
        "given_name",
        "family_name",
        "given_name_khmer",
        "family_name_khmer",
        "birth_date",
    ):
        value = person[field]
        as_utf8 = value.encode()
        as_json_escape = json.dumps(value).strip('"').encode()  # "\u179f..." for Khmer script
        assert as_utf8 not in stored, field
        assert as_json_escape not in stored, field


MISSING = object()
PERSON_LINKED = "kh.nrm.identification.person.linked.v1"
OWN_REFERRAL = {"purpose": "referral", "given": True, "basis": "own_consent"}
GUARDIAN = {"purpose": "referral", "given": True, "basis": "guardian"}

# Each case: the place in the valid form that changes, its new value (MISSING: removed),
# and the field the error must name.
INVALID_INPUT = {
    "unknown top-level field": ("notes", "x", "notes"),
    "unknown person field": ("person.x", 1, "person.x"),
    "unknown encounter field": ("encounter.gps", "11.55,104.92", "encounter.gps"),
    "sex not in the list": ("person.sex", "f", "person.sex"),
    "Khmer given name empty": ("person.given_name_khmer", "", "person.given_name_khmer"),
    "given name only blanks": ("person.given_name", "   ", "person.given_name"),
    "nationality not alpha-3": ("person.nationality", "KH", "person.nationality"),
    "nationality in lower case": ("person.nationality", "khm", "person.nationality"),
    "estimated age negative": ("person.estimated_age", -1, "person.estimated_age"),
    "estimated age above 120": ("person.estimated_age", 121, "person.estimated_age"),
    "estimated age as text": ("person.estimated_age", "16", "person.estimated_age"),
    "birth date not a date": ("person.birth_date", "17/05/2010", "person.birth_date"),
    "birth date as a number": ("person.birth_date", 0, "person.birth_date"),
    "birth date in the future": ("person.birth_date", "2099-01-01", "person.birth_date"),
    "encounter type not in the list": ("encounter.type", "raid", "encounter.type"),
    "province code not two digits": ("encounter.province_code", "2", "encounter.province_code"),
    "unknown province code": ("encounter.province_code", "26", "encounter.province_code"),
    "estimated age contradicts the birth date": (
        "person.estimated_age",
        30,
        "person.estimated_age",
    ),
    "precision estimated_age beside a birth date": (
        "person.birth_date_precision",
        "estimated_age",
        "person.birth_date_precision",
    ),
    "district outside the province": ("encounter.district_code", "1201", "encounter.district_code"),
    "unknown act": ("indicators.acts", ["smuggling"], "indicators.acts.0"),
    "labour sector without forced labour": (
        "indicators.labour_sectors",
        ["fishing"],
        "indicators.labour_sectors",
    ),
    "unknown exploitation province": (
        "indicators.exploitation_province_code",
        "99",
        "indicators.exploitation_province_code",
    ),
    "a child consenting on their own": ("consents", [OWN_REFERRAL], "consents.0.basis"),
    "two consents for one purpose": ("consents", [GUARDIAN, GUARDIAN], "consents"),
    "encounter in the future": ("encounter.date", "2099-01-01", "encounter.date"),
    "encounter before the birth date": ("encounter.date", "2009-12-31", "encounter.date"),
    # A rule across two fields names the object that holds both.
    "both province_code and country_code": ("encounter.country_code", "THA", "encounter"),
    "neither province_code nor country_code": ("encounter.province_code", MISSING, "encounter"),
    "encounter missing": ("encounter", MISSING, "encounter"),
}


def changed(form: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    *parents, name = path.split(".")
    target = form
    for parent in parents:
        target = target.setdefault(parent, {})
    if value is MISSING:
        del target[name]
    else:
        target[name] = value
    return form


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [(path, value, field) for path, value, field in INVALID_INPUT.values()],
    ids=list(INVALID_INPUT),
)
def test_an_invalid_screening_is_422_naming_the_field(
    client, auth, screening_form, path, value, field
) -> None:
    form = changed(screening_form(), path, value)

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 422
    error = response.json()["error"]
    assert response.json() == {"error": error}
    assert error["code"] == "invalid_input"
    assert error["message"]
    assert error["field"] == field


@pytest.mark.parametrize(
    ("path", "value"),
    [(path, value) for path, value, _ in INVALID_INPUT.values()],
    ids=list(INVALID_INPUT),
)
def test_an_invalid_screening_writes_nothing(
    client, auth, screening_form, screening_rows, outbox_rows, path, value
) -> None:
    form = changed(screening_form(), path, value)

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 422
    assert screening_rows() == []
    assert outbox_rows() == []


def test_a_body_that_is_not_json_is_422_naming_the_body(client, auth) -> None:
    headers = {**auth("moi-dahtjp", "screener"), "content-type": "application/json"}

    response = client.post("/screenings", content=b"{not json", headers=headers)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["field"] == "body"  # not the character offset


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid_token"),
        ({"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}, "invalid_token"),
        ({"Authorization": "Basic bW9pOnNlY3JldA=="}, "unauthenticated"),
    ],
    ids=["no token", "garbage token", "unsigned-looking token", "basic credentials"],
)
def test_recording_without_a_valid_token_is_401(
    client, screening_form, screening_rows, outbox_rows, headers, code
) -> None:
    response = client.post("/screenings", json=screening_form(), headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == code
    assert screening_rows() == []
    assert outbox_rows() == []


@pytest.mark.parametrize(
    ("organisation", "role"),
    [
        ("mosvy", "analyst"),
        ("mosvy", "competent_authority"),
        ("moi-dahtjp", "case_manager"),
        ("ngo-shelter-a", "provider_staff"),
    ],
)
def test_a_role_other_than_screener_may_not_record_a_screening(
    client, auth, screening_form, screening_rows, outbox_rows, organisation, role
) -> None:
    response = client.post("/screenings", json=screening_form(), headers=auth(organisation, role))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert screening_rows() == []
    assert outbox_rows() == []


def test_the_token_is_checked_before_the_body(client) -> None:
    # An anonymous caller learns nothing about the form from validation errors.
    response = client.post("/screenings", json={"person": {}})

    assert response.status_code == 401


class _NightInPhnomPenh(datetime):
    """18:30 UTC on 2 March 2026, which is 01:30 on 3 March in Cambodia (UTC+7)."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return datetime(2026, 3, 2, 18, 30, tzinfo=UTC).astimezone(tz)


@pytest.mark.parametrize(
    ("encounter_date", "status"),
    [
        ("2026-03-02", 201),  # yesterday in Cambodia, today in UTC
        ("2026-03-03", 201),  # a raid at 01:00 tonight, local time: today in Cambodia
        ("2026-03-04", 422),  # tomorrow everywhere on Earth
    ],
)
def test_an_encounter_dated_today_in_cambodia_is_accepted_at_night(
    client, auth, screening_form, monkeypatch, encounter_date, status
) -> None:
    # "Today" once meant today in UTC, which refused Cambodian dates from 00:00 to 07:00.
    monkeypatch.setattr(ages, "datetime", _NightInPhnomPenh)
    form = screening_form(encounter={"date": encounter_date})

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == status


def test_a_name_in_khmer_script_alone_is_enough(client, auth, screening_form) -> None:
    form = screening_form()
    del form["person"]["given_name"], form["person"]["family_name"]

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 201, response.text
    assert response.json()["person"]["given_name"] is None
    assert response.json()["person"]["given_name_khmer"] == "ស្រីមុំ"


@pytest.mark.parametrize("missing", ["given_name", "family_name"])
def test_without_a_full_khmer_name_the_latin_name_is_required(
    client, auth, screening_form, screening_rows, missing
) -> None:
    form = screening_form()
    del form["person"][missing], form["person"]["family_name_khmer"]

    response = client.post("/screenings", json=form, headers=auth("moi-dahtjp", "screener"))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == f"person.{missing}"
    assert screening_rows() == []

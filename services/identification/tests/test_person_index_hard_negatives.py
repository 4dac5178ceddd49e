"""Hard negatives through the API of a running identification service (a uvicorn
process on a real broker), as an outside integrator meets them: records alike in name,
day, place and agency that are two people. None is linked automatically; a child and
an adult of one name, and namesakes one agency met in one encounter, go to the
Competent Authority's review queue, flagged.

And the bad input that would have let them link: control characters, names without a
letter, an estimated age that contradicts the birth date: 422 naming the field, and
nothing written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from identification.legacy_import.mapping import Source, load_mapping
from identification.legacy_import.samples import write_export
from identification.person_index.synthetic import generate
from nrm_deploy.testing import ServiceProcess, bearer, eventually
from nrm_runtime.cli import main as nrm

pytestmark = pytest.mark.usefixtures("kafka_bootstrap")

CHILD_ADULT = "child_adult_conflict"
MET_TOGETHER = "met_together"
POLICE, MOSVY, NGO = "moi-dahtjp", "mosvy", "ngo-shelter-a"


@dataclass(frozen=True)
class Record:
    organisation: str
    date: str
    person: dict[str, Any]
    province: str = "02"


@dataclass(frozen=True)
class HardNegative:
    """Two records of two people; ``flag``: the conflict the review pair must carry
    (None: a review pair is acceptable, a link is not)."""

    first: Record
    second: Record
    flag: str | None = None


def _latin(given: str, family: str, **person: Any) -> dict[str, Any]:
    return {"given_name": given, "family_name": family, "nationality": "KHM", **person}


def _khmer(given: str, family: str, **person: Any) -> dict[str, Any]:
    return {"given_name_khmer": given, "family_name_khmer": family, "nationality": "KHM", **person}


# Each case carries names of its own (no other case's record is a candidate).
CASES = {
    "girl and woman of one name, one police raid": HardNegative(
        Record(POLICE, "2026-11-20", _latin("Sopheakmony", "Vongsakda", birth_date="2010-04-02")),
        Record(POLICE, "2026-11-20", _latin("Sopheakmony", "Vongsakda", birth_date="1995-08-14")),
        flag=CHILD_ADULT,
    ),
    "girl and woman in Khmer script only, ages estimated 15 and 35": HardNegative(
        Record(POLICE, "2026-11-18", _khmer("ស្រីពៅ", "ឈឹមសុខ", estimated_age=15)),
        Record(POLICE, "2026-11-18", _khmer("ស្រីពៅ", "ឈឹមសុខ", estimated_age=35)),
        flag=CHILD_ADULT,
    ),
    "a rare name, two agencies 20 days apart, births 13 years apart": HardNegative(
        Record(POLICE, "2026-10-01", _latin("Bunnareth", "Sovannarith", birth_date="2008-02-11")),
        Record(MOSVY, "2026-10-21", _latin("Bunnareth", "Sovannarith", birth_date="1995-06-23")),
    ),
    "a rare name, births 11 years apart on the same day and month": HardNegative(
        Record(POLICE, "2026-10-02", _latin("Chanmakara", "Pichsovann", birth_date="1990-05-17")),
        Record(NGO, "2026-10-22", _latin("Chanmakara", "Pichsovann", birth_date="2001-05-17")),
    ),
    "Khmer script only, ages estimated 34 and 13, two agencies": HardNegative(
        Record(MOSVY, "2026-10-03", _khmer("សុវណ្ណារី", "ហ៊ុនវង្ស", estimated_age=34)),
        Record(POLICE, "2026-10-23", _khmer("សុវណ្ណារី", "ហ៊ុនវង្ស", estimated_age=13)),
        flag=CHILD_ADULT,
    ),
    "twins: one birth date, one family name, two given names": HardNegative(
        Record(
            POLICE, "2026-11-19", _latin("Sreyleakhena", "Rathanakvong", birth_date="2003-09-09")
        ),
        Record(POLICE, "2026-11-19", _latin("Sreyneary", "Rathanakvong", birth_date="2003-09-09")),
    ),
    "namesakes of one raid without birth dates, a girl's estimated age beside a woman's": (
        HardNegative(
            Record(POLICE, "2026-11-17", _latin("Davyroth", "Sokunthy", estimated_age=14)),
            Record(POLICE, "2026-11-17", _latin("Davyroth", "Sokunthy", birth_date="1988-01-30")),
            flag=CHILD_ADULT,
        )
    ),
    "two women of one name met in one raid, births unknown": HardNegative(
        Record(POLICE, "2026-11-16", _latin("Rachanavy", "Kimsoeurn")),
        Record(POLICE, "2026-11-16", _latin("Rachanavy", "Kimsoeurn")),
        flag=MET_TOGETHER,
    ),
    "two women of one name met in one raid, births a year apart": HardNegative(
        Record(POLICE, "2026-11-15", _latin("Sothearyna", "Chanvibol", birth_date="1996-03-02")),
        Record(POLICE, "2026-11-15", _latin("Sothearyna", "Chanvibol", birth_date="1997-10-21")),
        flag=MET_TOGETHER,
    ),
    "a year's digits swapped, and another day and month": HardNegative(
        Record(POLICE, "2026-09-10", _latin("Vannthida", "Sreymonyrath", birth_date="1978-02-04")),
        Record(NGO, "2026-09-14", _latin("Vannthida", "Sreymonyrath", birth_date="1987-07-16")),
    ),
}


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    kafka_bootstrap: str,
    token_keys: Any,
) -> Iterator[ServiceProcess]:
    from nrm_deploy.catalogue import SERVICES

    workdir = tmp_path_factory.mktemp("hard-negatives")
    # A population, as a real index holds: a name's weight depends on how common its
    # words are among the persons known (in an empty index every name is common).
    mapping = load_mapping(Source.NGO_JOINT)
    export = write_export(generate(600, seed=77), mapping, workdir / "population.csv")
    status = nrm(
        [
            "import",
            str(export),
            "--source",
            "ngo-joint",
            "--operator",
            "data-officer@mosvy",
            "--database-url",
            f"sqlite+aiosqlite:///{workdir / 'identification.db'}",
            "--field-keys-file",
            str(token_keys / "field-keys.json"),
        ]
    )
    assert status == 0
    process = ServiceProcess(
        SERVICES["identification"],
        workdir,
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": "thardneg.",
            "JWT_JWKS_FILE": str(token_keys / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(token_keys / "field-keys.json"),
            "OUTBOX_POLL_SECONDS": "0.5",
        },
    )
    process.start("/readyz")
    yield process
    process.stop()


@pytest.fixture
def headers(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def _headers(organisation: str, role: str = "screener") -> dict[str, str]:
        return bearer(mint(organisation, role))

    return _headers


def _screening(record: Record) -> dict[str, Any]:
    return {
        "person": {"sex": "female", **record.person},
        "encounter": {
            "type": "police_operation",
            "date": record.date,
            "province_code": record.province,
        },
        "indicators": {"purposes": ["forced_labour"], "exploitation_country_code": "KHM"},
    }


def _submit(service: ServiceProcess, headers: Callable[..., dict[str, str]], record: Record):
    response = httpx.post(
        f"{service.url}/screenings",
        json=_screening(record),
        headers=headers(record.organisation),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _person_of(service: ServiceProcess, reviewer: dict[str, str], screening: dict[str, Any]) -> str:
    def _linked() -> str | None:
        case = httpx.get(
            f"{service.url}/cases/{screening['case_id']}", headers=reviewer, timeout=30
        ).json()
        found = [s for s in case["screenings"] if s["id"] == screening["id"]]
        if found and found[0]["person_id"]:
            assert found[0]["person"] == f"/persons/{found[0]['person_id']}"
            return str(found[0]["person_id"])
        return None

    return str(eventually(_linked, timeout=30))


def _review_pairs_of(
    service: ServiceProcess, reviewer: dict[str, str], screening_id: str
) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{service.url}/persons/review-pairs?status=open&limit=500", headers=reviewer, timeout=30
    )
    assert response.status_code == 200, response.text
    return [
        pair
        for pair in response.json()["items"]
        if screening_id in (pair["record"]["screening_id"], pair["candidate"]["screening_id"])
    ]


@pytest.mark.parametrize("name", list(CASES))
def test_two_people_alike_are_never_linked_automatically(
    name: str, service: ServiceProcess, headers: Callable[..., dict[str, str]]
) -> None:
    case = CASES[name]
    reviewer = headers("mosvy", "competent_authority")
    first = _submit(service, headers, case.first)
    second = _submit(service, headers, case.second)

    assert _person_of(service, reviewer, first) != _person_of(service, reviewer, second)
    pairs = _review_pairs_of(service, reviewer, second["id"])
    if case.flag is not None:
        assert pairs, f"{case.flag}: the pair goes before a reviewer"
        assert all(case.flag in pair["evidence"]["conflicts"] for pair in pairs)
        assert {pair["candidate"]["screening_id"] for pair in pairs} == {first["id"]}


def test_the_child_rule_is_a_field_of_the_presumptive_result(
    service: ServiceProcess, headers: Callable[..., dict[str, str]]
) -> None:
    child = _submit(
        service,
        headers,
        Record(POLICE, "2026-11-21", _latin("Kolabsophy", "Measchanthou", birth_date="2011-01-05")),
    )
    adult = _submit(
        service,
        headers,
        Record(POLICE, "2026-11-21", _latin("Rachanavy", "Measchanthou", birth_date="1992-01-05")),
    )
    assert child["presumptive_assessment"]["child_rule_applies"] is True
    assert adult["presumptive_assessment"]["child_rule_applies"] is False


def test_only_the_competent_authority_sees_the_person_of_a_screening(
    service: ServiceProcess, headers: Callable[..., dict[str, str]]
) -> None:
    screening = _submit(
        service,
        headers,
        Record(POLICE, "2026-11-21", _latin("Visalroth", "Kimsreang", birth_date="2000-02-02")),
    )
    own = httpx.get(
        f"{service.url}/cases/{screening['case_id']}", headers=headers(POLICE), timeout=30
    )
    assert own.status_code == 200, own.text
    assert [(s["person_id"], s["person"]) for s in own.json()["screenings"]] == [(None, None)]


BAD_INPUT = {
    "a NUL in the family name": ({"family_name": "Chan\x00"}, "person.family_name"),
    "a C1 control in the given name": ({"given_name": "So\x85kha"}, "person.given_name"),
    "a family name without a letter": ({"family_name": "{{7*7}}"}, "person.family_name"),
    "a family name of question marks": ({"family_name": "???"}, "person.family_name"),
    "a given name of exclamation marks": ({"given_name": "!!!"}, "person.given_name"),
    "an alias without a letter": ({"aliases": ["<<>>"]}, "person.aliases.0"),
    "a Khmer name of digits": (
        {"given_name_khmer": "១២៣", "family_name_khmer": "ចាន់"},
        "person.given_name_khmer",
    ),
    "an estimated age the birth date contradicts": (
        {"birth_date": "1995-03-01", "estimated_age": 12},
        "person.estimated_age",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    name: str, service: ServiceProcess, headers: Callable[..., dict[str, str]]
) -> None:
    person, blamed = BAD_INPUT[name]
    before = _screenings_stored(service)
    form = _screening(Record(POLICE, "2026-11-21", _latin("Sokha", "Chan", **person)))
    response = httpx.post(
        f"{service.url}/screenings", json=form, headers=headers(POLICE), timeout=30
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == blamed
    assert "\x00" not in response.text
    assert _screenings_stored(service) == before


def test_control_characters_in_notes_are_refused(
    service: ServiceProcess, headers: Callable[..., dict[str, str]]
) -> None:
    form = _screening(Record(POLICE, "2026-11-21", _latin("Sokha", "Chan")))
    form["indicators"]["purpose_notes"] = "worked \x1b[31m nights"
    response = httpx.post(
        f"{service.url}/screenings", json=form, headers=headers(POLICE), timeout=30
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "indicators.purpose_notes"
    # Lines and tabs are ordinary in notes.
    form["indicators"]["purpose_notes"] = "worked nights\n\tand days"
    accepted = httpx.post(
        f"{service.url}/screenings", json=form, headers=headers(POLICE), timeout=30
    )
    assert accepted.status_code == 201, accepted.text


def _screenings_stored(service: ServiceProcess) -> int:
    connection = sqlite3.connect(service.workdir / "identification.db")
    try:
        return int(connection.execute("SELECT count(*) FROM screening").fetchone()[0])
    finally:
        connection.close()

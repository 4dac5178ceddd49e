"""The person index in the service: each screening is matched on arrival (linked above
the upper threshold, queued for review between the thresholds), and the Competent
Authority confirms, rejects, unlinks and links back, every step audited and announced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

LINKED = "kh.nrm.identification.person.linked.v1"
UNLINKED = "kh.nrm.identification.person.unlinked.v1"

POLICE_IN_KHMER: dict[str, Any] = {
    "given_name": None,
    "family_name": None,
    "given_name_khmer": "សុខា",
    "family_name_khmer": "ចាន់",
    "birth_date": "2004-03-09",
}
NGO_IN_LATIN: dict[str, Any] = {
    "given_name": "Chan",  # the family name written first
    "family_name": "Sok Kha",
    "given_name_khmer": None,
    "family_name_khmer": None,
    "birth_date": "2004-03-09",
}
# The same name without a birth date or age, met in another province: maybe the same
# person, maybe a namesake.
NGO_UNSURE: dict[str, Any] = {**NGO_IN_LATIN, "given_name": "Chann", "birth_date": None}
# Met months before, in another province: no referral chain ties the two records.
ELSEWHERE = {"province_code": "12", "date": "2025-10-20"}
NAMESAKE: dict[str, Any] = {**NGO_IN_LATIN, "birth_date": "1990-07-01"}


@pytest.fixture
def reviewer(auth) -> dict[str, str]:
    return auth("mosvy", "competent_authority")


@pytest.fixture
def persons(outbox_rows, parse_outbox_row) -> Callable[[], dict[str, str]]:
    """Each screening's person, as the person.linked / person.unlinked events tell it."""

    def _persons() -> dict[str, str]:
        person: dict[str, str] = {}
        for row in outbox_rows():
            if row["event_type"] == LINKED:
                data = parse_outbox_row(row).data
                person[str(data.screening_id)] = str(data.person_id)
            elif row["event_type"] == UNLINKED:
                data = parse_outbox_row(row).data
                person[str(data.screening_id)] = str(data.new_person_id)
        return person

    return _persons


@pytest.fixture
def pairs(client, reviewer) -> Callable[..., list[dict[str, Any]]]:
    def _pairs(status: str = "open") -> list[dict[str, Any]]:
        response = client.get(f"/persons/review-pairs?status={status}", headers=reviewer)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return _pairs


# Names no one else in these tests carries, one person each (born years apart).
POPULATION_NAMES = [
    ("Rithy", "Pheakdey"), ("Bunthoeun", "Mao"), ("Vuthy", "Ouk"), ("Sreyneang", "Tep"),
    ("Dara", "Yim"), ("Kosal", "Nhem"), ("Phalla", "Ros"), ("Veasna", "Long"),
    ("Sophal", "Khieu"), ("Thida", "Hem"), ("Narin", "Pov"), ("Chenda", "Sim"),
]  # fmt: skip


@pytest.fixture
def known_persons(screen) -> int:
    """The index already knows a few persons, as a live one does: a name's weight is how
    rare its words are among the persons known (person_keys.name_u_from_counts), and in
    an index whose only person carries the name, the name is as common as can be."""
    for number, (given, family) in enumerate(POPULATION_NAMES):
        screen(
            "moi-dahtjp",
            given_name=given,
            family_name=family,
            given_name_khmer=None,
            family_name_khmer=None,
            birth_date=f"{1970 + 3 * number}-01-15",
        )
    return len(POPULATION_NAMES)


def test_the_same_person_in_khmer_script_and_latin_letters_is_linked_on_arrival(
    client, screen, persons, reviewer, events
) -> None:
    police = screen("moi-dahtjp", **POLICE_IN_KHMER)
    ngo = screen("ngo-shelter-a", encounter={"province_code": "12"}, **NGO_IN_LATIN)

    person = persons()
    assert person[police["id"]] == person[ngo["id"]]
    linked = events("person.linked")[-1].data
    assert linked.basis == "automatic" and linked.score >= 10
    entry = client.get(f"/persons/{person[ngo['id']]}", headers=reviewer).json()
    assert {record["screening_id"] for record in entry["records"]} == {police["id"], ngo["id"]}
    assert {record["person"]["given_name_khmer"] for record in entry["records"]} == {"សុខា", None}


def test_a_namesake_born_another_year_is_never_linked_automatically(screen, persons) -> None:
    first = screen("moi-dahtjp", **NGO_IN_LATIN)
    second = screen("ngo-shelter-a", **NAMESAKE)

    assert persons()[first["id"]] != persons()[second["id"]]


def test_an_uncertain_pair_waits_for_review_with_its_evidence_and_no_names(
    known_persons, screen, persons, pairs
) -> None:
    known = screen("moi-dahtjp", **NGO_IN_LATIN)
    arriving = screen("ngo-shelter-a", encounter=ELSEWHERE, **NGO_UNSURE)

    assert persons()[known["id"]] != persons()[arriving["id"]]
    [pair] = pairs()
    assert pair["record"]["screening_id"] == arriving["id"]
    assert pair["candidate"]["screening_id"] == known["id"]
    assert pair["evidence"]["fields"]["name"]["level"] == "exact"
    assert pair["evidence"]["fields"]["birth_date"]["level"] == "missing"
    assert "Chan" not in str(pair) and "Sok" not in str(pair)


def test_the_reviewer_sees_both_records_side_by_side_and_the_read_is_audited(
    known_persons, client, screen, pairs, reviewer, auth
) -> None:
    screen("moi-dahtjp", **NGO_IN_LATIN)
    screen("ngo-shelter-a", encounter=ELSEWHERE, **NGO_UNSURE)
    [pair] = pairs()

    detail = client.get(f"/persons/review-pairs/{pair['id']}", headers=reviewer).json()

    assert detail["record_detail"]["person"]["given_name"] == "Chann"
    assert detail["candidate_detail"]["person"]["family_name"] == "Sok Kha"
    audit = client.get(
        "/audit",
        params={"resource_id": pair["record"]["screening_id"], "resource_type": "screening"},
        headers=auth("mosvy", "auditor"),
    ).json()["items"]
    assert [(e["action"], e["purpose"]) for e in audit][-1] == ("read", "person_review")


def test_confirming_a_pair_makes_one_person_and_says_so(
    known_persons, client, screen, persons, pairs, reviewer, events
) -> None:
    known = screen("moi-dahtjp", **NGO_IN_LATIN)
    arriving = screen("ngo-shelter-a", encounter=ELSEWHERE, **NGO_UNSURE)
    [pair] = pairs()

    response = client.post(f"/persons/review-pairs/{pair['id']}/confirm", headers=reviewer)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert persons()[arriving["id"]] == persons()[known["id"]]
    last = events("person.linked")[-1].data
    assert last.basis == "review_confirmed" and last.previous_person_id is not None
    assert pairs() == []
    again = client.post(f"/persons/review-pairs/{pair['id']}/confirm", headers=reviewer)
    assert again.status_code == 409


def test_rejecting_a_pair_keeps_two_persons(
    known_persons, client, screen, persons, pairs, reviewer
) -> None:
    known = screen("moi-dahtjp", **NGO_IN_LATIN)
    arriving = screen("ngo-shelter-a", encounter=ELSEWHERE, **NGO_UNSURE)
    [pair] = pairs()

    response = client.post(f"/persons/review-pairs/{pair['id']}/reject", headers=reviewer)

    assert response.json()["status"] == "rejected"
    assert persons()[arriving["id"]] != persons()[known["id"]]
    assert [p["id"] for p in pairs("rejected")] == [pair["id"]]


def test_an_unlink_is_undone_by_a_link_and_both_stay_in_the_history(
    client, screen, persons, reviewer, events
) -> None:
    police = screen("moi-dahtjp", **POLICE_IN_KHMER)
    ngo = screen("ngo-shelter-a", **NGO_IN_LATIN)
    person = persons()[police["id"]]

    unlinked = client.post(f"/persons/{person}/records/{ngo['id']}/unlink", headers=reviewer)

    assert unlinked.status_code == 200, unlinked.text
    assert persons()[ngo["id"]] == unlinked.json()["person_id"] != person
    assert str(events("person.unlinked")[-1].data.person_id) == person
    relinked = client.post(
        f"/persons/{person}/records", json={"screening_id": ngo["id"]}, headers=reviewer
    )
    assert relinked.status_code == 201, relinked.text
    assert persons()[ngo["id"]] == person
    history = client.get(f"/persons/{person}/history", headers=reviewer).json()["entries"]
    assert [entry["action"] for entry in history] == ["created", "linked", "unlinked", "linked"]


def test_the_last_record_of_a_person_cannot_be_unlinked(client, screen, persons, reviewer) -> None:
    alone = screen("moi-dahtjp", **NGO_IN_LATIN)
    person = persons()[alone["id"]]

    response = client.post(f"/persons/{person}/records/{alone['id']}/unlink", headers=reviewer)

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("organisation", "role", "status"),
    [
        ("moi-dahtjp", "screener", 403),  # a first responder
        ("mosvy", "analyst", 403),  # counts only
        ("moj", "competent_authority", 403),  # the role, outside the Competent Authority
    ],
)
def test_only_the_competent_authority_reviews_the_person_index(
    client, auth, screen, persons, organisation, role, status
) -> None:
    record = screen("moi-dahtjp", **NGO_IN_LATIN)
    person = persons()[record["id"]]
    headers = auth(organisation, role)

    for path in ("/persons/review-pairs", f"/persons/{person}", f"/persons/{person}/history"):
        assert client.get(path, headers=headers).status_code == status, path
    unlink = f"/persons/{person}/records/{record['id']}/unlink"
    assert client.post(unlink, headers=headers).status_code == status


def test_an_unknown_pair_or_person_is_404(client, reviewer) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/persons/review-pairs/{unknown}", headers=reviewer).status_code == 404
    assert client.get(f"/persons/{unknown}", headers=reviewer).status_code == 404
    link = client.post(
        f"/persons/{unknown}/records", json={"screening_id": unknown}, headers=reviewer
    )
    assert link.status_code == 404


def test_the_persons_counted_per_word_follow_every_link_merge_and_unlink(
    known_persons, client, screen, persons, pairs, reviewer, words_follow_the_records
) -> None:
    assert words_follow_the_records()  # created and linked on arrival
    known = screen("moi-dahtjp", **NGO_IN_LATIN)
    screen("ngo-shelter-a", encounter=ELSEWHERE, **NGO_UNSURE)
    [pair] = pairs()
    steps = [
        ("POST", f"/persons/review-pairs/{pair['id']}/confirm", None),  # a merge
        ("POST", f"/persons/{persons()[known['id']]}/records/{known['id']}/unlink", None),
    ]
    for method, path, body in steps:
        response = client.request(method, path, json=body, headers=reviewer)
        assert response.status_code == 200, response.text
        assert words_follow_the_records(), path
    person = persons()[pair["record"]["screening_id"]]
    relinked = client.post(
        f"/persons/{person}/records", json={"screening_id": known["id"]}, headers=reviewer
    )
    assert relinked.status_code == 201, relinked.text
    assert words_follow_the_records()

"""The case as evidence of the person: the agencies of one referral chain meet a person
within days or weeks of each other and see one exploitation in one country; a slip in a
word is the word mistyped; a pair that cannot reach the review threshold is not worth
comparing names for."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from identification.legacy_import.samples import sample_features
from identification.person_index.domain.index import features_of
from identification.person_index.domain.matching import (
    DEFAULT_MODEL,
    Level,
    PersonFeatures,
    blocking_keys,
    compare,
    compare_within_reach,
    encounter_level,
    filed_and_probing_keys,
    probing_keys,
)
from identification.person_index.synthetic import generate

MET = date(2024, 3, 2)


@pytest.mark.parametrize(
    ("days_apart", "level"),
    [
        (0, Level.EXACT),  # a joint operation
        (5, Level.CLOSE),  # the referral to MOSVY within the week
        (45, Level.SIMILAR),  # an NGO's intake
        (300, Level.WEAK),  # aftercare, a late registration
        (900, Level.DIFFERENT),  # met again, years later
    ],
)
def test_encounters_compare_by_days_apart_either_way(days_apart: int, level: Level) -> None:
    later = MET + timedelta(days=days_apart)
    assert encounter_level(MET, later) is level
    assert encounter_level(later, MET) is level


def test_an_encounter_not_known_is_no_evidence() -> None:
    assert encounter_level(MET, None) is Level.MISSING
    assert DEFAULT_MODEL.met.weight(Level.MISSING) == 0.0


def test_encounters_close_together_are_evidence_and_far_apart_against() -> None:
    weights = [DEFAULT_MODEL.met.weight(level) for level in DEFAULT_MODEL.met.levels]
    assert DEFAULT_MODEL.met.weight(Level.EXACT) > DEFAULT_MODEL.met.weight(Level.CLOSE) > 0
    assert DEFAULT_MODEL.met.weight(Level.DIFFERENT) == min(weights) < 0


def _record(**overrides: object) -> PersonFeatures:
    fields: dict[str, object] = {
        "given_name": "Sreyleak",
        "family_name": "Chhim",
        "sex": "female",
        "nationality": "KHM",
        "province_code": "01",
        "encounter_date": MET,
        **overrides,
    }
    return features_of(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        (["forced_labour"], ["forced_labour"], Level.AGREE),
        (["forced_labour", "forced_begging"], ["forced_begging"], Level.AGREE),
        (["forced_labour"], ["sexual_exploitation"], Level.DIFFERENT),
        (["forced_labour"], [], Level.MISSING),
    ],
)
def test_the_exploitation_agrees_when_the_records_share_a_purpose(
    first: list[str], second: list[str], level: Level
) -> None:
    comparison = compare(_record(purposes=first), _record(purposes=second))
    assert comparison.levels["purpose"] is level


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("THA", "THA", Level.AGREE),
        ("THA", "CHN", Level.DIFFERENT),
        ("THA", None, Level.MISSING),
    ],
)
def test_the_country_of_exploitation_agrees_or_not(
    first: str, second: str | None, level: Level
) -> None:
    comparison = compare(
        _record(exploitation_country_code=first), _record(exploitation_country_code=second)
    )
    assert comparison.levels["exploitation_country"] is level
    assert (comparison.weights["exploitation_country"] > 0) is (level is Level.AGREE)


def test_a_name_alone_met_the_same_week_for_the_same_case_links() -> None:
    # No birth date on either record: the name, and the referral chain's week, place
    # and case, make one person.
    police = _record(purposes=["forced_labour"], exploitation_country_code="THA")
    shelter = _record(
        encounter_date=MET + timedelta(days=3),
        purposes=["forced_labour"],
        exploitation_country_code="THA",
    )
    assert compare(police, shelter).total >= DEFAULT_MODEL.upper


def test_the_same_name_alone_years_apart_for_another_case_is_not_linked() -> None:
    police = _record(purposes=["forced_labour"], exploitation_country_code="THA")
    years_later = _record(
        encounter_date=MET + timedelta(days=1000),
        province_code="12",
        purposes=["forced_marriage"],
        exploitation_country_code="CHN",
    )
    assert compare(police, years_later).total < DEFAULT_MODEL.lower


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("Bunthoeun", "Bumthoeun", Level.CLOSE),  # a letter changed near the start
        ("Sopheakmony", "Sopheakmny", Level.CLOSE),  # a letter left out
        ("Kim", "iKm", Level.SIMILAR),  # a short word: maybe another name
        ("Sok", "Sek", Level.SIMILAR),
    ],
)
def test_one_typing_slip_in_a_word_keeps_the_name(first: str, second: str, level: Level) -> None:
    comparison = compare(_record(given_name=first), _record(given_name=second))
    assert comparison.levels["name"] is level


def test_two_slips_in_a_short_word_make_another_name() -> None:
    comparison = compare(_record(given_name="Sok"), _record(given_name="Kosal"))
    assert comparison.levels["name"] is Level.DIFFERENT


def test_an_encounter_days_away_across_a_period_boundary_is_still_a_candidate() -> None:
    # Two records with one word mistyped each and no birth date: only the encounter's
    # period ties them. Each is filed under its own period and looked up around it.
    for day in range(0, 60, 7):
        met = MET + timedelta(days=day)
        first = _record(given_name="Sreyleakhena", encounter_date=met)
        second = _record(
            given_name="Sreyleakhina", family_name="Chhm", encounter_date=met + timedelta(days=9)
        )
        assert probing_keys(second) & blocking_keys(first), met
        assert blocking_keys(first) <= probing_keys(first)


def test_a_record_is_filed_under_one_encounter_period_per_word() -> None:
    keys = blocking_keys(_record())
    periods = {key.rsplit(":", 1)[1] for key in keys if key.startswith("met:")}
    assert len(periods) == 1


@pytest.mark.parametrize("reach", [-50.0, 0.0, 8.0, 15.0, 40.0])
def test_a_pair_is_skipped_only_when_it_cannot_reach(reach: float) -> None:
    records = generate(120, seed=3)
    features = [sample_features(record) for record in records]
    for a in features[:30]:
        for b in features:
            full = compare(a, b)
            bounded = compare_within_reach(a, b, name_u=None, reach=reach)
            if bounded is None:
                assert full.total < reach
            else:
                assert bounded == full


def test_the_generator_dates_a_persons_records_as_a_referral_chain_does() -> None:
    records = generate(5000, seed=21)
    by_person: dict[str, list[date]] = {}
    for record in records:
        by_person.setdefault(record.person_key, []).append(
            date.fromisoformat(record.encounter_date)
        )
    spans = [max(days) - min(days) for days in by_person.values() if len(days) > 1]
    within_two_months = sum(span <= timedelta(days=60) for span in spans) / len(spans)
    # Most chains within two months, some not (late registrations, persons met again).
    assert 0.4 < within_two_months < 0.9
    # Groups met together: many persons share their first day with others.
    firsts = [min(days) for days in by_person.values()]
    shared = sum(firsts.count(day) > 1 for day in set(firsts))
    assert shared > 20
    assert max(date.fromisoformat(r.encounter_date) for r in records) < date(2026, 3, 1)


def test_the_filed_and_probing_keys_at_once_are_each_alone() -> None:
    for record in (_record(), _record(encounter_date=None), _record(given_name=None)):
        filed, probes = filed_and_probing_keys(record)
        assert (filed, probes) == (blocking_keys(record), probing_keys(record))

"""The presumptive assessment: the Palermo test (act, means, purpose) with the child rule,
the irrelevance of consent once a means was used, and the continuum A-F; explained per
element. Realistic cases first, then each rule on its own."""

from __future__ import annotations

from datetime import date

import pytest

from identification.domain import ages
from identification.domain.ages import BirthDatePrecision
from identification.domain.assessment import AgeBasis, ScreeningAnswers, assess
from identification.domain.indicators import Act, ContinuumPosition, Means, Purpose
from nrm_contracts.events.identification import LabourSector, PresumptiveResult

PRESUMED = PresumptiveResult.PRESUMED_VICTIM
POSSIBLE = PresumptiveResult.POSSIBLE_VICTIM_MORE_INFORMATION_NEEDED
NOT_MET = PresumptiveResult.INDICATORS_NOT_MET
ADULT = {"is_child": False, "age_basis": AgeBasis.BIRTH_DATE}

REALISTIC_CASES = {
    "a man deported from Thailand after forced work on a fishing boat": (
        ScreeningAnswers(
            acts=[Act.RECRUITMENT, Act.TRANSPORT],
            means=[Means.DECEPTION_OR_FALSE_PROMISES, Means.DEBT_BONDAGE, Means.WITHHELD_WAGES],
            purposes=[Purpose.FORCED_LABOUR],
            labour_sectors=[LabourSector.FISHING],
            continuum=ContinuumPosition.B,
            **ADULT,
        ),
        PRESUMED,
    ),
    "a Vietnamese girl (about 15) found in a brothel in Svay Pak who says she agreed": (
        ScreeningAnswers(
            acts=[Act.HARBOURING, Act.RECEIPT],
            purposes=[Purpose.SEXUAL_EXPLOITATION],
            person_consented=True,
            is_child=True,
            age_basis=AgeBasis.ESTIMATED_AGE,
        ),
        PRESUMED,
    ),
    "a domestic worker recruited for Malaysia whose passport was taken": (
        ScreeningAnswers(
            acts=[Act.RECRUITMENT, Act.TRANSPORT],
            means=[Means.CONFISCATED_DOCUMENTS, Means.RESTRICTED_MOVEMENT],
            purposes=[Purpose.FORCED_LABOUR],
            labour_sectors=[LabourSector.DOMESTIC_WORK],
            person_consented=True,
            **ADULT,
        ),
        PRESUMED,
    ),
    "a worker who knew the work and conditions and chose the worksite (F)": (
        ScreeningAnswers(
            acts=[Act.RECRUITMENT, Act.TRANSPORT],
            continuum=ContinuumPosition.F,
            person_consented=True,
            **ADULT,
        ),
        NOT_MET,
    ),
    "a worker who knew the work but not the conditions (C)": (
        ScreeningAnswers(
            acts=[Act.RECRUITMENT, Act.TRANSPORT],
            purposes=[Purpose.FORCED_LABOUR],
            labour_sectors=[LabourSector.CONSTRUCTION],
            continuum=ContinuumPosition.C,
            **ADULT,
        ),
        PRESUMED,
    ),
    "a brick-kiln family in debt bondage, age of the worker unknown, no act reported": (
        ScreeningAnswers(
            means=[Means.DEBT_BONDAGE],
            purposes=[Purpose.FORCED_LABOUR],
            labour_sectors=[LabourSector.BRICK_KILN],
        ),
        POSSIBLE,
    ),
    "a woman who went to China to marry, nothing more known": (
        ScreeningAnswers(acts=[Act.TRANSPORT], **ADULT),
        NOT_MET,
    ),
}


@pytest.mark.parametrize(
    ("answers", "result"), list(REALISTIC_CASES.values()), ids=list(REALISTIC_CASES)
)
def test_realistic_cases(answers: ScreeningAnswers, result: PresumptiveResult) -> None:
    assert assess(answers).result is result


def test_each_element_names_the_answers_that_met_it() -> None:
    answers, _ = REALISTIC_CASES["a man deported from Thailand after forced work on a fishing boat"]

    assessment = assess(answers)

    assert assessment.act.answers == ["act: recruitment", "act: transport"]
    assert assessment.means.answers == [
        "means: deception_or_false_promises",
        "means: debt_bondage",
        "means: withheld_wages",
        "continuum B: given false information and brought into another business than promised",
    ]
    assert assessment.purpose.answers == ["purpose: forced_labour", "labour sector: fishing"]
    assert all(f.met and f.required for f in (assessment.act, assessment.means, assessment.purpose))


def test_a_child_needs_no_means() -> None:
    answers = ScreeningAnswers(
        acts=[Act.RECRUITMENT],
        purposes=[Purpose.FORCED_BEGGING],
        is_child=True,
        age_basis=AgeBasis.BIRTH_DATE,
    )

    assessment = assess(answers)

    assert assessment.result is PRESUMED
    assert (assessment.means.met, assessment.means.required) == (False, False)
    assert assessment.means.explanation == "not required: a child needs no means"
    assert assessment.child_rule == "a child (under 18 at the time): no means is required"


def test_an_adult_with_the_same_answers_needs_a_means() -> None:
    answers = ScreeningAnswers(acts=[Act.RECRUITMENT], purposes=[Purpose.FORCED_BEGGING], **ADULT)

    assessment = assess(answers)

    assert assessment.result is POSSIBLE
    assert assessment.summary == "possible victim: more information needed on means"


def test_an_estimated_age_under_18_follows_the_child_rule_and_says_so() -> None:
    answers, _ = REALISTIC_CASES[
        "a Vietnamese girl (about 15) found in a brothel in Svay Pak who says she agreed"
    ]

    child_rule = assess(answers).child_rule

    assert child_rule.startswith("the child rule applies on an estimated age under 18")
    assert "estimate" in child_rule


def test_an_unknown_age_is_never_taken_for_a_child_or_silently_for_an_adult() -> None:
    answers = ScreeningAnswers(acts=[Act.RECEIPT], purposes=[Purpose.SEXUAL_EXPLOITATION])

    assessment = assess(answers)

    assert assessment.result is POSSIBLE  # the means is missing unless the age says child
    assert assessment.child_rule.startswith("age unknown")


@pytest.mark.parametrize(
    ("is_child", "means", "consent_note"),
    [
        (False, [Means.THREAT], "the person's consent is irrelevant: a means was used"),
        (True, [], "the consent of a child to the exploitation is irrelevant"),
        (False, [], "the person consented and no means was found: the consent is not set aside"),
    ],
)
def test_consent_is_irrelevant_once_a_means_is_present(is_child, means, consent_note) -> None:
    answers = ScreeningAnswers(
        acts=[Act.RECRUITMENT],
        means=means,
        purposes=[Purpose.SEXUAL_EXPLOITATION],
        person_consented=True,
        is_child=is_child,
        age_basis=AgeBasis.BIRTH_DATE,
    )

    assessment = assess(answers)

    assert assessment.consent == consent_note
    assert assessment.result is (PRESUMED if is_child or means else POSSIBLE)


def test_without_consent_there_is_no_consent_note() -> None:
    assert assess(ScreeningAnswers(acts=[Act.RECRUITMENT], **ADULT)).consent is None


# Act and purpose present, no means reported: what the continuum position makes of it.
@pytest.mark.parametrize(
    ("position", "result"),
    [
        (ContinuumPosition.A, PRESUMED),  # force or abduction
        (ContinuumPosition.B, PRESUMED),  # deception about the business
        (ContinuumPosition.C, PRESUMED),  # deception about the conditions
        (ContinuumPosition.D, POSSIBLE),  # grey zone: ask further
        (ContinuumPosition.E, POSSIBLE),
        (ContinuumPosition.F, POSSIBLE),  # no means; the exploitation itself needs looking at
        (None, POSSIBLE),
    ],
)
def test_the_continuum_position_with_act_and_purpose(position, result) -> None:
    answers = ScreeningAnswers(
        acts=[Act.RECRUITMENT], purposes=[Purpose.FORCED_LABOUR], continuum=position, **ADULT
    )

    assert assess(answers).result is result


# Only an act reported: the grey zone (D, E) asks for more; F and nothing say not met.
@pytest.mark.parametrize(
    ("position", "result"),
    [
        (ContinuumPosition.D, POSSIBLE),
        (ContinuumPosition.E, POSSIBLE),
        (ContinuumPosition.F, NOT_MET),
        (None, NOT_MET),
    ],
)
def test_the_grey_zone_of_the_continuum_asks_for_more(position, result) -> None:
    answers = ScreeningAnswers(acts=[Act.RECRUITMENT], continuum=position, **ADULT)

    assert assess(answers).result is result


def test_continuum_f_says_why_the_indicators_are_not_met() -> None:
    answers, _ = REALISTIC_CASES[
        "a worker who knew the work and conditions and chose the worksite (F)"
    ]

    assert "continuum F" in assess(answers).summary


def test_nothing_reported_meets_nothing() -> None:
    assessment = assess(ScreeningAnswers(**ADULT))

    assert assessment.result is NOT_MET
    assert not any(f.met for f in (assessment.act, assessment.means, assessment.purpose))


@pytest.mark.parametrize(
    ("birth_date", "precision", "encounter", "child"),
    [
        ("2008-03-15", BirthDatePrecision.DAY, "2026-03-14", True),
        ("2008-03-15", BirthDatePrecision.DAY, "2026-03-15", False),
        # Born some day in March 2008: on 20 March 2026 the person may still be 17.
        ("2008-03-01", BirthDatePrecision.MONTH, "2026-03-20", True),
        ("2008-03-01", BirthDatePrecision.MONTH, "2026-04-01", False),
        # Born some day in 2008: a child until 30 December 2026, for all we know.
        ("2008-01-01", BirthDatePrecision.YEAR, "2026-12-30", True),
        ("2008-01-01", BirthDatePrecision.YEAR, "2026-12-31", False),
    ],
)
def test_an_imprecise_birth_date_gives_the_benefit_of_the_doubt(
    birth_date, precision, encounter, child
) -> None:
    age = ages.age_at(
        birth_date=date.fromisoformat(birth_date),
        precision=precision,
        estimated_age=None,
        on=date.fromisoformat(encounter),
    )

    assert ages.is_child(age) is child


@pytest.mark.parametrize(
    ("birth_date", "estimate", "contradicts"),
    [
        ("2010-05-17", 15, False),  # 15 on the day
        ("2010-05-17", 17, False),  # within two years
        ("2010-05-17", 13, False),
        ("2010-05-17", 18, True),
        ("2010-05-17", 12, True),
        ("1990-01-01", 16, True),
    ],
)
def test_an_estimated_age_may_not_contradict_the_birth_date(
    birth_date, estimate, contradicts
) -> None:
    assert (
        ages.contradicts(
            birth_date=date.fromisoformat(birth_date),
            precision=BirthDatePrecision.DAY,
            estimate=estimate,
            on=date(2026, 3, 2),
        )
        is contradicts
    )

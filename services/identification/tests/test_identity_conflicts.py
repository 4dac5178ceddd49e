"""The hard constraints before the weights, as a table: which pairs of births (each
with the day its record was made) are a child and an adult, or years apart."""

from __future__ import annotations

from datetime import date

import pytest

from identification.person_index.domain.conflicts import (
    AgeStatus,
    BirthSpan,
    Conflict,
    age_status,
    conflicts_between,
)
from identification.person_index.domain.matching import BirthInfo

CHILD_ADULT, APART = Conflict.CHILD_ADULT, Conflict.BIRTH_YEARS_APART
NOV_2026 = date(2026, 11, 20)


def _estimate(age: int, on: date = NOV_2026) -> BirthInfo:
    info = BirthInfo.of(None, None, estimated_age=age, on=on)
    assert info is not None
    return info


@pytest.mark.parametrize(
    ("first", "first_met", "second", "second_met", "expected"),
    [
        # The raid: a girl born 2010 and a woman born 1995, one day.
        (BirthInfo(2010, 4, 2), NOV_2026, BirthInfo(1995, 8, 14), NOV_2026, {CHILD_ADULT, APART}),
        # Apparent ages 15 and 35 (each with its range of two years).
        (_estimate(15), NOV_2026, _estimate(35), NOV_2026, {CHILD_ADULT, APART}),
        (_estimate(13), NOV_2026, _estimate(34), date(2026, 10, 31), {CHILD_ADULT, APART}),
        # Two adults, births 13 years apart; 11 years apart on the same day and month.
        (BirthInfo(2008, 2, 11), NOV_2026, BirthInfo(1995, 6, 23), NOV_2026, {APART}),
        (BirthInfo(1990, 5, 17), NOV_2026, BirthInfo(2001, 5, 17), NOV_2026, {APART}),
        # Typing slips are not years apart: a year off by one, two digits swapped, one
        # digit mistyped in a date whose day and month agree.
        (BirthInfo(1990, 5, 17), NOV_2026, BirthInfo(1991, 5, 17), NOV_2026, set()),
        (BirthInfo(1987, 5, 17), NOV_2026, BirthInfo(1978, 5, 17), NOV_2026, set()),
        (BirthInfo(1985, 3, 9), NOV_2026, BirthInfo(1995, 3, 9), NOV_2026, set()),
        # Two dates of one decade differ in one digit too; without the day and month
        # agreeing, they are years apart.
        (BirthInfo(1988, 1, 30), NOV_2026, BirthInfo(1983, 7, 2), NOV_2026, {APART}),
        # A slip across the 18th birthday is still a child and an adult on that day.
        (BirthInfo(2008, 11, 21), NOV_2026, BirthInfo(2008, 11, 20), NOV_2026, {CHILD_ADULT}),
        # A year only: born in 2009 is 16 or 17 in November 2026; 2008 may be either.
        (BirthInfo(2009), NOV_2026, BirthInfo(2000), NOV_2026, {CHILD_ADULT, APART}),
        (BirthInfo(2008), NOV_2026, BirthInfo(2005), NOV_2026, {APART}),
        # An apparent age of 16 (14 to 18) is no certain child; 17 against 19 is a guess.
        (_estimate(16), NOV_2026, BirthInfo(1999, 1, 1), NOV_2026, {APART}),
        (_estimate(17), NOV_2026, _estimate(19), NOV_2026, set()),
        # A record without a birth says nothing.
        (None, NOV_2026, BirthInfo(1995, 8, 14), NOV_2026, set()),
        # The same person met as a child and again as an adult, years later: one birth.
        (BirthInfo(2005, 6, 1), date(2020, 1, 5), BirthInfo(2005, 6, 1), NOV_2026, set()),
        # A child then, an adult now, by estimates made years apart: consistent.
        (_estimate(14, date(2019, 3, 1)), date(2019, 3, 1), _estimate(21), NOV_2026, set()),
    ],
)
def test_conflicts_between_births(
    first: BirthInfo | None,
    first_met: date,
    second: BirthInfo | None,
    second_met: date,
    expected: set[Conflict],
) -> None:
    assert conflicts_between(first, first_met, second, second_met) == expected
    assert conflicts_between(second, second_met, first, first_met) == expected


@pytest.mark.parametrize(
    ("birth", "status"),
    [
        (BirthInfo(2008, 11, 21), AgeStatus.CHILD),  # 18 tomorrow
        (BirthInfo(2008, 11, 20), AgeStatus.ADULT),  # 18 today
        (BirthInfo(2008, 11), AgeStatus.UNCERTAIN),  # some day in November 2008
        (BirthInfo(2009), AgeStatus.CHILD),
        (BirthInfo(2007), AgeStatus.ADULT),
        (BirthInfo(2012, 2, 29), AgeStatus.CHILD),
    ],
)
def test_age_status_on_a_day(birth: BirthInfo, status: AgeStatus) -> None:
    assert age_status(BirthSpan.of(birth), NOV_2026) is status

"""Evidence no agreement of names can outweigh: what makes two records two people before
any weight is added.

Two records one agency made of one encounter on one day are two people unless their
whole birth dates agree: a raid or a mass deportation meets namesakes and siblings
together, and the agency records each person once.

A child is never folded into an adult. A record whose birth date (a day, a month, a
year, or an estimated age with its range) makes the person under 18 on a day cannot be
the record of someone another record makes 18 or older on that same day: the child rule,
the statistics by age band and the unique count would all be wrong for her. And birth
dates years apart, beyond what a typing slip explains (a digit mistyped or two digits
swapped), are two people whatever the names, the day or the agency say.

Pure: the matcher (:mod:`identification.person_index.domain.matching`) asks
:func:`conflicts_between` for every pair it could link, and never links a pair with a
conflict automatically; at most a reviewer sees it, with the conflict named.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from identification.domain.ages import ADULT_AGE

if TYPE_CHECKING:
    from identification.person_index.domain.matching import BirthInfo

# Years between two birth dates that a slip in a full date can explain (one off, or one
# digit mistyped, see matching._one_key); past this, the dates are of two people.
SLIP_YEARS = 1
# An apparent age is an officer's guess: beyond its own range (matching's tolerance),
# it may be off by this many years more before the records are two people.
ESTIMATE_SLACK_YEARS = 2


class Conflict(StrEnum):
    """Why a pair of records is never linked automatically."""

    CHILD_ADULT = "child_adult_conflict"
    BIRTH_YEARS_APART = "birth_years_apart"
    # Two records of one agency's encounter on one day (a raid, a mass deportation): a
    # crowd holds namesakes and siblings, and an agency records each person it meets
    # once. A second record of one person that day (the same whole birth date too) is a
    # duplicate entry.
    MET_TOGETHER = "met_together"


@dataclass(frozen=True)
class BirthSpan:
    """The earliest and latest day a record's person can have been born."""

    earliest: date
    latest: date

    @classmethod
    def of(cls, birth: BirthInfo) -> BirthSpan:
        first_year, last_year = birth.year - birth.tolerance, birth.year + birth.tolerance
        if birth.month is None:
            return cls(date(first_year, 1, 1), date(last_year, 12, 31))
        if birth.day is None:
            last_day = calendar.monthrange(last_year, birth.month)[1]
            return cls(date(first_year, birth.month, 1), date(last_year, birth.month, last_day))
        return cls(
            _in_year(first_year, birth.month, birth.day),
            _in_year(last_year, birth.month, birth.day),
        )


class AgeStatus(StrEnum):
    CHILD = "child"
    ADULT = "adult"
    UNCERTAIN = "uncertain"


def age_status(span: BirthSpan, on: date) -> AgeStatus:
    """Under 18 on ``on`` whichever day of the span the person was born, 18 or older
    whichever day, or either."""
    coming_of_age = _years_before(on, ADULT_AGE)
    if span.earliest > coming_of_age:
        return AgeStatus.CHILD
    if span.latest <= coming_of_age:
        return AgeStatus.ADULT
    return AgeStatus.UNCERTAIN


def conflicts_between(
    first: BirthInfo | None,
    first_met: date | None,
    second: BirthInfo | None,
    second_met: date | None,
) -> frozenset[Conflict]:
    """The conflicts between two records' births, each record with the day it was
    made: a child and an adult on either record's day, and births years apart."""
    if first is None or second is None:
        return frozenset()
    spans = BirthSpan.of(first), BirthSpan.of(second)
    found: set[Conflict] = set()
    for day in {met for met in (first_met, second_met) if met is not None}:
        statuses = {age_status(span, day) for span in spans}
        if statuses == {AgeStatus.CHILD, AgeStatus.ADULT}:
            found.add(Conflict.CHILD_ADULT)
    if births_apart(first, second):
        found.add(Conflict.BIRTH_YEARS_APART)
    return frozenset(found)


def births_apart(first: BirthInfo, second: BirthInfo) -> bool:
    """Whether two births are years apart beyond a typing slip (or, for an apparent
    age, beyond its range and an officer's misjudgement)."""
    slack = ESTIMATE_SLACK_YEARS if first.tolerance or second.tolerance else 0
    if _years_apart(first, second) <= SLIP_YEARS + slack:
        return False
    return not _year_slip(first, second)


def _years_apart(first: BirthInfo, second: BirthInfo) -> int:
    """Whole years between the nearest years of birth the two records allow (0 when
    their ranges meet)."""
    a, b = first.years, second.years
    return max(0, max(a.start, b.start) - min(a.stop, b.stop) + 1)


def _year_slip(first: BirthInfo, second: BirthInfo) -> bool:
    """Whether a typist's slip explains the years: two neighbouring digits swapped
    ("1987" / "1978"), or, in dates whose day and month agree, one digit mistyped
    ("1985-03-09" / "1995-03-09"). Two dates of one decade differ in one digit too:
    without the day and month to vouch for it, that is no slip."""
    if first.tolerance or second.tolerance:
        return False
    x, y = f"{first.year:04d}", f"{second.year:04d}"
    wrong = [i for i in range(len(x)) if x[i] != y[i]]
    same_day = {(first.month, first.day)} & {
        (second.month, second.day),
        (second.day, second.month),
    }
    if first.day is not None and second.day is not None and not same_day:
        # Two whole dates: a slip in the year, and the day and month another's too, is
        # no slip but another date.
        return False
    if len(wrong) == 2 and wrong[1] == wrong[0] + 1:
        return (x[wrong[0]], x[wrong[1]]) == (y[wrong[1]], y[wrong[0]])
    return len(wrong) == 1 and first.day is not None and bool(same_day)


def _years_before(day: date, years: int) -> date:
    return _in_year(day.year - years, day.month, day.day)


def _in_year(year: int, month: int, day: int) -> date:
    # 29 February in a common year is the 28th.
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))

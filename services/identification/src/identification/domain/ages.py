"""Screening rules about dates and age that need nothing from the outside world."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from nrm_contracts.events.identification import AgeBand

ADULT_AGE = 18
# An estimate may be off; a difference beyond this from the birth date is a contradiction.
ESTIMATE_TOLERANCE_YEARS = 2

# The earliest time zone on Earth: "today" there is never in the future anywhere, so a
# date written on the day by a responder in Phnom Penh (UTC+7) before 07:00 is accepted.
_EARLIEST_ZONE = timezone(timedelta(hours=14))


class BirthDatePrecision(StrEnum):
    """How much of the birth date is known; ``estimated_age`` when only an age is."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    ESTIMATED_AGE = "estimated_age"


def latest_possible_today() -> date:
    """The calendar date that is today somewhere; any later date is in the future."""
    return datetime.now(_EARLIEST_ZONE).date()


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def latest_birth_date(birth_date: date, precision: BirthDatePrecision) -> date:
    """The latest day the person can have been born, given what is known.

    The youngest possible age is the one that counts: a person who may be under 18
    gets the child rule (the presumption of minority).
    """
    if precision is BirthDatePrecision.YEAR:
        return date(birth_date.year, 12, 31)
    if precision is BirthDatePrecision.MONTH:
        last = calendar.monthrange(birth_date.year, birth_date.month)[1]
        return date(birth_date.year, birth_date.month, last)
    return birth_date


def age_at(
    *,
    birth_date: date | None,
    precision: BirthDatePrecision,
    estimated_age: int | None,
    on: date,
) -> int | None:
    """The (youngest possible) age on ``on``; a known birth date wins over an estimate."""
    if birth_date is not None:
        return age_on(latest_birth_date(birth_date, precision), on)
    return estimated_age


def is_child(age: int | None) -> bool | None:
    """Under 18; None when the age is unknown (never "adult" by default: a child needs
    no means in the Palermo test, so unknown must stay unknown)."""
    return None if age is None else age < ADULT_AGE


def contradicts(
    *, birth_date: date, precision: BirthDatePrecision, estimate: int, on: date
) -> bool:
    """Whether an estimated age contradicts the birth date (beyond the tolerance)."""
    youngest = age_on(latest_birth_date(birth_date, precision), on)
    oldest = age_on(
        birth_date if precision is BirthDatePrecision.DAY else _earliest(birth_date, precision), on
    )
    return not youngest - ESTIMATE_TOLERANCE_YEARS <= estimate <= oldest + ESTIMATE_TOLERANCE_YEARS


def _earliest(birth_date: date, precision: BirthDatePrecision) -> date:
    if precision is BirthDatePrecision.YEAR:
        return date(birth_date.year, 1, 1)
    return date(birth_date.year, birth_date.month, 1)


def age_band(age: int | None) -> AgeBand:
    if age is None:
        return AgeBand.UNKNOWN
    for upper, band in (
        (12, AgeBand.UNDER_12),
        (18, AgeBand.FROM_12_TO_17),
        (25, AgeBand.FROM_18_TO_24),
        (40, AgeBand.FROM_25_TO_39),
        (60, AgeBand.FROM_40_TO_59),
    ):
        if age < upper:
            return band
    return AgeBand.FROM_60

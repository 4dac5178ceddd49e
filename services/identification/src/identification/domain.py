"""Screening rules that need nothing from the outside world."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

ADULT_AGE = 18

# The earliest time zone on Earth: "today" there is never in the future anywhere, so a
# date written on the day by a responder in Phnom Penh (UTC+7) before 07:00 is accepted.
_EARLIEST_ZONE = timezone(timedelta(hours=14))


def latest_possible_today() -> date:
    """The calendar date that is today somewhere; any later date is in the future."""
    return datetime.now(_EARLIEST_ZONE).date()


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def is_child(*, birth_date: date | None, estimated_age: int | None, on: date) -> bool | None:
    """Under 18 on the encounter date; None when neither a birth date nor an estimate is known.

    A known birth date wins over an estimate. (The Palermo test treats a child
    differently: no means are needed, so unknown must stay unknown, never "adult".)
    """
    if birth_date is not None:
        return age_on(birth_date, on) < ADULT_AGE
    if estimated_age is not None:
        return estimated_age < ADULT_AGE
    return None

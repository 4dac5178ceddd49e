"""The services' clock, and the day it is in Cambodia.

Services ask an injected clock for the time instead of the system, so that tests can
move time (deadlines are clocks in days and working days); see
:mod:`nrm_runtime.fake_clock`. Deadlines fall due on Cambodian days, whatever the time
zone of the machine or of the stored moments.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from nrm_runtime.tables import utc_now

# Cambodia keeps UTC+7 all year (no daylight saving time).
CAMBODIA_TIME = timezone(timedelta(hours=7), "ICT")


class Clock(Protocol):
    """Now, as an aware datetime (UTC from the system clock)."""

    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    """The real time, in UTC: every service's clock outside tests."""
    return utc_now()


def cambodian_date(moment: datetime) -> date:
    """The calendar date in Cambodia at ``moment`` (an aware datetime)."""
    return moment.astimezone(CAMBODIA_TIME).date()


def today_in_cambodia(clock: Clock) -> date:
    """The calendar date in Cambodia now: deadlines fall due on Cambodian days."""
    return cambodian_date(clock())

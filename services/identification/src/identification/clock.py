"""The service's clock: the system's in production, a fake one in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from nrm_runtime.tables import utc_now

Clock = Callable[[], datetime]
"""Returns the current moment, time-zone aware."""

CAMBODIA = timezone(timedelta(hours=7), "ICT")


def system_clock() -> datetime:
    return utc_now()


def today_in_cambodia(clock: Clock) -> date:
    """The calendar date in Cambodia now: deadlines fall due on Cambodian working days."""
    return clock().astimezone(CAMBODIA).date()

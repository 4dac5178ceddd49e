"""A clock for tests: it stands still until the test moves it.

Pass it wherever a service takes a :class:`nrm_runtime.clock.Clock`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from nrm_runtime.clock import cambodian_date


class FakeClock:
    """``clock.advance(hours=49)``, ``clock.set_cambodian_day("2026-03-10")``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move on by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)

    def set_cambodian_day(self, day: str) -> None:
        """Move to 10:00 in Cambodia on ``day`` (YYYY-MM-DD): office hours, so the
        day is the same in UTC."""
        self.now = datetime.fromisoformat(f"{day}T03:00:00+00:00")

    def today(self) -> date:
        """The date in Cambodia now."""
        return cambodian_date(self.now)

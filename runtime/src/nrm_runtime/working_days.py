"""Cambodian working days: Monday to Friday, minus the public holidays.

Every service counts working days with the one calendar read from the runtime's data
file (``data/cambodian_public_holidays.json``), so two services never disagree on a
deadline. The file lists the years it covers; asking about a day outside them raises
:class:`CalendarNotCovered` rather than guessing. A deadline is a legal commitment that
is stored and announced to other services: one counted over an unknown year's holidays
could be silently early, and a refusal is the only outcome nobody acts on by mistake.
The services check at start that the current year is covered and warn all through the
last covered year, so the error is only met by a deployment whose holiday file was left
to run out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SATURDAY = 5
HOLIDAYS_FILE = "cambodian_public_holidays.json"


class CalendarNotCovered(LookupError):
    """A day in a year the holiday file does not cover: whether it is worked is unknown."""

    def __init__(self, day: date, first_year: int, last_year: int) -> None:
        super().__init__(
            f"{day.isoformat()} is outside the Cambodian public holidays known to this "
            f"release ({first_year}-{last_year}): add the year's holidays to "
            f"nrm_runtime/data/{HOLIDAYS_FILE}"
        )
        self.day = day


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days of the years ``first_year`` to ``last_year``, both included."""

    holidays: frozenset[date]
    first_year: int
    last_year: int

    def __post_init__(self) -> None:
        if self.first_year > self.last_year:
            raise ValueError(f"no year covered: {self.first_year} > {self.last_year}")
        strays = sorted(day for day in self.holidays if not self.covers(day))
        if strays:
            raise ValueError(f"holidays outside the covered years: {strays[0].isoformat()}")

    def covers(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def is_working_day(self, day: date) -> bool:
        if not self.covers(day):
            raise CalendarNotCovered(day, self.first_year, self.last_year)
        return day.weekday() < SATURDAY and day not in self.holidays

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted):
        the due date of something that starts on ``start``."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


def load_calendar(source: Traversable | Path) -> WorkingCalendar:
    """The calendar in ``source``: ``{"years": [...], "holidays": {"YYYY-MM-DD": name}}``,
    the years consecutive, each with its holidays."""
    document: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    years = document.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, int) for y in years):
        raise ValueError(f"{source}: 'years' must list the years covered")
    first, last = min(years), max(years)
    # A gap would make a year look covered because its neighbours are.
    if sorted(years) != list(range(first, last + 1)):
        raise ValueError(f"{source}: the years covered must follow each other: {years}")
    holidays = frozenset(date.fromisoformat(day) for day in document.get("holidays") or {})
    empty = [year for year in years if not any(day.year == year for day in holidays)]
    if empty:
        raise ValueError(f"{source}: no holidays listed for {empty[0]}")
    return WorkingCalendar(holidays, first, last)


@cache
def cambodian_calendar() -> WorkingCalendar:
    """The calendar shipped with the runtime, read when first asked for."""
    return load_calendar(files("nrm_runtime") / "data" / HOLIDAYS_FILE)


def check_covers_this_year(calendar: WorkingCalendar, today: date) -> None:
    """For a service's start: refuse a year the calendar does not cover, and warn in the
    last one it covers (deadlines started late in the year run into the next)."""
    if not calendar.covers(today):
        raise CalendarNotCovered(today, calendar.first_year, calendar.last_year)
    if today.year == calendar.last_year:
        log.warning(
            "the Cambodian public holidays end with this year: add next year's",
            extra={"last_year": calendar.last_year, "holidays_file": HOLIDAYS_FILE},
        )

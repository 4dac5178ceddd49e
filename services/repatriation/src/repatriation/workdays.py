"""Working days: the unit of every SOP deadline.

Clocks run on Cambodian working days (Monday to Friday, minus public holidays from the
reference file) in Cambodian time: a step allowed on Friday afternoon with three working
days is due on Wednesday. The counterparts' own holidays are not modelled: the
agreements set their deadlines in the sending country's calendar, and MOSVY escalates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

# Cambodia keeps UTC+7 all year (no daylight saving time).
CAMBODIA_TIME = timezone(timedelta(hours=7), "ICT")
DEFAULT_HOLIDAYS_FILE = Path(__file__).parent / "reference" / "holidays.yaml"


def local_date(moment: datetime) -> date:
    """The calendar date in Cambodia at ``moment`` (an aware datetime)."""
    return moment.astimezone(CAMBODIA_TIME).date()


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]

    @classmethod
    def load(cls, file: Path = DEFAULT_HOLIDAYS_FILE) -> WorkingCalendar:
        """The calendar with the holidays listed in ``file``."""
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        entries = document.get("holidays") or []
        holidays = set()
        for index, entry in enumerate(entries):
            value = entry.get("date") if isinstance(entry, dict) else None
            if not isinstance(value, date):
                raise ValueError(f"{file}: holidays[{index}].date: an ISO 8601 date is required")
            holidays.add(value)
        return cls(frozenset(holidays))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which ``days`` working days after ``start`` have passed: the due
        date of a step allowed on ``start`` (the day it was allowed does not count)."""
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def due_on(self, allowed_at: datetime, working_days: int) -> date:
        return self.add_working_days(local_date(allowed_at), working_days)

    def is_overdue(self, due_on: date, now: datetime) -> bool:
        """Missed once the due day has ended in Cambodia."""
        return local_date(now) > due_on

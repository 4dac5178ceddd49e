"""Working days: Monday to Friday, minus Cambodian public holidays, in Cambodian time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from repatriation.workdays import WorkingCalendar

CALENDAR = WorkingCalendar(frozenset({date(2026, 4, 14), date(2026, 4, 15), date(2026, 4, 16)}))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 3, 2), 3, date(2026, 3, 5)),  # Monday + 3 → Thursday
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1 → Monday
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Saturday + 1 → Monday
        (date(2026, 4, 13), 1, date(2026, 4, 17)),  # Khmer New Year does not count
        (date(2026, 3, 2), 10, date(2026, 3, 16)),
    ],
)
def test_due_dates_count_working_days_only(start: date, days: int, due: date) -> None:
    assert CALENDAR.add_working_days(start, days) == due


def test_the_day_is_the_day_in_cambodia() -> None:
    # 18:00 UTC on Friday is 01:00 on Saturday in Phnom Penh.
    allowed_at = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)

    assert CALENDAR.due_on(allowed_at, 1) == date(2026, 3, 9)


def test_a_deadline_is_missed_once_its_due_day_has_ended_in_cambodia() -> None:
    due = date(2026, 3, 5)

    assert not CALENDAR.is_overdue(due, datetime(2026, 3, 5, 16, 59, tzinfo=UTC))
    assert CALENDAR.is_overdue(due, datetime(2026, 3, 5, 17, 0, tzinfo=UTC))


def test_the_reference_holidays_load() -> None:
    calendar = WorkingCalendar.load()

    assert date(2026, 4, 14) in calendar.holidays
    assert not calendar.is_working_day(date(2026, 11, 9))

"""A step's due day: Cambodian working days (Monday to Friday, minus the public holidays
of the runtime's calendar), counted from the day in Cambodia it was allowed; the service
does not start in a year that calendar does not cover."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from nrm_runtime.fake_clock import FakeClock
from nrm_runtime.working_days import CalendarNotCovered, cambodian_calendar
from repatriation.app import create_app
from repatriation.domain.clocks import step_due_on, step_overdue
from repatriation.settings import RepatriationSettings

CALENDAR = cambodian_calendar()


def allowed(day: date) -> datetime:
    """09:00 in Cambodia on ``day``."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 3, 2), 3, date(2026, 3, 5)),  # Monday + 3 → Thursday
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1 → Monday
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Saturday + 1 → Monday
        (date(2026, 4, 13), 1, date(2026, 4, 17)),  # Khmer New Year does not count
        (date(2026, 3, 2), 10, date(2026, 3, 16)),
        (date(2026, 11, 6), 1, date(2026, 11, 10)),  # Independence Day
    ],
)
def test_due_dates_count_working_days_only(start: date, days: int, due: date) -> None:
    assert step_due_on(CALENDAR, allowed(start), days) == due


def test_the_day_is_the_day_in_cambodia() -> None:
    # 18:00 UTC on Friday is 01:00 on Saturday in Phnom Penh.
    allowed_at = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)

    assert step_due_on(CALENDAR, allowed_at, 1) == date(2026, 3, 9)


def test_the_service_does_not_start_in_a_year_without_holidays(
    settings: RepatriationSettings,
) -> None:
    later = FakeClock(datetime(CALENDAR.last_year + 1, 3, 1, 2, 0, tzinfo=UTC))
    app = create_app(settings, clock=later)

    with pytest.raises(CalendarNotCovered), TestClient(app):
        pass


def test_a_step_is_overdue_once_its_due_day_has_ended_in_cambodia() -> None:
    due = date(2026, 3, 5)

    assert not step_overdue(due, datetime(2026, 3, 5, 16, 59, tzinfo=UTC))
    assert step_overdue(due, datetime(2026, 3, 5, 17, 0, tzinfo=UTC))

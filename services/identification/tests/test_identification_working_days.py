"""The preliminary decision falls due in Cambodian working days, counted with the
runtime's calendar (weekends and the public holidays); the service does not start in a
year that calendar does not cover. The shipped reference data covers the 25 provinces."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from identification.app import create_app
from identification.domain.deadlines import DeadlinePolicy
from identification.settings import IdentificationSettings
from nrm_runtime.fake_clock import FakeClock
from nrm_runtime.reference_codes import is_province_code, provinces
from nrm_runtime.working_days import CalendarNotCovered, cambodian_calendar


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        ("2026-03-02", 5, "2026-03-09"),  # Monday + 5 working days: next Monday
        ("2026-03-06", 1, "2026-03-09"),  # Friday + 1: over the weekend
        ("2026-03-07", 1, "2026-03-09"),  # from a Saturday
        ("2026-04-10", 5, "2026-04-22"),  # Khmer New Year, 14-16 April, is not worked
        ("2026-11-06", 1, "2026-11-10"),  # Independence Day, Monday 9 November
        ("2026-12-28", 3, "2027-01-04"),  # Peace Day and New Year's Day
        ("2026-03-02", 0, "2026-03-02"),
    ],
)
def test_working_days_skip_weekends_and_public_holidays(start, count, due) -> None:
    policy = DeadlinePolicy(calendar=cambodian_calendar(), preliminary_working_days=count)

    assert policy.preliminary_due(date.fromisoformat(start)) == date.fromisoformat(due)


def test_the_service_does_not_start_in_a_year_without_holidays(
    identification_settings: IdentificationSettings,
) -> None:
    last_year = cambodian_calendar().last_year
    later = FakeClock(datetime(last_year + 1, 3, 1, 3, 0, tzinfo=UTC))
    app = create_app(identification_settings, clock=later)

    with pytest.raises(CalendarNotCovered), TestClient(app):
        pass


def test_the_25_provinces_are_shipped_with_their_codes() -> None:
    codes = {province.code: province.name for province in provinces()}

    assert sorted(codes) == [f"{n:02d}" for n in range(1, 26)]
    assert codes["12"] == "Phnom Penh"
    assert codes["25"] == "Tbong Khmum"
    assert not is_province_code("26")
    assert not is_province_code("00")

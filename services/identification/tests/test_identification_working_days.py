"""Working days skip weekends and the Cambodian public holidays; the shipped reference
data covers the 25 provinces and the holidays of 2026 and 2027."""

from __future__ import annotations

import json
from datetime import date

import pytest

from identification.reference import (
    DEFAULT_HOLIDAYS_FILE,
    is_province_code,
    load_public_holidays,
    province_names,
)
from identification.working_days import WorkingCalendar

HOLIDAYS = WorkingCalendar(load_public_holidays(DEFAULT_HOLIDAYS_FILE))


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
    assert HOLIDAYS.add_working_days(date.fromisoformat(start), count) == date.fromisoformat(due)


def test_without_holidays_only_weekends_are_skipped() -> None:
    assert WorkingCalendar().add_working_days(date(2026, 4, 10), 5) == date(2026, 4, 17)


def test_a_holiday_list_is_read_from_the_configured_file(tmp_path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps({"holidays": {"2026-03-03": "a day of mourning"}}))

    calendar = WorkingCalendar(load_public_holidays(path))

    assert calendar.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 4)


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_shipped_holidays_cover_each_year(year) -> None:
    days = [day for day in load_public_holidays(DEFAULT_HOLIDAYS_FILE) if day.year == year]

    assert len(days) >= 20
    assert {date(year, 1, 1), date(year, 4, 14), date(year, 11, 9)} <= set(days)


def test_the_25_provinces_are_shipped_with_their_codes() -> None:
    codes = province_names()

    assert sorted(codes) == [f"{n:02d}" for n in range(1, 26)]
    assert codes["12"] == "Phnom Penh"
    assert codes["25"] == "Tbong Khmum"
    assert not is_province_code("26")
    assert not is_province_code("00")

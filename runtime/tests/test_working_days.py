"""The one Cambodian working-day calendar: weekends and public holidays are not worked,
and a day outside the years the holiday file covers is an error, never a weekday."""

from __future__ import annotations

import json
import logging
import tomllib
from datetime import date
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from nrm_runtime.working_days import (
    HOLIDAYS_FILE,
    CalendarNotCovered,
    WorkingCalendar,
    cambodian_calendar,
    check_covers_this_year,
    load_calendar,
)

RUNTIME = Path(__file__).parents[1]
CALENDAR = cambodian_calendar()


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        # Weekends
        ("2026-03-02", 3, "2026-03-05"),  # Monday + 3: Thursday
        ("2026-03-06", 1, "2026-03-09"),  # Friday + 1: Monday
        ("2026-03-07", 1, "2026-03-09"),  # from a Saturday
        ("2026-03-08", 1, "2026-03-09"),  # from a Sunday (Women's Day, a Sunday in 2026)
        ("2026-03-02", 10, "2026-03-16"),
        ("2026-03-02", 0, "2026-03-02"),  # nothing to count: the start itself
        # Public holidays
        ("2025-05-13", 1, "2025-05-15"),  # King's Birthday, Wednesday 14 May
        ("2026-11-06", 1, "2026-11-10"),  # Independence Day, Monday 9 November
        ("2026-10-08", 1, "2026-10-12"),  # Pchum Ben, 9-11 October
        ("2026-11-20", 1, "2026-11-26"),  # Water Festival, 23-25 November
        ("2027-05-19", 1, "2027-05-21"),  # Visak Bochea, Thursday 20 May
        ("2027-05-21", 1, "2027-05-25"),  # Royal Ploughing Ceremony, Monday 24 May
        # Khmer New Year, 14-16 April
        ("2025-04-11", 1, "2025-04-17"),  # Monday to Wednesday in 2025
        ("2026-04-10", 5, "2026-04-22"),  # Tuesday to Thursday in 2026
        ("2026-04-13", 1, "2026-04-17"),
        ("2027-04-13", 1, "2027-04-19"),  # Wednesday to Friday in 2027
        # Across a year boundary
        ("2025-12-29", 5, "2026-01-06"),  # New Year's Day
        ("2025-12-29", 6, "2026-01-08"),  # and Victory over Genocide Day
        ("2026-12-28", 3, "2027-01-04"),  # Peace Day and New Year's Day
        ("2026-12-28", 5, "2027-01-06"),
        ("2026-12-28", 6, "2027-01-08"),
    ],
)
def test_working_days_skip_weekends_and_public_holidays(start: str, count: int, due: str) -> None:
    assert CALENDAR.add_working_days(date.fromisoformat(start), count) == date.fromisoformat(due)


@pytest.mark.parametrize(
    ("day", "worked"),
    [
        ("2026-03-06", True),
        ("2026-03-07", False),
        ("2026-03-08", False),
        ("2026-04-14", False),
        ("2026-12-29", False),
        ("2026-12-30", True),
    ],
)
def test_is_working_day(day: str, worked: bool) -> None:
    assert CALENDAR.is_working_day(date.fromisoformat(day)) is worked


def test_a_day_outside_the_covered_years_is_an_error() -> None:
    assert (CALENDAR.first_year, CALENDAR.last_year) == (2025, 2027)
    assert not CALENDAR.covers(date(2028, 1, 3))
    assert not CALENDAR.covers(date(2024, 12, 31))

    with pytest.raises(CalendarNotCovered, match="2028-01-03"):
        CALENDAR.is_working_day(date(2028, 1, 3))
    with pytest.raises(CalendarNotCovered):
        CALENDAR.is_working_day(date(2024, 12, 31))
    # Thursday 30 December 2027 + 3: Friday 31 December, then 2028 is unknown.
    with pytest.raises(CalendarNotCovered, match="2028-01-01"):
        CALENDAR.add_working_days(date(2027, 12, 30), 3)


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_working_days(date(2026, 3, 2), -1)


def test_the_shipped_file_lists_the_fixed_holidays_of_each_year() -> None:
    for year in range(CALENDAR.first_year, CALENDAR.last_year + 1):
        fixed = [(1, 1), (1, 7), (3, 8), (4, 14), (5, 1), (5, 14), (6, 18), (9, 24)]
        fixed += [(10, 15), (10, 29), (11, 9)]
        assert {date(year, month, day) for month, day in fixed} <= CALENDAR.holidays


def test_the_shipped_file_is_package_data_of_the_runtime() -> None:
    """The editable install reads it from src/; a wheel carries it only if it is declared."""
    project = tomllib.loads((RUNTIME / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["nrm_runtime"]

    assert any(fnmatch(f"data/{HOLIDAYS_FILE}", pattern) for pattern in patterns)
    assert (RUNTIME / "src" / "nrm_runtime" / "data" / HOLIDAYS_FILE).is_file()


def test_the_calendar_is_read_once() -> None:
    assert cambodian_calendar() is cambodian_calendar()


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_holiday_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, {"years": [2026], "holidays": {"2026-03-03": "a day of mourning"}})

    calendar = load_calendar(path)

    assert (calendar.first_year, calendar.last_year) == (2026, 2026)
    assert calendar.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 4)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"holidays": {"2026-01-01": "New Year"}}, "'years'"),
        ({"years": [], "holidays": {}}, "'years'"),
        (
            {"years": [2025, 2027], "holidays": {"2025-01-01": "a", "2027-01-01": "b"}},
            "follow each other",
        ),
        ({"years": [2026], "holidays": {"2026-01-01": "a", "2027-01-01": "b"}}, "outside"),
        ({"years": [2026, 2027], "holidays": {"2026-01-01": "a"}}, "no holidays listed for 2027"),
    ],
)
def test_a_holiday_file_that_does_not_say_what_it_covers_is_refused(
    tmp_path: Path, document: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        load_calendar(write(tmp_path, document))


def test_a_calendar_cannot_cover_no_year() -> None:
    with pytest.raises(ValueError, match="no year"):
        WorkingCalendar(frozenset(), 2027, 2026)


def test_a_covered_year_starts_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="nrm_runtime.working_days"):
        check_covers_this_year(CALENDAR, date(2026, 12, 7))

    assert caplog.records == []


def test_the_last_covered_year_starts_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="nrm_runtime.working_days"):
        check_covers_this_year(CALENDAR, date(2027, 1, 4))

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.last_year == 2027  # type: ignore[attr-defined]


@pytest.mark.parametrize("today", [date(2028, 1, 3), date(2024, 12, 31)])
def test_an_uncovered_year_does_not_start(today: date) -> None:
    with pytest.raises(CalendarNotCovered):
        check_covers_this_year(CALENDAR, today)

"""The services' clock: the system's in production, the fake one in tests; deadlines
fall due on the day it is in Cambodia (UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from nrm_runtime.clock import Clock, cambodian_date, system_clock, today_in_cambodia
from nrm_runtime.fake_clock import FakeClock


def test_the_system_clock_tells_utc() -> None:
    before = datetime.now(UTC)
    now = system_clock()

    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


def test_the_day_ends_at_17_00_utc_in_cambodia() -> None:
    assert cambodian_date(datetime(2026, 3, 5, 16, 59, tzinfo=UTC)) == date(2026, 3, 5)
    assert cambodian_date(datetime(2026, 3, 5, 17, 0, tzinfo=UTC)) == date(2026, 3, 6)


def test_the_fake_clock_stands_still_until_moved() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert clock() == clock() == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    clock.advance(days=3, hours=15)

    assert clock() == datetime(2026, 3, 5, 17, 0, tzinfo=UTC)
    assert clock.today() == date(2026, 3, 6)  # already Friday in Phnom Penh


def test_the_fake_clock_moves_to_office_hours_on_a_cambodian_day() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))

    clock.set_cambodian_day("2026-04-22")

    assert clock() == datetime(2026, 4, 22, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh
    assert today_in_cambodia(clock) == date(2026, 4, 22)


def test_functions_and_the_fake_clock_are_clocks() -> None:
    clocks: list[Clock] = [system_clock, FakeClock(datetime(2026, 1, 1, tzinfo=UTC))]

    assert all(isinstance(clock(), datetime) for clock in clocks)

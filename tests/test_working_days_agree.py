"""Identification and repatriation count Cambodian working days alike: the same start
and the same number of working days give the same deadline in both services, across
year boundaries and holidays (they used to read two different holiday lists)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from identification.domain.deadlines import DeadlinePolicy
from nrm_runtime.working_days import cambodian_calendar
from repatriation.domain.clocks import step_due_on


@pytest.mark.parametrize(
    ("start", "working_days", "due"),
    [
        (date(2025, 12, 29), 5, date(2026, 1, 6)),
        (date(2025, 12, 31), 1, date(2026, 1, 2)),
        (date(2026, 12, 28), 5, date(2027, 1, 6)),
        (date(2026, 12, 24), 3, date(2026, 12, 30)),  # Peace Day, 29 December
        (date(2026, 11, 20), 3, date(2026, 11, 30)),  # the Water Festival
        (date(2026, 10, 8), 3, date(2026, 10, 14)),  # Pchum Ben
        (date(2026, 4, 10), 5, date(2026, 4, 22)),  # Khmer New Year
    ],
)
def test_both_services_give_the_same_deadline(start: date, working_days: int, due: date) -> None:
    identification = DeadlinePolicy(
        calendar=cambodian_calendar(), preliminary_working_days=working_days
    )
    # The step is allowed at 09:00 in Phnom Penh on the start day.
    allowed_at = datetime(start.year, start.month, start.day, 2, 0, tzinfo=UTC)

    preliminary = identification.preliminary_due(start)
    step = step_due_on(cambodian_calendar(), allowed_at, working_days)

    assert preliminary == step == due

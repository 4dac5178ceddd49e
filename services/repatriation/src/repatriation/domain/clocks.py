"""Step clocks: when a step allowed at a moment falls due, and when it is missed."""

from __future__ import annotations

from datetime import date, datetime

from nrm_runtime.clock import cambodian_date
from nrm_runtime.working_days import WorkingCalendar


def step_due_on(calendar: WorkingCalendar, allowed_at: datetime, working_days: int) -> date:
    """The due day of a step allowed at ``allowed_at`` with ``working_days`` to act: a
    step allowed on Friday afternoon with three working days is due on Wednesday (the
    day it was allowed, in Cambodia, does not count). Cambodian working days only: the
    agreements set the deadlines in the sending country's calendar, and MOSVY escalates."""
    return calendar.add_working_days(cambodian_date(allowed_at), working_days)


def step_overdue(due_on: date, now: datetime) -> bool:
    """Missed once the due day has ended in Cambodia (the sweep's rule)."""
    return cambodian_date(now) > due_on

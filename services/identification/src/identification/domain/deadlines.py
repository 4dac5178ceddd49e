"""Decision deadlines as clocks: when each decision falls due, and whether it is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from nrm_contracts.events.identification import DeadlineKind
from nrm_runtime.working_days import WorkingCalendar


@dataclass(frozen=True)
class DeadlinePolicy:
    """The configured deadlines (defaults from the issue: 5 working days, 45 days, 30 days)."""

    calendar: WorkingCalendar
    preliminary_working_days: int = 5
    final_days: int = 45
    recovery_days: int = 30

    def preliminary_due(self, first_screening: date) -> date:
        """Within ``preliminary_working_days`` working days of the first screening."""
        return self.calendar.add_working_days(first_screening, self.preliminary_working_days)

    def final_due(self, positive_preliminary: date) -> date:
        return positive_preliminary + timedelta(days=self.final_days)

    def recovery_period_end(self, positive_preliminary: date) -> date:
        """The recovery and reflection period lasts at least this long."""
        return positive_preliminary + timedelta(days=self.recovery_days)


@dataclass(frozen=True)
class OpenDeadline:
    kind: DeadlineKind
    due_on: date

    def is_overdue(self, today: date) -> bool:
        """Late once the due day has passed (the due day itself is still in time)."""
        return today > self.due_on

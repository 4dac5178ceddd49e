"""A step clock as the escalation list shows it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel


class DeadlinePublic(BaseModel):
    case_id: UUID
    counterpart_country: str
    step: str
    acting_country: str
    working_days: int
    started_at: datetime
    due_on: date
    state: str
    ended_at: datetime | None

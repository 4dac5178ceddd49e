"""A case's timeline: steps, messages either way, missed deadlines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class Delivery(BaseModel):
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class TimelineEntry(BaseModel):
    """One thing that happened on a case: a step, a message either way, a missed deadline."""

    at: datetime
    kind: str = Field(examples=["step_completed", "message_sent", "message_received"])
    step: str | None = None
    country: str | None = Field(default=None, description="Acting or sending country.")
    organisation: str | None = None
    message_id: UUID | None = None
    message_type: str | None = None
    idempotency_key: str | None = None
    body: dict[str, Any] | None = None
    response_status: int | None = None
    delivery: Delivery | None = None
    due_on: date | None = None


class Timeline(BaseModel):
    case_id: UUID
    entries: list[TimelineEntry]

"""NRM repatriation's tables.

A case, the steps completed on it (the unique (case, sequence) pair is the guard against
two concurrent completions of the same moment of a case), the clocks of the steps it
waits for, and every liaison message either way: the messages we send are also our
outbox towards the counterparts (status, attempts, next attempt), delivered by
:mod:`repatriation.usecases.delivery`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.field_rotation import SealedColumns
from nrm_runtime.tables import UtcDateTime


class RepatriationTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HandoverStatus(StrEnum):
    NONE = "none"
    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"


class ClockState(StrEnum):
    RUNNING = "running"
    MET = "met"
    CANCELLED = "cancelled"
    MISSED = "missed"


class MessageFlow(StrEnum):
    SENT = "sent"
    RECEIVED = "received"


class MessageStatus(StrEnum):
    PENDING = "pending"  # sent: waiting for (re)delivery
    DELIVERED = "delivered"  # sent: the counterpart answered 2xx
    REJECTED = "rejected"  # sent: the counterpart refused it for good (4xx)
    ACCEPTED = "accepted"  # received: applied
    REFUSED = "refused"  # received: answered with an error, nothing applied


class RepatriationCase(RepatriationTable, table=True):
    __tablename__ = "repatriation_case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    direction: str = Field(max_length=10)
    counterpart_country: str = Field(max_length=3, index=True)
    sop_id: str = Field(max_length=64)
    sop_version: str = Field(max_length=32)
    origin: str = Field(max_length=30)
    identification_case_id: UUID | None = Field(default=None, index=True)
    counterpart_reference: str | None = Field(default=None, max_length=64)
    opened_by: str = Field(max_length=64, description="Organisation that opened the case.")
    status: str = Field(default=CaseStatus.OPEN, max_length=10)
    outcome: str | None = Field(default=None, max_length=20)
    # The person, as the counterpart needs them to verify identity. Personal data: never
    # in events or logs; read only by the case's two parties; sealed at rest (store/sealing.py).
    given_name: str = Field(sa_column=Column(Text, nullable=False))
    family_name: str = Field(sa_column=Column(Text, nullable=False))
    sex: str = Field(max_length=20)
    birth_date: str | None = Field(default=None, sa_column=Column(Text))
    estimated_age: int | None = None
    is_child: bool
    consent_status: str = Field(max_length=20)
    consent_basis: str = Field(max_length=30)
    consent_recorded_on: date
    last_step: str | None = Field(default=None, max_length=64)
    step_count: int = 0
    handover_status: str = Field(default=HandoverStatus.NONE, max_length=20)
    handover_date: date | None = None
    border_point: str | None = Field(default=None, max_length=64)
    reception_organisation: str | None = Field(default=None, max_length=64)
    reception_province_code: str | None = Field(default=None, max_length=2)
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class CaseStep(RepatriationTable, table=True):
    """A completed step, as it happened; never changed."""

    __tablename__ = "repatriation_step"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="repatriation_case.id", index=True)
    sequence: int
    step: str = Field(max_length=64)
    kind: str = Field(max_length=40)
    acting_country: str = Field(max_length=3)
    organisation: str = Field(max_length=64)
    documents: list[str] = Field(sa_column=Column(JSON, nullable=False))
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The counterpart's named contact (an acknowledgement's), sealed; never in ``details``.
    contact_name: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class StepClock(RepatriationTable, table=True):
    """The deadline of a step the case waits for: started when the step became allowed."""

    __tablename__ = "step_clock"
    __table_args__ = (Index("ix_step_clock_state_due", "state", "due_on"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="repatriation_case.id", index=True)
    counterpart_country: str = Field(max_length=3)
    step: str = Field(max_length=64)
    acting_country: str = Field(max_length=3)
    working_days: int
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    due_on: date
    state: str = Field(default=ClockState.RUNNING, max_length=10)
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class LiaisonMessage(RepatriationTable, table=True):
    """One message between us and a counterpart, either way, kept for good."""

    __tablename__ = "liaison_message"
    __table_args__ = (
        UniqueConstraint("flow", "counterpart_country", "idempotency_key"),
        Index("ix_liaison_message_flow_status", "flow", "status"),
    )

    sequence: int | None = Field(default=None, primary_key=True)
    id: UUID = Field(default_factory=uuid4, unique=True)
    flow: str = Field(max_length=10)
    case_id: UUID | None = Field(default=None, foreign_key="repatriation_case.id", index=True)
    claimed_case_id: UUID | None = Field(
        default=None, description="A received message's case id when no case of its sender has it."
    )
    counterpart_country: str = Field(max_length=3)
    organisation: str = Field(max_length=64, description="Sender (received) or sender org.")
    message_type: str = Field(max_length=40)
    step: str | None = Field(default=None, max_length=64)
    idempotency_key: str = Field(max_length=100)
    # Sealed (store/sealing.py): a body may carry the person; the hash is of the clear body.
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_sha256: str = Field(max_length=64)
    status: str = Field(max_length=10)
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=300)
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


tables = RepatriationTable.metadata

SEALED_FIELDS = [
    SealedColumns(
        RepatriationCase.__table__,  # type: ignore[attr-defined]
        "id",
        ("given_name", "family_name", "birth_date"),
    ),
    SealedColumns(CaseStep.__table__, "id", ("contact_name",)),  # type: ignore[attr-defined]
    SealedColumns(
        LiaisonMessage.__table__,  # type: ignore[attr-defined]
        "id",
        ("body", "response_body"),
    ),
]
"""Where the person's data is sealed: ``nrm keys rotate-data --service repatriation``."""

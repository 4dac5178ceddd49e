"""Events published by the repatriation service on ``nrm.repatriation``.

A repatriation case runs one bilateral procedure (an SOP template: id and version) with
one counterpart country, outbound (a foreign national returned home from Cambodia) or
inbound (a Cambodian returned from abroad). The subject of every event is the
repatriation case id.

No names, birth dates, document numbers, contacts or free text travel here: the case id,
the identification case id where there is one, and the non-identifying attributes
downstream services need (sex, child or not, where the person is received). Step ids,
border points and countries are codes from the SOP templates, which are data: they are
patterns, not enumerations, so that a new agreement needs no new contract version.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from nrm_contracts.events.identification import Sex
from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic

_ALPHA3 = r"^[A-Z]{3}$"
_PROVINCE = r"^[0-9]{2}$"
_CODE = r"^[a-z][a-z0-9_-]{0,63}$"


class Direction(StrEnum):
    """Seen from Cambodia: outbound returns a foreign national home, inbound a Cambodian."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class CaseOrigin(StrEnum):
    """Who started the case."""

    OFFICER = "officer"
    COUNTERPART_NOTIFICATION = "counterpart_notification"


class ClosureOutcome(StrEnum):
    RETURNED = "returned"
    NOT_RETURNED = "not_returned"
    WITHDRAWN = "withdrawn"


class RepatriationEvent(EventPayload):
    topic: ClassVar[Topic] = Topic.REPATRIATION
    subject_field: ClassVar[str] = "repatriation_case_id"

    repatriation_case_id: UUID
    direction: Direction
    counterpart_country: str = Field(pattern=_ALPHA3, description="ISO 3166-1 alpha-3.")


class RepatriationProposed(RepatriationEvent):
    """A repatriation case was opened: by a MOSVY officer for a person identified in
    Cambodia, or by a counterpart agency's notification of a Cambodian found abroad."""

    event_type: ClassVar[str] = "kh.nrm.repatriation.case.proposed.v1"

    sop_id: str = Field(pattern=_CODE, description="The bilateral procedure the case runs.")
    sop_version: str = Field(min_length=1, max_length=32)
    origin: CaseOrigin
    identification_case_id: UUID | None = Field(
        default=None, description="The identification case, when the person was identified here."
    )
    sex: Sex
    is_child: bool
    proposed_at: datetime


class StepCompleted(RepatriationEvent):
    """One step of the case's procedure was completed, by either country."""

    event_type: ClassVar[str] = "kh.nrm.repatriation.step.completed.v1"

    step: str = Field(pattern=_CODE)
    sequence: int = Field(ge=1, description="1 for the case's first completed step, and so on.")
    acting_country: str = Field(pattern=_ALPHA3)
    acting_organisation: str = Field(min_length=1, max_length=64)
    document_kinds: list[str] = Field(
        default_factory=list, description="Kinds of document provided (never their numbers)."
    )
    next_steps: list[str] = Field(
        default_factory=list, description="The steps the procedure allows now."
    )
    completed_at: datetime


class DeadlineMissed(RepatriationEvent):
    """A step's clock ran out: its acting agency did not complete it within its working
    days. Published once per step clock; the case is listed for escalation."""

    event_type: ClassVar[str] = "kh.nrm.repatriation.deadline.missed.v1"

    step: str = Field(pattern=_CODE)
    acting_country: str = Field(pattern=_ALPHA3)
    working_days: int = Field(ge=1)
    due_on: date
    detected_at: datetime


class HandoverScheduled(RepatriationEvent):
    """Both countries agreed the handover date and border point."""

    event_type: ClassVar[str] = "kh.nrm.repatriation.handover.scheduled.v1"

    handover_date: date
    border_point: str = Field(pattern=_CODE, description="Border point code of the SOP.")
    reception_province_code: str | None = Field(
        default=None, pattern=_PROVINCE, description="Cambodian province of reception (inbound)."
    )
    reception_organisation: str | None = Field(
        default=None, max_length=64, description="Organisation receiving the person (inbound)."
    )


class HandoverCompleted(RepatriationEvent):
    """The person was handed over at the border with a signed handover record.

    For an inbound case this is the hand-off to Cambodian aftercare: the referral service
    opens a reception referral at ``reception_organisation`` in ``reception_province_code``.
    """

    event_type: ClassVar[str] = "kh.nrm.repatriation.handover.completed.v1"

    identification_case_id: UUID | None = None
    handed_over_on: date
    border_point: str = Field(pattern=_CODE)
    reception_province_code: str | None = Field(default=None, pattern=_PROVINCE)
    reception_organisation: str | None = Field(default=None, max_length=64)
    sex: Sex
    is_child: bool
    completed_at: datetime


class RepatriationClosed(RepatriationEvent):
    """The case ended: returned (reintegration reported), not returned, or withdrawn."""

    event_type: ClassVar[str] = "kh.nrm.repatriation.case.closed.v1"

    outcome: ClosureOutcome
    last_step: str | None = Field(default=None, pattern=_CODE)
    closed_at: datetime


EVENTS: list[type[EventPayload]] = [
    RepatriationProposed,
    StepCompleted,
    DeadlineMissed,
    HandoverScheduled,
    HandoverCompleted,
    RepatriationClosed,
]

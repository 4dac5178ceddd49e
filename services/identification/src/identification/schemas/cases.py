"""Cases, decisions, consents and the non-punishment check, as the API takes and gives them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from identification.domain.decisions import CaseStatus, DecisionOutcome
from nrm_contracts.events.identification import (
    ConsentBasis,
    ConsentPurposeV2,
    ConsentStatus,
    DeadlineKind,
    DecisionStage,
    PresumptiveResult,
)
from nrm_runtime.http import IsoDate, RequestModel


class DecisionCreate(RequestModel):
    """A decision of the Competent Authority on a case."""

    stage: DecisionStage
    outcome: DecisionOutcome
    rationale: str = Field(min_length=1, max_length=8000)
    decided_on: IsoDate | None = Field(default=None, description="Today (Cambodia) if omitted")
    reconsiders: UUID | None = Field(
        default=None, description="The decision this one revisits (a reconsideration)"
    )


class ConsentCreate(RequestModel):
    """Consent for one purpose, given, refused or withdrawn."""

    purpose: ConsentPurposeV2
    status: ConsentStatus
    basis: ConsentBasis
    given_on: IsoDate | None = Field(default=None, description="Today (Cambodia) if omitted")


class NonPunishmentCheck(RequestModel):
    """Whom a law-enforcement officer has before them (names as they were written)."""

    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    proceedings_id: UUID | None = Field(
        default=None, description="The criminal case's proceedings record the check is for"
    )


class DecisionPublic(BaseModel):
    id: UUID
    case_id: UUID
    stage: DecisionStage
    outcome: DecisionOutcome
    rationale: str
    decided_on: date
    decided_by_organisation: str
    reconsiders: UUID | None
    recorded_at: datetime


class ConsentPublic(BaseModel):
    id: UUID
    purpose: ConsentPurposeV2
    status: ConsentStatus
    basis: ConsentBasis
    given_on: date
    recorded_by_organisation: str
    recorded_at: datetime


class DeadlinesPublic(BaseModel):
    preliminary_due_on: date
    final_due_on: date | None
    recovery_period_ends_on: date | None
    next_deadline: DeadlineKind | None
    next_deadline_on: date | None
    overdue: bool


class NonPunishmentPublic(BaseModel):
    """Status offences (soliciting, illegal entry...) of a presumed or identified victim
    are not to be prosecuted."""

    applies: bool
    since: date | None


class CaseSummary(BaseModel):
    id: UUID
    person_ref: UUID
    status: CaseStatus
    stage: DecisionStage | None
    opened_by_organisation: str
    opened_at: datetime
    first_encounter_date: date
    province_code: str | None
    country_code: str | None
    deadlines: DeadlinesPublic
    non_punishment: NonPunishmentPublic


class ScreeningSummary(BaseModel):
    id: UUID
    reporting_organisation: str
    encounter_date: date
    presumptive_result: PresumptiveResult | None
    recorded_at: datetime
    person_id: UUID | None = Field(
        default=None,
        description=(
            "The person in the index this screening belongs to (see `person`): to the "
            "Competent Authority only, which reviews the index; null for others and "
            "while the screening waits for the index"
        ),
    )
    person: str | None = Field(default=None, description="`/persons/{person_id}`")


class CasePublic(CaseSummary):
    screenings: list[ScreeningSummary]
    decisions: list[DecisionPublic]
    consents_in_force: list[ConsentPublic]
    consent_history: list[ConsentPublic]


class NonPunishmentMatch(BaseModel):
    case_id: UUID
    person_ref: UUID
    status: Literal["presumed_victim", "identified"]
    non_punishment: NonPunishmentPublic


class NonPunishmentAnswer(BaseModel):
    """Only flagged cases are named: a check reveals nothing about anyone else."""

    matches: list[NonPunishmentMatch]
    proceedings_id: UUID | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The proceedings record the check was asked about, when it named one",
    )

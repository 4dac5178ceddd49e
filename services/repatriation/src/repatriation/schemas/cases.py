"""A case as officers and counterparts send it and read it: the person, the consent to
return, a step submitted, and the case with its steps and allowed next steps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from nrm_contracts.events.identification import Sex
from nrm_contracts.events.repatriation import CaseOrigin, ClosureOutcome, Direction
from nrm_runtime.http import IsoDate, RequestModel, invalid_field
from nrm_runtime.text import NamePart
from repatriation.domain.rules import ConsentBasis, ConsentStatus, ReintegrationStatus, Submission
from repatriation.domain.sop import AppliesTo, StepKind

Alpha3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["VNM"])]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Name = Annotated[NamePart, Field(max_length=100)]


class PersonIn(RequestModel):
    """Who is to be returned: what the counterpart needs to verify identity."""

    given_name: Name
    family_name: Name
    sex: Sex
    birth_date: IsoDate | None = None
    estimated_age: int | None = Field(default=None, ge=0, le=120)

    @model_validator(mode="after")
    def _age_known(self) -> Self:
        if self.birth_date is None and self.estimated_age is None:
            raise invalid_field("person.estimated_age", "give birth_date or estimated_age")
        if self.birth_date is not None and self.birth_date > date.today():
            raise invalid_field("person.birth_date", "the birth date is in the future")
        return self


class ConsentIn(RequestModel):
    """The person's consent to return (for a child: a guardian's or a best-interest decision)."""

    status: ConsentStatus
    basis: ConsentBasis
    recorded_on: IsoDate

    @model_validator(mode="after")
    def _not_in_future(self) -> Self:
        if self.recorded_on > date.today():
            raise invalid_field("recorded_on", "the consent cannot be recorded in the future")
        return self


class OutboundCaseCreate(RequestModel):
    """A MOSVY officer proposes returning a foreign national identified in Cambodia."""

    identification_case_id: UUID
    counterpart_country: Alpha3
    sop_version: str | None = Field(
        default=None, max_length=32, description="Omit: the version in force. Name a draft here."
    )
    person: PersonIn
    consent_to_return: ConsentIn


class StepDetails(RequestModel):
    """The details a step may carry; which ones it requires is the SOP's decision."""

    contact_name: str | None = Field(default=None, min_length=1, max_length=120)
    handover_date: IsoDate | None = None
    border_point: Code | None = None
    reception_organisation: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    reception_province_code: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    reintegration_status: ReintegrationStatus | None = None


class StepSubmission(RequestModel):
    step: Code
    documents: list[Code] = Field(default_factory=list, max_length=20)
    details: StepDetails = Field(default_factory=StepDetails)

    def to_domain(self) -> Submission:
        return Submission(
            step=self.step, documents=tuple(self.documents), details=self.details.model_dump()
        )


class ConsentChange(RequestModel):
    status: ConsentStatus
    basis: ConsentBasis
    recorded_on: IsoDate


class PersonPublic(BaseModel):
    given_name: str
    family_name: str
    sex: Sex
    birth_date: date | None
    estimated_age: int | None


class ConsentPublic(BaseModel):
    status: ConsentStatus
    basis: ConsentBasis
    recorded_on: date


class SopRef(BaseModel):
    id: str
    version: str
    title: str


class HandoverPublic(BaseModel):
    status: str
    handover_date: date | None
    border_point: str | None
    reception_organisation: str | None
    reception_province_code: str | None


class CompletedStep(BaseModel):
    sequence: int
    step: str
    acting_country: str
    organisation: str
    documents: list[str]
    details: dict[str, Any]
    completed_at: datetime


class AllowedStep(BaseModel):
    step: str
    title: str
    kind: StepKind
    applies_to: AppliesTo
    acting_country: str
    agency: str
    required_documents: list[str]
    required_details: list[str]
    due_on: date | None = Field(description="Last working day to complete it; None: no deadline.")
    overdue: bool


class CasePublic(BaseModel):
    id: UUID
    direction: Direction
    counterpart_country: str
    counterpart_reference: str | None
    sop: SopRef
    origin: CaseOrigin
    identification_case_id: UUID | None
    status: str
    outcome: ClosureOutcome | None
    is_child: bool
    person: PersonPublic
    consent_to_return: ConsentPublic
    handover: HandoverPublic
    steps: list[CompletedStep]
    allowed_steps: list[AllowedStep]
    opened_at: datetime
    closed_at: datetime | None


class CaseSummary(BaseModel):
    id: UUID
    direction: Direction
    counterpart_country: str
    sop: SopRef
    status: str
    last_step: str | None
    is_child: bool
    opened_at: datetime


class Closure(RequestModel):
    outcome: ClosureOutcome

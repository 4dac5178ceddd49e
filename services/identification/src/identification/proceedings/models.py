"""Proceedings records, links and the prosecution's status view, as the API takes and
gives them. The view holds codes, dates and organisation ids only: never a name, a
shelter, an address, a facility, a phone number or free text."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from identification.domain.decisions import CaseStatus
from identification.proceedings.whereabouts import Whereabouts
from nrm_contracts.events.identification import DecisionStage, ProceedingsLinkBasis
from nrm_runtime.http import RequestModel

_ORGANISATION = r"^[a-z0-9][a-z0-9-]*$"
_CODE = r"^[a-z][a-z0-9_]{0,63}$"


class ReferenceKind(StrEnum):
    POLICE_CASE = "police_case"
    COURT_FILE = "court_file"


class ProceedingsCreate(RequestModel):
    """A criminal case: its police case number or court file, who investigates it and
    which office prosecutes it (organisation ids of the registry)."""

    reference_kind: ReferenceKind
    reference: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9\u1780-\u17ff][A-Za-z0-9\u1780-\u17ff ./_-]*$",
        description="As the case file has it: letters, digits, spaces and . / _ -",
    )
    investigating_organisation: str = Field(max_length=64, pattern=_ORGANISATION)
    prosecuting_office: str = Field(max_length=64, pattern=_ORGANISATION)


class ProceedingsPublic(BaseModel):
    id: UUID
    reference_kind: ReferenceKind
    reference: str
    investigating_organisation: str
    prosecuting_office: str
    created_at: datetime
    linked_cases: int = Field(description="Cases the caller may see now")


class LinkCreate(RequestModel):
    """Link a case: on the person's consent to ``legal_proceedings`` in force, or on one
    of the legal bases MOSVY accepts (``legal_basis``, a code)."""

    case_id: UUID
    legal_basis: str | None = Field(
        default=None,
        max_length=64,
        pattern=_CODE,
        description="Without it, the person's consent to legal_proceedings is required",
    )


class LinkPublic(BaseModel):
    id: UUID
    proceedings_id: UUID
    case_id: UUID
    basis: ProceedingsLinkBasis
    legal_basis: str | None
    linked_at: datetime
    unlinked_at: datetime | None


class Contact(BaseModel):
    """Whom to ask to arrange testimony: the NRM case manager's organisation."""

    organisation: str


class VictimStatus(BaseModel):
    """One linked case as the prosecution sees it."""

    case_id: UUID
    victim_status: CaseStatus
    decision_stage: DecisionStage | None
    preliminary_decision_on: date | None
    final_decision_on: date | None
    non_punishment: bool
    non_punishment_since: date | None
    whereabouts: Whereabouts
    repatriated_to: str | None = Field(description="ISO 3166-1 alpha-3, when repatriated")
    contact: Contact
    linked_at: datetime


class ProceedingsVictims(BaseModel):
    proceedings_id: UUID
    victims: list[VictimStatus]

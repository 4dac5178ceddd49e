"""The person index as the review API gives it: candidate pairs with their evidence,
persons with their records, the link history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from identification.legacy_import.mapping import Source
from identification.person_index.domain.conflicts import Conflict
from identification.person_index.domain.matching import Level
from identification.schemas.screenings import PersonPublic
from nrm_contracts.events.identification import LinkBasis
from nrm_runtime.http import RequestModel


class ReviewStatusName(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    SETTLED = "settled"


class FieldEvidence(BaseModel):
    level: Level = Field(description="How closely the two records agree on the field")
    weight: float = Field(description="log2(m/u) of this level: positive for, negative against")


class Evidence(BaseModel):
    """Why the matcher scored the pair as it did: each field's level and weight."""

    total: float = Field(description="The sum of the weights (log2 odds of one person)")
    name_similarity: float
    fields: dict[str, FieldEvidence]
    conflicts: list[Conflict] = Field(
        default_factory=list,
        description=(
            "What keeps the two records apart whatever the weights: child_adult_conflict "
            "(one record makes the person a child on a day the other makes them an adult), "
            "birth_years_apart (births years apart, beyond a typing slip), met_together "
            "(one agency's records of one encounter on one day, whose whole birth dates do "
            "not agree: namesakes of one raid). A pair with a conflict is never linked "
            "automatically"
        ),
    )


class RecordRef(BaseModel):
    """One agency's record (a screening) in the person index: ids, no names."""

    screening_id: UUID
    case_id: UUID | None = Field(
        description="The screening's case; none for a record imported from an agency's "
        "historical export (see source): it has no case in this service"
    )
    source: Source | None = Field(
        default=None, description="For an imported record: the export it came from"
    )
    person_id: UUID
    reporting_organisation: str
    encounter_date: date


class ReviewPairPublic(BaseModel):
    """Two records the matcher could not decide on alone."""

    id: UUID
    status: ReviewStatusName
    score: float
    evidence: Evidence
    record: RecordRef = Field(description="The record that arrived")
    candidate: RecordRef = Field(description="The known record it resembles")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class RecordDetail(RecordRef):
    """A record with the person's fields as that agency wrote them (an audited read)."""

    source_record_id: str | None = Field(
        default=None,
        description="For an imported record: the agency's own record id, to find its file",
    )

    person: PersonPublic
    basis: LinkBasis
    score: float | None
    evidence: Evidence | None
    linked_at: datetime


class ReviewPairDetail(ReviewPairPublic):
    """The pair with both records' person fields, for the reviewer to compare."""

    record_detail: RecordDetail
    candidate_detail: RecordDetail


class PersonIndexEntry(BaseModel):
    """One de-duplicated person and every agency's record of them."""

    id: UUID
    created_at: datetime
    records: list[RecordDetail]


class LinkHistoryEntry(BaseModel):
    screening_id: UUID
    person_id: UUID
    previous_person_id: UUID | None
    action: str = Field(description="created, linked, merged or unlinked")
    basis: str
    score: float | None
    review_pair_id: UUID | None
    actor: str
    recorded_at: datetime


class PersonHistory(BaseModel):
    """Every link, merge and unlink that involved the person, oldest first."""

    person_id: UUID
    entries: list[LinkHistoryEntry]


class UnlinkResult(BaseModel):
    screening_id: UUID
    previous_person_id: UUID
    person_id: UUID = Field(description="The record's own new person")


class LinkRequest(RequestModel):
    screening_id: UUID = Field(description="The record to put under this person")


def evidence_model(stored: dict[str, Any] | None) -> Evidence | None:
    return Evidence.model_validate(stored) if stored is not None else None

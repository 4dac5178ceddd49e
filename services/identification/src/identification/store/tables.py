"""Identification's tables. Personal data stays in this service's database; names,
aliases, birth dates, document numbers and free text about the person (the screening's
notes, a decision's grounds) are sealed (field-level encryption, bound to
their row and column: :data:`SEALED_FIELDS`), and looked up only through keyed digests
(blind indexes): the non-punishment check by ``screening_name_key``, the person index by
``person_block_key``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.field_rotation import SealedColumns
from nrm_runtime.registration import ServiceStorage
from nrm_runtime.tables import UtcDateTime


class IdentificationTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _moment(*, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False, index=index))


class IdentificationCase(IdentificationTable, table=True):
    """One person, one experience: the screenings, decisions and consents about it.

    The decision history is the ``decision`` table (append-only); the columns here are
    the case's current state, kept in step in the same transaction as each change.
    """

    __tablename__ = "identification_case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    person_ref: UUID = Field(default_factory=uuid4, unique=True)
    opened_by_organisation: str = Field(max_length=64, index=True)
    opened_at: datetime = _moment(index=True)
    first_encounter_date: date
    province_code: str | None = Field(default=None, max_length=2, index=True)
    country_code: str | None = Field(default=None, max_length=3)
    status: str = Field(max_length=40, index=True)
    stage: str | None = Field(default=None, max_length=20, index=True)
    preliminary_due_on: date
    final_due_on: date | None = None
    recovery_period_ends_on: date | None = None
    next_deadline: str | None = Field(default=None, max_length=30)
    next_deadline_on: date | None = Field(default=None, index=True)
    non_punishment_since: date | None = None


class Screening(IdentificationTable, table=True):
    """A screening as recorded by a first responder."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    reporting_organisation: str = Field(index=True, max_length=64)
    recorded_by: str = Field(max_length=200)
    # Sealed (see identification.store.sealing); None where the form left the field out.
    given_name_sealed: str | None = None
    family_name_sealed: str | None = None
    given_name_khmer_sealed: str | None = None
    family_name_khmer_sealed: str | None = None
    aliases_sealed: str | None = None
    birth_date_sealed: str | None = None
    sex: str = Field(max_length=20)
    birth_date_precision: str | None = Field(default=None, max_length=20)
    estimated_age: int | None = None
    nationality: str | None = Field(default=None, max_length=3)
    languages: list[str] = _json_list()
    encounter_type: str = Field(max_length=50)
    encounter_date: date
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    country_code: str | None = Field(default=None, max_length=3)
    acts: list[str] = _json_list()
    means: list[str] = _json_list()
    purposes: list[str] = _json_list()
    labour_sectors: list[str] = _json_list()
    # Free text about the person's experience: sealed like the names.
    act_notes_sealed: str | None = None
    means_notes_sealed: str | None = None
    purpose_notes_sealed: str | None = None
    continuum_position: str | None = Field(default=None, max_length=1)
    person_consented: bool | None = None
    exploitation_country_code: str | None = Field(default=None, max_length=3)
    exploitation_province_code: str | None = Field(default=None, max_length=2)
    needs_hints: list[str] = _json_list()
    is_child: bool | None = None
    age_band: str | None = Field(default=None, max_length=20)
    presumptive_result: str | None = Field(default=None, max_length=50)
    assessment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    # Recorded while a legacy import held the person index: not yet in the index (no
    # person_record); the background linker links it (identification.person_index.pending).
    linking_pending: bool = Field(default=False, index=True)


class IdentityDocument(IdentificationTable, table=True):
    """An identity document the person holds, or that was taken from them."""

    __tablename__ = "identity_document"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)
    kind: str = Field(max_length=30)
    status: str = Field(max_length=30)
    issuing_country: str | None = Field(default=None, max_length=3)
    number_sealed: str | None = None
    number_digest: str | None = Field(default=None, max_length=64, index=True)


class Decision(IdentificationTable, table=True):
    """A decision of the Competent Authority. Never updated: a reconsideration is a new
    decision naming the one it revisits. ``sequence`` orders a case's decisions and
    refuses two decisions taken at once on the same history."""

    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    sequence: int
    stage: str = Field(max_length=20)
    outcome: str = Field(max_length=30)
    rationale_sealed: str  # the grounds (free text about the person), sealed
    decided_on: date
    decided_by: str = Field(max_length=200)
    decided_by_organisation: str = Field(max_length=64)
    reconsiders_id: UUID | None = Field(default=None, foreign_key="decision.id")
    recorded_at: datetime = _moment()


class ConsentRecord(IdentificationTable, table=True):
    """Consent for one purpose, as given, refused or withdrawn. Append-only: the latest
    record of a purpose is the consent in force; ``sequence`` orders a case's records."""

    __tablename__ = "consent_record"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    sequence: int
    purpose: str = Field(max_length=20)
    status: str = Field(max_length=20)
    basis: str = Field(max_length=30)
    given_on: date
    recorded_by: str = Field(max_length=200)
    recorded_by_organisation: str = Field(max_length=64)
    recorded_at: datetime = _moment()


class OverdueNotice(IdentificationTable, table=True):
    """A deadline found passed; unique, so that each is announced once."""

    __tablename__ = "overdue_notice"
    __table_args__ = (UniqueConstraint("case_id", "deadline", "due_on"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    deadline: str = Field(max_length=30)
    due_on: date
    detected_at: datetime = _moment()


class ScreeningRequest(IdentificationTable, table=True):
    """An ``Idempotency-Key`` a caller used, with the screening it created."""

    __tablename__ = "screening_request"
    __table_args__ = (PrimaryKeyConstraint("organisation", "idempotency_key"),)

    organisation: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    screening_id: UUID = Field(foreign_key="screening.id")
    recorded_at: datetime = _moment()


class ScreeningNameKey(IdentificationTable, table=True):
    """A keyed digest of one way the screening writes the person's full name (Latin or
    Khmer, either order, normalised): the non-punishment check finds names by it."""

    __tablename__ = "screening_name_key"
    __table_args__ = (PrimaryKeyConstraint("digest", "screening_id"),)

    digest: str = Field(max_length=64)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)


class Person(IdentificationTable, table=True):
    """One human being, however many agencies recorded them: the unit of the
    authoritative count. Its records are the ``person_record`` rows naming it."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    created_at: datetime = _moment()


class PersonRecord(IdentificationTable, table=True):
    """A screening's place in the person index: the person it belongs to, and the
    evidence that put it there (the match score and each field's level and weight)."""

    __tablename__ = "person_record"

    screening_id: UUID = Field(foreign_key="screening.id", primary_key=True)
    person_id: UUID = Field(foreign_key="person.id", index=True)
    case_id: UUID = Field(index=True)
    basis: str = Field(max_length=20)  # new_person, automatic, review_confirmed, manual
    score: float | None = None
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    linked_by: str = Field(max_length=200)
    linked_at: datetime = _moment()


class PersonBlockKey(IdentificationTable, table=True):
    """A blocking key of a screening, as a keyed digest: two records are compared only
    when they share one, so matching cost grows with the block, not the index."""

    __tablename__ = "person_block_key"
    __table_args__ = (PrimaryKeyConstraint("digest", "screening_id"),)

    digest: str = Field(max_length=64)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)
    # A key persons are counted by (a word of a name, a group), not a block: the rows
    # ``person_word`` is made of.
    counted: bool = Field(default=False)


class PersonWord(IdentificationTable, table=True):
    """A counted key some record of the person is filed under, once per person: how
    many persons carry a word of a name (or belong to a nationality's group) is a count
    of these rows, not of records joined to their persons. Derived from
    ``person_record`` and ``person_block_key`` (:mod:`identification.person_index.words`)."""

    __tablename__ = "person_word"
    __table_args__ = (PrimaryKeyConstraint("digest", "person_id"),)

    digest: str = Field(max_length=64)
    person_id: UUID = Field(foreign_key="person.id", index=True)


class ReviewPair(IdentificationTable, table=True):
    """Two records the matcher scored between its thresholds: a reviewer of the
    Competent Authority confirms (one person) or rejects (two persons)."""

    __tablename__ = "review_pair"
    __table_args__ = (UniqueConstraint("screening_id", "candidate_screening_id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)
    candidate_screening_id: UUID = Field(foreign_key="screening.id", index=True)
    score: float
    evidence: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=20, index=True)  # open, confirmed, rejected, settled
    created_at: datetime = _moment(index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class PersonLinkHistory(IdentificationTable, table=True):
    """Every change of a record's person, in order: append-only, so that a link or an
    unlink can be traced and undone."""

    __tablename__ = "person_link_history"

    # A sequence, not a uuid: several moves can share a timestamp and must keep their order.
    id: int | None = Field(default=None, primary_key=True)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)
    person_id: UUID = Field(index=True)
    previous_person_id: UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=20)  # created, linked, merged, unlinked
    basis: str = Field(max_length=20)
    score: float | None = None
    review_pair_id: UUID | None = None
    actor: str = Field(max_length=200)
    recorded_at: datetime = _moment(index=True)


class LegacyImportRun(IdentificationTable, table=True):
    """One ``nrm import`` of an agency's export that was committed: what it did, for
    whom, from which file (its SHA-256; the file itself is not kept)."""

    __tablename__ = "legacy_import_run"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    source: str = Field(max_length=40, index=True)
    organisation: str = Field(max_length=64)
    operator: str = Field(max_length=200)
    file_digest: str = Field(max_length=64)
    rows_read: int
    rows_imported: int
    rows_already_imported: int
    rows_rejected: int
    new_persons: int
    auto_linked: int
    sent_to_review: int
    started_at: datetime = _moment()
    finished_at: datetime = _moment()


class LegacyRecord(IdentificationTable, table=True):
    """A record imported from an agency's own database: the screening row that holds it
    in the person index (no screening form, no case), and the agency's own record id.
    ``(source, source_record_id)`` is unique: importing a file again adds nothing."""

    __tablename__ = "legacy_record"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    screening_id: UUID = Field(foreign_key="screening.id", primary_key=True)
    source: str = Field(max_length=40)
    source_record_id: str = Field(max_length=100)
    run_id: UUID = Field(foreign_key="legacy_import_run.id", index=True)


# The proceedings records' tables are this metadata's too (their own module).
from identification.proceedings import store as _proceedings_store  # noqa: E402, F401

tables = IdentificationTable.metadata

SEALED_FIELDS = [
    SealedColumns(
        Screening.__table__,  # type: ignore[attr-defined]
        "id",
        (
            "given_name_sealed",
            "family_name_sealed",
            "given_name_khmer_sealed",
            "family_name_khmer_sealed",
            "aliases_sealed",
            "birth_date_sealed",
            "act_notes_sealed",
            "means_notes_sealed",
            "purpose_notes_sealed",
        ),
    ),
    SealedColumns(Decision.__table__, "id", ("rationale_sealed",)),  # type: ignore[attr-defined]
    SealedColumns(IdentityDocument.__table__, "id", ("number_sealed",)),  # type: ignore[attr-defined]
]

# The runtime's commands find the service's database by this (nrm_runtime.registration).
STORAGE = ServiceStorage(
    "identification", tables, Path(__file__).parents[1] / "migrations", SEALED_FIELDS
)

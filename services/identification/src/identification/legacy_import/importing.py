"""Importing an export's rows into the person index, in one transaction.

A legacy row becomes a record of the person index without a screening form: a
``screening`` row (the person's fields sealed exactly as a live screening's, no
indicators, no assessment, no case: the agency's case lives in its own system), its
``legacy_record`` (source and the agency's record id, unique: a second run of the same
file adds nothing) and its ``person_record``. It counts in ``GET /statistics/victims``
with the source's organisation as the identifying agency.

Matching is the live screenings' matcher over the whole index in memory
(:class:`identification.person_index.domain.index.PersonIndex`): the persons already
known are loaded first (names opened in memory only), so that an imported row links to a
live screening's person as it links to another row of the file. The import holds the
person index lock from that load to its commit
(:mod:`identification.person_index.arrival_lock`): a screening arriving meanwhile is
recorded with its linking pending and linked after the commit, never missed.
:mod:`.writing` then writes the rows in bulk; everything, the audit entry and the
``person.linked`` events of the automatic links (ids and scores only) included, commits
together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain import ages
from identification.domain.ages import BirthDatePrecision
from identification.legacy_import.mapping import SourceMapping
from identification.legacy_import.reading import Export, LegacyRow, Rejection
from identification.legacy_import.writing import MatchedRow, RunWriter, insert_rows, table_of
from identification.person_index.arrival_lock import hold_person_index
from identification.person_index.domain.index import PersonIndex, features_of
from identification.person_index.domain.keys import record_keys
from identification.person_index.domain.matching import PersonFeatures
from identification.person_index.field_keys import digest_for
from identification.person_index.linking import features_of_screening
from identification.store import LegacyImportRun, LegacyRecord, PersonRecord, Screening
from identification.store.sealing import PersonNames, open_person, seal_person
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal, Role
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing

# Case ids of legacy records: derived from the source and the agency's record id, so
# that the same record always has the same id (events name it; no case row exists).
LEGACY_CASE_NAMESPACE = uuid.UUID("5d0c3c1e-8d0a-4c59-9f3e-6f1b2a7c4e10")
AUDIT_RESOURCE = "legacy_import_run"
# The page cache an import's SQLite connection gets (KiB).
BULK_CACHE_KIB = 262144
AUDIT_PURPOSE = "legacy_import"

Progress = Callable[[int], None]


@dataclass
class ImportSummary:
    """What a committed run did (``run_id``: its ``legacy_import_run`` and audit entry)."""

    run_id: UUID
    rows_read: int
    rows_rejected: int
    rows_already_imported: int = 0
    rows_imported: int = 0
    new_persons: int = 0
    auto_linked: int = 0
    sent_to_review: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def operator_principal(mapping: SourceMapping, operator: str) -> Principal:
    """Who an import acts as: the operator, for the source's organisation (an admin
    task: it is the agency's own data that is loaded)."""
    return Principal(
        subject=operator,
        organisation=mapping.organisation,
        organisation_type=mapping.organisation_type,
        roles=frozenset({Role.ADMIN}),
    )


async def import_export(
    database: Database,
    keys: KeyRing,
    mapping: SourceMapping,
    export: Export,
    *,
    operator: str,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the rows of ``export`` not imported before, in one transaction."""
    now = now or datetime.now(UTC)
    principal = operator_principal(mapping, operator)
    run_id = uuid.uuid4()
    summary = ImportSummary(
        run_id=run_id,
        rows_read=export.rows_read,
        rows_rejected=len({rejection.row for rejection in export.rejections}),
        rejections=list(export.rejections),
    )
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        # From loading the index to the commit, no live screening links: one arriving
        # now waits, pending, and is linked against what this import wrote.
        await hold_person_index(session)
        await _room_for_a_bulk_write(session)
        known_ids = await _imported_ids(session, mapping)
        rows = [row for row in export.rows if row.source_record_id not in known_ids]
        summary.rows_already_imported = len(export.rows) - len(rows)
        summary.rows_imported = len(rows)
        index, loaded = await _load_index(session, keys) if rows else (None, {})
        matched = _match(index, keys, mapping, rows, operator, now, progress) if index else []
        writer = RunWriter(uow, index, loaded, matched, now)
        summary.new_persons, summary.auto_linked, summary.sent_to_review = writer.tally()
        run = _run_row(summary, mapping, export, operator, now)
        await insert_rows(session, table_of(LegacyImportRun), [run])
        await writer.write(mapping, run_id)
        await record_access(
            session,
            principal,
            action=AuditAction.WRITE,
            resource_type=AUDIT_RESOURCE,
            resource_ids=str(run_id),
            purpose=AUDIT_PURPOSE,
        )
        await uow.commit()
    return summary


async def _room_for_a_bulk_write(session: AsyncSession) -> None:
    # SQLite keeps 2 MB of pages by default: an import writes millions of index entries
    # at random places in the keys' B-trees, and with so small a cache most of them go
    # to disk and back. This connection gets 256 MB (PostgreSQL sizes its own buffers).
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.execute(text(f"PRAGMA cache_size=-{BULK_CACHE_KIB}"))


async def _imported_ids(session: AsyncSession, mapping: SourceMapping) -> set[str]:
    result = await session.exec(
        select(LegacyRecord.source_record_id).where(
            col(LegacyRecord.source) == mapping.source.value
        )
    )
    return set(result.all())


async def _load_index(session: AsyncSession, keys: KeyRing) -> tuple[PersonIndex, dict[str, str]]:
    """The index of every known record (names opened in memory), and their persons."""
    index = PersonIndex(digest_for(keys))
    loaded: dict[str, str] = {}
    # Filed in the order the records were recorded, as the live path reads a block's
    # members (the order breaks ties between candidates).
    result = await session.exec(
        select(Screening, PersonRecord.person_id)
        .join(PersonRecord, col(PersonRecord.screening_id) == col(Screening.id))
        .order_by(col(Screening.recorded_at), col(Screening.id))
    )
    for screening, person_id in result.all():
        record_id = str(screening.id)
        features = features_of_screening(screening, open_person(keys, screening))
        index.file(record_id, str(person_id), features)
        loaded[record_id] = str(person_id)
    return index, loaded


def legacy_case_id(mapping: SourceMapping, source_record_id: str) -> UUID:
    """The case id a legacy record is known by (stable across runs)."""
    return uuid.uuid5(LEGACY_CASE_NAMESPACE, f"{mapping.source.value}:{source_record_id}")


@dataclass
class _SealedColumns:
    """The sealed columns of a legacy row's screening, as :func:`seal_person` writes
    them: a plain holder, because building 100,000 table models costs more than the
    matching of many of them."""

    id: UUID
    given_name_sealed: str | None = None
    family_name_sealed: str | None = None
    given_name_khmer_sealed: str | None = None
    family_name_khmer_sealed: str | None = None
    aliases_sealed: str | None = None
    birth_date_sealed: str | None = None


def _screening(
    mapping: SourceMapping, row: LegacyRow, keys: KeyRing, operator: str, now: datetime
) -> tuple[dict[str, Any], PersonFeatures]:
    """The row's ``screening`` row (personal fields sealed) and the matcher's view of it."""
    precision = BirthDatePrecision(row.birth_date_precision or BirthDatePrecision.DAY)
    age = ages.age_at(
        birth_date=row.birth_date,
        precision=precision,
        estimated_age=row.estimated_age,
        on=row.encounter_date,
    )
    names = PersonNames(
        given_name=row.given_name,
        family_name=row.family_name,
        given_name_khmer=row.given_name_khmer,
        family_name_khmer=row.family_name_khmer,
        aliases=list(row.aliases),
        birth_date=row.birth_date,
    )
    sealed = _SealedColumns(uuid.uuid4())
    # seal_person reads the id and writes the sealed columns only: the same sealing,
    # bound to the same table, row and column, as a live screening's.
    seal_person(keys, cast(Screening, sealed), names)
    screening = {
        **asdict(sealed),
        "case_id": legacy_case_id(mapping, row.source_record_id),
        "reporting_organisation": mapping.organisation,
        "recorded_by": operator,
        "sex": row.sex,
        "birth_date_precision": row.birth_date_precision,
        "estimated_age": row.estimated_age,
        "nationality": row.nationality,
        "languages": [],
        "encounter_type": row.encounter_type,
        "encounter_date": row.encounter_date,
        "province_code": row.province_code,
        "acts": [],
        "means": [],
        "purposes": list(row.purposes),
        "exploitation_country_code": row.exploitation_country_code,
        "labour_sectors": [],
        "needs_hints": [],
        "is_child": ages.is_child(age),
        "age_band": str(ages.age_band(age)),
        "recorded_at": now,
    }
    features = features_of(
        given_name=names.given_name,
        family_name=names.family_name,
        given_name_khmer=names.given_name_khmer,
        family_name_khmer=names.family_name_khmer,
        aliases=names.aliases,
        sex=row.sex,
        birth_date=names.birth_date,
        birth_date_precision=row.birth_date_precision,
        estimated_age=row.estimated_age,
        encounter_date=row.encounter_date,
        nationality=row.nationality,
        province_code=row.province_code,
        purposes=row.purposes,
        exploitation_country_code=row.exploitation_country_code,
        reporting_organisation=mapping.organisation,
    )
    return screening, features


def _match(
    index: PersonIndex,
    keys: KeyRing,
    mapping: SourceMapping,
    rows: Sequence[LegacyRow],
    operator: str,
    now: datetime,
    progress: Progress | None,
) -> list[MatchedRow]:
    matched = []
    for row in rows:
        screening, features = _screening(mapping, row, keys, operator, now)
        decision, blocks = index.add(str(screening["id"]), features)
        # The same keys a live screening stores (its blocks, its words), so that later
        # screenings find this record and count its person.
        stored = record_keys(features, index.digest, blocks=blocks)
        own_person = str(decision.person_id)
        matched.append(
            MatchedRow(
                row,
                screening["id"],
                screening["case_id"],
                screening,
                decision,
                own_person,
                tuple(stored.blocks),
                tuple(stored.counted),
            )
        )
        if progress is not None:
            progress(1)
    return matched


def _run_row(
    summary: ImportSummary, mapping: SourceMapping, export: Export, operator: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": summary.run_id,
        "source": mapping.source.value,
        "organisation": mapping.organisation,
        "operator": operator,
        "file_digest": export.digest,
        "rows_read": summary.rows_read,
        "rows_imported": summary.rows_imported,
        "rows_already_imported": summary.rows_already_imported,
        "rows_rejected": summary.rows_rejected,
        "new_persons": summary.new_persons,
        "auto_linked": summary.auto_linked,
        "sent_to_review": summary.sent_to_review,
        "started_at": now,
        "finished_at": datetime.now(UTC),
    }

"""Filing every known record again under the keys the matcher uses now.

A record is filed under the keys :func:`identification.person_index.domain.keys.record_keys` gives
(its blocks, the words of its names and its groups, as keyed digests; the last two
marked as the keys persons are counted by). When those keys change (a new
blocking key, another phonetic form of a name), the records already stored keep the keys
they were filed under, and a later screening of the same person would not find them.
Rekeying recomputes the keys of every indexed record, in one transaction, holding the
person index as an import does (a screening arriving meanwhile is linked after it).

It changes no link: persons, review pairs and the link history stay as they are.
Matching the index again would undo what reviewers decided.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.legacy_import.writing import insert_rows, table_of
from identification.person_index import words as person_words
from identification.person_index.arrival_lock import hold_person_index
from identification.person_index.domain.keys import record_keys
from identification.person_index.field_keys import digest_for
from identification.person_index.lookup import features_of_screening
from identification.store import PersonBlockKey, PersonRecord, Screening
from identification.store.sealing import open_person
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing

AUDIT_RESOURCE = "person_index"
AUDIT_PURPOSE = "person_index_rekeying"
# Records read and rewritten at a time: a 100,000-record index is not held in memory
# as table models all at once.
BATCH_SIZE = 2000


@dataclass
class RekeyingSummary:
    """What a rekeying did: its run id (in the audit log), records read, records whose
    keys changed, keys before and after."""

    run_id: UUID = field(default_factory=uuid4)
    records: int = 0
    records_rekeyed: int = 0
    keys_before: int = 0
    keys_after: int = 0


async def rekey_person_index(
    database: Database, keys: KeyRing, *, operator: Principal
) -> RekeyingSummary:
    """Recompute the stored keys of every indexed record; audited as ``operator``'s."""
    summary = RekeyingSummary()
    digest = digest_for(keys)
    async with database.unit_of_work(actor=operator.actor) as uow:
        session = uow.session
        await hold_person_index(session)
        for batch in await _indexed_batches(session):
            stored = await _stored_keys(session, batch)
            rekeyed: list[UUID] = []
            rows: list[dict[str, object]] = []
            for screening in await _screenings(session, batch):
                features = features_of_screening(screening, open_person(keys, screening))
                now = record_keys(features, digest).rows(screening.id)
                filed = {(row["digest"], row["counted"]) for row in now}
                before = stored.get(screening.id, set())
                summary.records += 1
                summary.keys_before += len(before)
                summary.keys_after += len(filed)
                if filed != before:
                    rekeyed.append(screening.id)
                    rows.extend(now)
            if rekeyed:
                await session.exec(
                    delete(PersonBlockKey).where(col(PersonBlockKey.screening_id).in_(rekeyed))
                )
                await insert_rows(session, table_of(PersonBlockKey), rows)
            summary.records_rekeyed += len(rekeyed)
        await person_words.rebuild(session)
        await record_access(
            session,
            operator,
            action=AuditAction.WRITE,
            resource_type=AUDIT_RESOURCE,
            resource_ids=str(summary.run_id),
            purpose=AUDIT_PURPOSE,
        )
        await uow.commit()
    return summary


async def _indexed_batches(session: AsyncSession) -> Iterator[list[UUID]]:
    result = await session.exec(
        select(PersonRecord.screening_id).order_by(col(PersonRecord.screening_id))
    )
    ids = list(result.all())
    return iter([ids[start : start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)])


async def _stored_keys(
    session: AsyncSession, batch: Sequence[UUID]
) -> dict[UUID, set[tuple[str, bool]]]:
    result = await session.exec(
        select(PersonBlockKey.screening_id, PersonBlockKey.digest, PersonBlockKey.counted).where(
            col(PersonBlockKey.screening_id).in_(batch)
        )
    )
    stored: dict[UUID, set[tuple[str, bool]]] = {}
    for screening_id, digest, counted in result.all():
        stored.setdefault(screening_id, set()).add((digest, bool(counted)))
    return stored


async def _screenings(session: AsyncSession, batch: Sequence[UUID]) -> list[Screening]:
    result = await session.exec(select(Screening).where(col(Screening.id).in_(batch)))
    return list(result.all())

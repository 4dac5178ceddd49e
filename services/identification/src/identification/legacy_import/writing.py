"""The rows an import writes, from the final state of the person index after every row
was matched: persons, screenings, legacy records, person records and their history, block
keys, review pairs; known records moved when an imported row proved two known persons
one; ``person.linked`` for every automatic link. Bulk inserts, in batches, in the unit of
work's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, insert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.legacy_import.mapping import SourceMapping
from identification.legacy_import.reading import LegacyRow
from identification.person_index import words as person_words
from identification.person_index.domain.index import PersonIndex
from identification.person_index.domain.matching import MatchDecision
from identification.person_index.linking import (
    MATCHER,
    ReviewStatus,
    evidence_of,
    move_record,
    settle_open_pairs,
)
from identification.store import (
    LegacyRecord,
    Person,
    PersonBlockKey,
    PersonLinkHistory,
    PersonRecord,
    ReviewPair,
    Screening,
)
from nrm_contracts.events.identification import LinkBasis, PersonLinked
from nrm_runtime.database import UnitOfWork

BATCH_SIZE = 2000


@dataclass
class MatchedRow:
    """A row as matched: its screening, the decision, and the digests to store."""

    row: LegacyRow
    id: UUID
    case_id: UUID
    screening: dict[str, Any]
    decision: MatchDecision
    own_person: str
    # Tuples of strings, not the RecordKeys: 100,000 rows of nested dicts and lists
    # are work for the garbage collector on every pass; these it leaves alone.
    blocks: tuple[str, ...]
    counted: tuple[str, ...]


class RunWriter:
    """The rows of the tables, from the final state of the index after every row."""

    def __init__(
        self,
        uow: UnitOfWork,
        index: PersonIndex | None,
        loaded: dict[str, str],
        matched: list[MatchedRow],
        now: datetime,
    ) -> None:
        self.uow = uow
        self.now = now
        self.matched = matched
        final = {rid: record.person_id for rid, record in index.records.items()} if index else {}
        self.final = final
        self.known_persons = set(loaded.values())
        # Known records an imported row proved to be someone already known (a merge).
        self.moved = {rid: person for rid, person in loaded.items() if final[rid] != person}
        self.new_persons = {final[str(m.id)] for m in matched} - self.known_persons

    def linked(self, item: MatchedRow) -> bool:
        """Whether the row joined a person: by its own match, or merged by a later row."""
        return (
            item.decision.linked_to_record is not None
            or self.final[str(item.id)] != item.own_person
        )

    def pairs(self, item: MatchedRow) -> list[dict[str, Any]]:
        """The row's ``review_pair`` rows: open, unless the run made the two one person."""
        mine = self.final[str(item.id)]
        return [
            {
                "id": uuid.uuid4(),
                "screening_id": item.id,
                "candidate_screening_id": UUID(candidate.record_id),
                "score": round(comparison.total, 3),
                "evidence": evidence_of(comparison),
                # Both records one person by the end of the run: no reviewer needed.
                "status": ReviewStatus.SETTLED
                if self.final[candidate.record_id] == mine
                else ReviewStatus.OPEN,
                "created_at": self.now,
            }
            for candidate, comparison in item.decision.review
        ]

    def tally(self) -> tuple[int, int, int]:
        """New persons, rows linked automatically, rows with a pair for a reviewer."""
        auto_linked = sum(1 for item in self.matched if self.linked(item))
        in_review = sum(
            1
            for item in self.matched
            if any(pair["status"] == ReviewStatus.OPEN for pair in self.pairs(item))
        )
        return len(self.new_persons), auto_linked, in_review

    async def write(self, mapping: SourceMapping, run_id: UUID) -> None:
        """Insert every table's rows (parents first), then move the known records."""
        session = self.uow.session
        await insert_rows(
            session,
            table_of(Person),
            [{"id": UUID(person), "created_at": self.now} for person in sorted(self.new_persons)],
        )
        await insert_rows(
            session,
            table_of(Screening),
            [item.screening for item in self.matched],
        )
        await insert_rows(
            session,
            table_of(LegacyRecord),
            [
                {
                    "screening_id": item.id,
                    "source": mapping.source.value,
                    "source_record_id": item.row.source_record_id,
                    "run_id": run_id,
                }
                for item in self.matched
            ],
        )
        records, history = [], []
        for item in self.matched:
            record, entry = self.record_of(item)
            records.append(record)
            history.append(entry)
        await insert_rows(session, table_of(PersonRecord), records)
        await insert_rows(session, table_of(PersonLinkHistory), history)
        await insert_rows(
            session,
            table_of(PersonBlockKey),
            [
                {"digest": digest, "screening_id": item.id, "counted": counted}
                for item in self.matched
                for keys, counted in ((item.blocks, False), (item.counted, True))
                for digest in keys
            ],
        )
        await insert_rows(
            session, table_of(ReviewPair), [p for item in self.matched for p in self.pairs(item)]
        )
        await self.move_known_records()
        # Most persons of an import are new or grew: their counts are made again whole,
        # in the database (one statement over the counted keys).
        await person_words.rebuild(session)

    def record_of(self, item: MatchedRow) -> tuple[dict[str, Any], dict[str, Any]]:
        """The row's ``person_record`` and its history entry; ``person.linked`` when it
        joined a person (a new person is news to nobody downstream)."""
        person = UUID(self.final[str(item.id)])
        linked = self.linked(item)
        best = item.decision.best if item.decision.linked_to_record is not None else None
        score = round(best.total, 3) if best is not None else None
        basis = LinkBasis.AUTOMATIC if linked else LinkBasis.NEW_PERSON
        if linked:
            self.uow.record(
                PersonLinked(
                    person_id=person,
                    screening_id=item.id,
                    case_id=item.case_id,
                    score=score,
                    basis=basis,
                    linked_at=self.now,
                )
            )
        record = {
            "screening_id": item.id,
            "person_id": person,
            "case_id": item.case_id,
            "basis": basis,
            "score": score,
            "evidence": evidence_of(best) if best is not None else None,
            "linked_by": MATCHER,
            "linked_at": self.now,
        }
        entry = {
            "screening_id": item.id,
            "person_id": person,
            "action": "linked" if linked else "created",
            "basis": basis,
            "score": score,
            "actor": MATCHER,
            "recorded_at": self.now,
        }
        return record, entry

    async def move_known_records(self) -> None:
        """Known records whose persons an imported row proved one: moved as a live
        screening's merge moves them (history, ``person.linked``)."""
        if not self.moved:
            return
        session = self.uow.session
        result = await session.exec(
            select(PersonRecord).where(
                col(PersonRecord.screening_id).in_([UUID(rid) for rid in self.moved])
            )
        )
        into: set[UUID] = set()
        for record in result.all():
            person = UUID(self.final[str(record.screening_id)])
            await move_record(
                self.uow,
                record,
                into=person,
                basis=LinkBasis.AUTOMATIC,
                score=None,
                actor=MATCHER,
                now=self.now,
            )
            into.add(person)
        for person in into:
            await settle_open_pairs(session, person)


def table_of(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert in batches (one ``executemany`` each), in the session's transaction."""
    connection = await session.connection()
    for start in range(0, len(rows), BATCH_SIZE):
        await connection.execute(insert(table), rows[start : start + BATCH_SIZE])

"""The live screening path decides exactly as the in-memory person index: the same
records, fed one by one through ``link_on_arrival`` (a real SQLite database, one unit of
work each) and through ``PersonIndex.add``, end in the same persons. Both read a name's
frequency from the words of its names counted over persons of its nationality, and raise
the thresholds with the number of persons."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import pytest
from sqlmodel import col, select

from identification.legacy_import.samples import sample_names, sample_screening
from identification.person_index.domain.index import PersonIndex, features_of
from identification.person_index.domain.keys import (
    EVERYONE,
    choose_candidates,
    name_u_from_counts,
    record_keys,
    record_words,
    word_key,
)
from identification.person_index.domain.matching import DEFAULT_MODEL, Level, PersonFeatures
from identification.person_index.field_keys import digest_for
from identification.person_index.linking import features_of_screening, link_on_arrival
from identification.person_index.synthetic import SyntheticRecord, generate
from identification.store import PersonBlockKey, PersonRecord, ReviewPair, Screening, tables
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing, create_key_file

T = TypeVar("T")
RECORDS = 300
SEED = 20261128
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _screening(record: SyntheticRecord, keys: KeyRing, number: int) -> Screening:
    # Arrival order, one second apart: the order both indexes file the records in.
    at = START + timedelta(seconds=number)
    return sample_screening(record, keys, recorded_at=at, recorded_by="equivalence-test")


@dataclass
class LiveIndex:
    """What the live path made of the records, by their number in arrival order."""

    persons: dict[str, str]
    features: list[PersonFeatures]
    review_pairs: set[tuple[str, str]]


async def _live_persons(
    records: list[SyntheticRecord], keys: KeyRing, database: Database
) -> LiveIndex:
    await database.create_schema()
    features_in_order: list[PersonFeatures] = []
    number_of: dict[UUID, str] = {}
    for number, record in enumerate(records):
        screening = _screening(record, keys, number)
        number_of[screening.id] = str(number)
        names = sample_names(record)
        features = features_of_screening(screening, names)
        features_in_order.append(features)
        async with database.unit_of_work() as uow:
            uow.session.add(screening)
            await link_on_arrival(uow, keys, screening, features, actor="equivalence-test")
            await uow.commit()
    async with database.session() as session:
        rows = await session.exec(
            select(Screening.recorded_at, PersonRecord.person_id)
            .join(PersonRecord, col(PersonRecord.screening_id) == col(Screening.id))
            .order_by(col(Screening.recorded_at))
        )
        persons = {str(number): str(person) for number, (_, person) in enumerate(rows.all())}
        pairs = await session.exec(select(ReviewPair))
        review = {
            (number_of[pair.screening_id], number_of[pair.candidate_screening_id])
            for pair in pairs.all()
        }
    return LiveIndex(persons, features_in_order, review)


async def _disposing(database: Database, work: Awaitable[T]) -> T:
    try:
        return await work
    finally:
        await database.dispose()


def _partition(person_of: dict[str, str]) -> set[frozenset[str]]:
    clusters: dict[str, set[str]] = {}
    for record, person in person_of.items():
        clusters.setdefault(person, set()).add(record)
    return {frozenset(members) for members in clusters.values()}


def test_the_same_records_make_the_same_persons_and_reviews_live_and_in_memory(
    tmp_path: Path,
) -> None:
    records = generate(RECORDS, seed=SEED)
    keys = KeyRing.load(create_key_file(tmp_path / "keys.json"))
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        service_metadata=tables,
        event_source="/nrm/identification",
    )
    live = asyncio.run(_disposing(database, _live_persons(records, keys, database)))

    index = PersonIndex(digest_for(keys))
    review: set[tuple[str, str]] = set()
    for number, features in enumerate(live.features):
        decision, _ = index.add(str(number), features)
        review.update((str(number), candidate.record_id) for candidate, _ in decision.review)
    in_memory = {record_id: record.person_id for record_id, record in index.records.items()}

    assert len(live.persons) == RECORDS
    live_clusters, memory_clusters = _partition(live.persons), _partition(in_memory)
    # Not trivially equal: the records make fewer persons than records, some linked.
    assert len(memory_clusters) < RECORDS
    assert live_clusters == memory_clusters
    # The same pairs put before a reviewer, too.
    assert review and live.review_pairs == review


def _features(name: str, family: str, nationality: str | None) -> PersonFeatures:
    return features_of(given_name=name, family_name=family, nationality=nationality)


@pytest.mark.parametrize(
    ("nationality", "group_persons", "expected"),
    [
        # Two words, each carried by 1 and 3 of 9 persons of the nationality; the
        # nationality 9 of 19 persons: (10/20) * (2/10) * (4/10).
        ("VNM", 9, 0.5 * 0.2 * 0.4),
        # No nationality: read among everyone, no share.
        (None, 19, (2 / 20) * (4 / 20)),
    ],
)
def test_a_name_frequency_is_its_words_frequency_among_persons_of_its_nationality(
    nationality: str | None, group_persons: int, expected: float
) -> None:
    features = _features("Lan", "Nguyen", nationality)
    # Words are counted as sounds (phonetic forms), as the index files them.
    (given, family) = sorted(record_words(features)[0], key=lambda word: word != "lan")
    carriers = {given: 1, family: 3}
    unsmoothed = dataclasses.replace(DEFAULT_MODEL, name_prior_persons=0)
    counted = name_u_from_counts(
        features, lambda word: carriers.get(word, 0), group_persons, 19, unsmoothed
    )
    smoothed = name_u_from_counts(features, lambda word: carriers.get(word, 0), group_persons, 19)
    assert counted == pytest.approx(expected)
    # Pulled towards the model's average by its pseudo-persons while persons are few.
    prior, (_, average) = DEFAULT_MODEL.name_prior_persons, DEFAULT_MODEL.name.levels[Level.EXACT]
    assert smoothed == pytest.approx((19 * expected + prior * average) / (19 + prior))


def test_a_record_without_a_name_has_no_name_frequency() -> None:
    features = features_of(given_name=None, family_name=None)
    assert name_u_from_counts(features, lambda word: 0, 5, 5) is None


def test_a_record_stores_its_blocks_and_its_words_in_its_group_and_everyones() -> None:
    features = _features("Lan", "Nguyen", "VNM")
    stored = record_keys(features, lambda key: f"#{key}")
    assert set(stored.words) == {"VNM", EVERYONE}
    family = next(word for word in record_words(features)[0] if word != "lan")
    assert stored.words["VNM"][family] == "#" + word_key("VNM", family)
    assert stored.words[EVERYONE]["lan"] == "#" + word_key(EVERYONE, "lan")
    # And the keys that make it a member of its groups (persons per group).
    assert stored.members == {"VNM": "#member:VNM", EVERYONE: "#member:"}
    assert set(stored.stored) == set(stored.blocks) | set(stored.members.values()) | {
        digest for by_word in stored.words.values() for digest in by_word.values()
    }
    # Word keys never collide with blocking keys.
    assert not set(stored.blocks) & {
        digest for by_word in stored.words.values() for digest in by_word.values()
    }


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        # A block larger than the limit selects nothing.
        ({"a": ["1"], "b": ["2", "3", "4"]}, ["1"]),
        # Past the limit of candidates, those sharing the most blocks, then those sharing
        # the smaller blocks (a specific key before a common word).
        ({"a": ["1", "2"], "b": ["2", "3"], "c": ["4"]}, ["2", "4"]),
        # Ties in filing order.
        ({"a": ["1", "2"], "b": ["2", "3"], "c": ["4", "5"]}, ["2", "1"]),
    ],
)
def test_candidates_share_a_block_not_too_common_the_most_shared_first(
    members: dict[str, list[str]], expected: list[str]
) -> None:
    chosen = choose_candidates(sorted(members), members, max_block_size=2, max_candidates=2)
    assert chosen == expected


def test_live_records_store_their_word_keys_once_per_digest(tmp_path: Path) -> None:
    records = generate(20, seed=SEED)
    keys = KeyRing.load(create_key_file(tmp_path / "keys.json"))
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}",
        service_metadata=tables,
        event_source="/nrm/identification",
    )

    async def stored_of_first() -> tuple[set[str], set[str]]:
        live = await _live_persons(records[:1], keys, database)
        async with database.session() as session:
            rows = await session.exec(select(PersonBlockKey.digest))
            return set(rows.all()), set(record_keys(live.features[0], digest_for(keys)).stored)

    in_database, expected = asyncio.run(_disposing(database, stored_of_first()))
    assert in_database == expected

"""The person index in memory: blocks of records by blind-indexed keys, and the
decision for each record added. The legacy import and the benchmark run it over many
records at once; the screening path builds the same candidates from the database.

Block keys are stored and compared only as keyed digests (``KeyRing.blind_index``), so
that the index on disk holds no name or phonetic form of a name in clear.

The index also counts, per nationality, how many persons carry each word of a name: the
frequency of a name (:meth:`PersonIndex.name_u`) is estimated from its words, so that a
name never seen whole still has one, and a person recorded five times counts once. The
thresholds rise with the number of persons
(:func:`identification.person_index.domain.matching.threshold_shift`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from uuid import uuid4

from identification.person_index.domain.keys import (
    EVERYONE,
    block_digests,
    choose_candidates,
    filed_and_probe_digests,
    group_of,
    name_u_from_counts,
    record_words,
)
from identification.person_index.domain.matching import (
    DEFAULT_MODEL,
    BirthInfo,
    Candidate,
    MatchDecision,
    MatchModel,
    PersonFeatures,
    decide,
)
from identification.person_index.domain.names import name_variants

BLOCK_KEY_PURPOSE = "person_record.block_key"
# A key shared by more records than this is as common as a stop word ("Nguyen Thi"):
# it selects nothing, and comparing with all of its records would make the cost grow
# with the square of the index. Other keys of the record still find its candidates.
MAX_BLOCK_SIZE = 100
# A record of the same person shares several keys with the new one (its name whole, in
# pairs of words, with the year); past this many candidates, the ones sharing a single
# key are strangers with one common word, and comparing them is most of the cost.
MAX_CANDIDATES = 30

# Keys whose digests are kept (about 200 bytes each).
DIGEST_CACHE = 1 << 19

Digest = Callable[[str], str]


def features_of(
    *,
    given_name: str | None,
    family_name: str | None,
    given_name_khmer: str | None = None,
    family_name_khmer: str | None = None,
    aliases: Sequence[str] = (),
    sex: str | None = None,
    birth_date: date | None = None,
    birth_date_precision: str | None = None,
    estimated_age: int | None = None,
    encounter_date: date | None = None,
    nationality: str | None = None,
    province_code: str | None = None,
    purposes: Sequence[str] = (),
    exploitation_country_code: str | None = None,
    reporting_organisation: str | None = None,
) -> PersonFeatures:
    """The matcher's view of a record's person fields."""
    return PersonFeatures(
        names=tuple(
            name_variants(
                given_name=given_name,
                family_name=family_name,
                given_name_khmer=given_name_khmer,
                family_name_khmer=family_name_khmer,
                aliases=aliases,
                nationality=nationality,
            )
        ),
        sex=sex,
        birth=BirthInfo.of(
            birth_date, birth_date_precision, estimated_age=estimated_age, on=encounter_date
        ),
        nationality=nationality,
        province=province_code,
        met=encounter_date,
        purposes=frozenset(purposes),
        exploited_in=exploitation_country_code,
        agency=reporting_organisation,
    )


@dataclass
class IndexedRecord:
    record_id: str
    person_id: str
    features: PersonFeatures


class PersonIndex:
    """Records filed under their block digests; :meth:`add` matches and files one."""

    def __init__(self, digest: Digest, model: MatchModel = DEFAULT_MODEL) -> None:
        # The same keys come back record after record ("met:Cn:..." for every Chan met
        # that month): each is digested once.
        self.digest: Digest = lru_cache(maxsize=DIGEST_CACHE)(digest)
        self.model = model
        self.records: dict[str, IndexedRecord] = {}
        self.blocks: dict[str, list[str]] = {}
        self._by_person: dict[str, list[str]] = {}
        # Persons by nationality ("" for all), and by the words of their names.
        self._group_persons: dict[str, set[str]] = {}
        self._word_persons: dict[str, dict[str, set[str]]] = {}

    def file(self, record_id: str, person_id: str, features: PersonFeatures) -> list[str]:
        """File a known record without matching it (loading the index); its digests."""
        digests = block_digests(features, self.digest)
        self._put(IndexedRecord(record_id, person_id, features), digests)
        return digests

    def members(self, person_id: str) -> list[str]:
        """The records of a person."""
        return list(self._by_person.get(person_id, ()))

    def merge(self, person_id: str, *, into: str) -> list[str]:
        """Move every record of ``person_id`` to person ``into``; the records moved."""
        moved = self._by_person.pop(person_id, [])
        for record_id in moved:
            record = self.records[record_id]
            self._count(record, person_id, remove=True)
            record.person_id = into
            self._count(record, into)
        self._by_person.setdefault(into, []).extend(moved)
        return moved

    def _member_candidates(self, person_id: str) -> list[Candidate]:
        return [
            Candidate(record_id, person_id, self.records[record_id].features)
            for record_id in self._by_person.get(person_id, ())
        ]

    def candidates(self, digests: Sequence[str]) -> list[Candidate]:
        """The records sharing a (not too common) block with these digests; past
        ``MAX_CANDIDATES``, those sharing the most blocks (as the live path chooses)."""
        chosen = choose_candidates(
            digests, self.blocks, max_block_size=MAX_BLOCK_SIZE, max_candidates=MAX_CANDIDATES
        )
        records = [self.records[record_id] for record_id in chosen]
        return [Candidate(r.record_id, r.person_id, r.features) for r in records]

    def add(self, record_id: str, features: PersonFeatures) -> tuple[MatchDecision, list[str]]:
        """Match a new record, then file it under its person (a new one unless linked)."""
        digests, probes = filed_and_probe_digests(features, self.digest)
        name_u = self.name_u(features)
        decision = decide(
            features,
            self.candidates(probes),
            self.model,
            name_u=name_u,
            members=self._member_candidates,
            persons=len(self._by_person),
        )
        person_id = decision.person_id or str(uuid4())
        for candidate, _ in decision.merged:
            self.merge(candidate.person_id, into=person_id)
        self._put(IndexedRecord(record_id, person_id, features), digests)
        if decision.person_id is None:
            decision.person_id = person_id
            decision.linked_to_record = None
        return decision, digests

    def name_u(self, features: PersonFeatures) -> float | None:
        """How often two different persons share the record's name exactly, from how
        common each of its words is among the persons known
        (:func:`identification.person_index.domain.keys.name_u_from_counts`, as the live path)."""
        group = group_of(features)
        counts = self._word_persons.get(group, {})
        return name_u_from_counts(
            features,
            lambda word: len(counts.get(word, ())),
            len(self._group_persons.get(group, ())),
            len(self._by_person),
            self.model,
        )

    def _count(self, record: IndexedRecord, person_id: str, *, remove: bool = False) -> None:
        # How common a word is counts persons, not records: a person recorded by five
        # agencies does not make the name five times as common. A merged person counts no
        # more (as in the database, where counts go through the records' persons).
        for group in {group_of(record.features), EVERYONE}:
            persons = self._group_persons.setdefault(group, set())
            counts = self._word_persons.setdefault(group, {})
            words = {word for variant in record_words(record.features) for word in variant}
            if not remove:
                persons.add(person_id)
                for word in words:
                    counts.setdefault(word, set()).add(person_id)
            elif not self._by_person.get(person_id):
                persons.discard(person_id)
                for word in words:
                    counts.get(word, set()).discard(person_id)

    def _put(self, record: IndexedRecord, digests: Sequence[str]) -> None:
        self.records[record.record_id] = record
        self._by_person.setdefault(record.person_id, []).append(record.record_id)
        self._count(record, record.person_id)
        for key in digests:
            self.blocks.setdefault(key, []).append(record.record_id)

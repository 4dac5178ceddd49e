"""What a record of the person index stores, and the pure arithmetic both matchers share.

The in-memory index (:class:`identification.person_index.domain.index.PersonIndex`: the
legacy import, the benchmark) and the database one
(:func:`identification.person_index.linking.link_on_arrival`: every live screening) must
decide the same pair the same way. They gather their counts
differently (sets in memory, ``person_word`` rows on disk) and turn them into a decision
with the functions here.

A record stores, as keyed digests only (nothing of a name in clear):

- its blocking keys (:func:`identification.person_index.domain.matching.blocking_keys`),
  which find its candidates;
- one key per word of its names, per group of persons counted (its nationality, and
  everyone): how many distinct persons carry a word is the frequency of a name
  (:func:`name_u_from_counts`), a person recorded five times counting once;
- one key per group it belongs to (:func:`member_key`): how many persons a group holds.

On disk, ``person_word`` holds each digest once per person
(:mod:`identification.person_index.words`): the counts are counts of its rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from identification.person_index.domain.matching import (
    DEFAULT_MODEL,
    Level,
    MatchModel,
    PersonFeatures,
    blocking_keys,
    filed_and_probing_keys,
    name_u_of_words,
    probing_keys,
)

# Word keys never collide with blocking keys: another prefix under the same keyed digest.
WORD_KEY_PREFIX = "word:"
MEMBER_KEY_PREFIX = "member:"
# The group of every person ("" nationality): the frequency of a record without one.
EVERYONE = ""

Digest = Callable[[str], str]


def record_words(features: PersonFeatures) -> list[frozenset[str]]:
    """The words of each way the record writes its name, as sounds (phonetic), so that a
    name in Khmer script and in Latin letters count alike."""
    return [frozenset(variant.phonetic.words) for variant in features.names]


def group_of(features: PersonFeatures) -> str:
    """The group a record's name frequency is read in: its nationality, or everyone."""
    return features.nationality or EVERYONE


def word_key(group: str, word: str) -> str:
    """The clear form of a word key (only ever stored as its digest)."""
    return f"{WORD_KEY_PREFIX}{group}:{word}"


@dataclass(frozen=True)
class RecordKeys:
    """The digests a record stores: ``blocks`` find candidates, ``words[group][word]``
    count the persons carrying a word, ``members[group]`` the persons of a group (see
    :func:`record_keys`)."""

    blocks: list[str]
    words: dict[str, dict[str, str]]
    members: dict[str, str]

    @property
    def counted(self) -> list[str]:
        """The digests persons are counted by (its words and groups), sorted."""
        digests = set(self.members.values())
        for by_word in self.words.values():
            digests.update(by_word.values())
        return sorted(digests)

    @property
    def stored(self) -> list[str]:
        """Every digest of the record, sorted and without repeats (its
        ``person_block_key`` rows)."""
        return sorted(set(self.blocks) | set(self.counted))

    def rows(self, screening_id: UUID) -> list[dict[str, Any]]:
        """The record's ``person_block_key`` rows, each counted key marked as such."""
        # A block and a counted key never share a digest (their keys' prefixes differ).
        return [
            {"digest": digest, "screening_id": screening_id, "counted": False}
            for digest in self.blocks
        ] + [
            {"digest": digest, "screening_id": screening_id, "counted": True}
            for digest in self.counted
        ]


def block_digests(features: PersonFeatures, digest: Digest) -> list[str]:
    """The record's blocking keys as keyed digests, sorted (stable for storage)."""
    return sorted({digest(key) for key in blocking_keys(features)})


def filed_and_probe_digests(
    features: PersonFeatures, digest: Digest
) -> tuple[list[str], list[str]]:
    """:func:`block_digests` and :func:`probe_digests` at once, each sorted."""
    filed, probes = filed_and_probing_keys(features)
    digested = {key: digest(key) for key in probes}
    return sorted({digested[key] for key in filed}), sorted(set(digested.values()))


def probe_digests(features: PersonFeatures, digest: Digest) -> list[str]:
    """The digests the record's candidates are looked up under
    (:func:`identification.person_index.domain.matching.probing_keys`), sorted."""
    return sorted({digest(key) for key in probing_keys(features)})


def record_keys(
    features: PersonFeatures, digest: Digest, *, blocks: Sequence[str] | None = None
) -> RecordKeys:
    """The digests a record stores: its blocks (``blocks`` when the caller has them
    already), and each word of its names in its nationality's group and in everyone's.
    The live path and the legacy import store exactly these."""
    words = {word for variant_words in record_words(features) for word in variant_words}
    groups = {group_of(features), EVERYONE}
    return RecordKeys(
        blocks=list(blocks) if blocks is not None else block_digests(features, digest),
        words={group: {word: digest(word_key(group, word)) for word in words} for group in groups},
        members={group: digest(member_key(group)) for group in groups},
    )


def member_key(group: str) -> str:
    """The clear form of the key every record of a group stores (only ever stored as
    its digest): the persons carrying it are the persons of the group."""
    return f"{MEMBER_KEY_PREFIX}{group}"


def name_u_from_counts(
    features: PersonFeatures,
    persons_with_word: Callable[[str], int],
    group_persons: int,
    persons: int,
    model: MatchModel = DEFAULT_MODEL,
) -> float | None:
    """How often two different persons share the record's name exactly (the matcher's
    ``name_u``), from counts of persons: ``persons_with_word(word)`` among the
    ``group_persons`` of the record's group (:func:`group_of`), ``persons`` in all.

    Words are independent only among persons of one nationality ("Nguyen" and "Thi" go
    together): the name's frequency among its nationality, times the nationality's share.
    The most common way the record writes its name counts; None for a record without a
    name. Smoothed towards the model's average by ``model.name_prior_persons``
    pseudo-persons, so that in a young index one person carrying the name does not make
    it common (and an exact name weigh nothing)."""
    share = (group_persons + 1) / (persons + 1) if group_of(features) != EVERYONE else 1.0
    estimates = [
        share * name_u_of_words([persons_with_word(word) for word in words], group_persons)
        for words in record_words(features)
    ]
    if not estimates:
        return None
    _, average = model.name.levels[Level.EXACT]
    prior = model.name_prior_persons
    return (persons * max(estimates) + prior * average) / (persons + prior)


def choose_candidates(
    digests: Sequence[str],
    members: Mapping[str, Sequence[str]],
    *,
    max_block_size: int,
    max_candidates: int,
) -> list[str]:
    """The records to compare with: those sharing a block with the record, blocks larger
    than ``max_block_size`` left out (as common as a stop word, they select nothing);
    past ``max_candidates``, those sharing the most blocks, the smaller blocks breaking
    ties, then the order of ``digests`` and of each block's ``members`` (the order
    records were filed)."""
    shared: dict[str, float] = {}
    for key in digests:
        block = members.get(key, ())
        if len(block) > max_block_size:
            continue
        # Each block shared counts one; among records sharing as many, those sharing
        # specific blocks (few records: "Samnang" born in 2000) before common words.
        weight = 1 + 1 / (len(block) + 1)
        for record_id in block:
            shared[record_id] = shared.get(record_id, 0.0) + weight
    if len(shared) > max_candidates:
        return heapq.nlargest(max_candidates, shared, key=shared.__getitem__)
    return list(shared)

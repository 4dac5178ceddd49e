"""Is this record the same person as that one? Fellegi-Sunter weights over names, birth
date (with its precision), sex, nationality and place, and the keys that block
candidates so that the cost grows with the number of records, not its square.

Pure: no database, no keys. :mod:`identification.person_index` applies it.

Each field's comparison falls into a level; a level carries ``log2(m/u)``: ``m`` is how
often two records of the same person show that level, ``u`` how often two records of
different persons do. The weights add up; a pair at or above ``upper`` is linked
automatically, between ``lower`` and ``upper`` it goes to a human reviewer, below it is
a different person. The m and u values below were set from what the source report says
of the agencies' records (birth dates often year-only or estimated, names romanised by
many hands, the same person met in several provinces) and tuned on the synthetic data
of :mod:`identification.synthetic` (a seed other than the benchmark's).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from itertools import combinations, permutations

import jellyfish
from rapidfuzz import fuzz

from identification.domain import BirthDatePrecision
from identification.names import NameVariant, run_together, skeleton

# An estimated age is rarely off by more than this many years.
ESTIMATE_TOLERANCE_YEARS = 2


class Level(StrEnum):
    EXACT = "exact"
    CLOSE = "close"
    SIMILAR = "similar"
    YEAR = "year"
    AGREE = "agree"
    DIFFERENT = "different"
    MISSING = "missing"


@dataclass(frozen=True)
class BirthInfo:
    """What is known of a birth date: a day, a month, a year, or a year estimated from
    an apparent age (``tolerance`` years either way)."""

    year: int
    month: int | None = None
    day: int | None = None
    tolerance: int = 0

    @classmethod
    def of(
        cls,
        birth_date: date | None,
        precision: str | None,
        *,
        estimated_age: int | None = None,
        on: date | None = None,
    ) -> BirthInfo | None:
        """From a screening's fields; None when nothing is known."""
        if birth_date is not None:
            kind = BirthDatePrecision(precision or BirthDatePrecision.DAY)
            if kind is BirthDatePrecision.YEAR:
                return cls(birth_date.year)
            if kind is BirthDatePrecision.MONTH:
                return cls(birth_date.year, birth_date.month)
            return cls(birth_date.year, birth_date.month, birth_date.day)
        if estimated_age is not None and on is not None:
            return cls(on.year - estimated_age, tolerance=ESTIMATE_TOLERANCE_YEARS)
        return None

    @property
    def years(self) -> range:
        return range(self.year - self.tolerance, self.year + self.tolerance + 1)


@dataclass(frozen=True)
class PersonFeatures:
    """What the matcher compares of one record (decrypted, in memory only)."""

    names: tuple[NameVariant, ...]
    sex: str | None = None
    birth: BirthInfo | None = None
    nationality: str | None = None
    province: str | None = None


@dataclass(frozen=True)
class FieldWeights:
    """``(m, u)`` per level of one field; a missing value weighs nothing."""

    levels: dict[Level, tuple[float, float]]

    def weight(self, level: Level) -> float:
        if level is Level.MISSING:
            return 0.0
        m, u = self.levels[level]
        return math.log2(m / u)


@dataclass(frozen=True)
class MatchModel:
    """The weights and thresholds of the matcher."""

    name: FieldWeights = FieldWeights(
        {
            Level.EXACT: (0.55, 0.001),
            Level.CLOSE: (0.30, 0.005),
            Level.SIMILAR: (0.10, 0.05),
            Level.DIFFERENT: (0.05, 0.974),
        }
    )
    birth: FieldWeights = FieldWeights(
        {
            Level.EXACT: (0.70, 0.0003),
            Level.CLOSE: (0.10, 0.003),
            Level.YEAR: (0.30, 0.03),
            Level.DIFFERENT: (0.05, 0.95),
        }
    )
    sex: FieldWeights = FieldWeights({Level.AGREE: (0.97, 0.55), Level.DIFFERENT: (0.03, 0.45)})
    nationality: FieldWeights = FieldWeights(
        {Level.AGREE: (0.97, 0.6), Level.DIFFERENT: (0.03, 0.4)}
    )
    # Victims are met far from home (border posts, raids): place is weak evidence.
    province: FieldWeights = FieldWeights(
        {Level.AGREE: (0.45, 0.06), Level.DIFFERENT: (0.55, 0.94)}
    )
    close_name: float = 0.88
    similar_name: float = 0.75
    upper: float = 10.0
    lower: float = 5.0
    # Merging two known persons needs stronger evidence than joining one: a wrong merge
    # chains namesakes together.
    merge: float = 14.0


DEFAULT_MODEL = MatchModel()


@dataclass(frozen=True)
class Comparison:
    """The evidence for one pair: each field's level and weight, and their sum."""

    levels: dict[str, Level]
    weights: dict[str, float]
    name_similarity: float

    @property
    def total(self) -> float:
        return sum(self.weights.values())


def compare(a: PersonFeatures, b: PersonFeatures, model: MatchModel = DEFAULT_MODEL) -> Comparison:
    """The Fellegi-Sunter comparison of two records."""
    similarity = name_similarity(a.names, b.names)
    if similarity >= 0.999:
        name_level = Level.EXACT
    elif similarity >= model.close_name:
        name_level = Level.CLOSE
    elif similarity >= model.similar_name:
        name_level = Level.SIMILAR
    else:
        name_level = Level.DIFFERENT
    levels = {
        "name": name_level,
        "birth_date": birth_level(a.birth, b.birth),
        "sex": _equality(a.sex, b.sex, unknown="unknown"),
        "nationality": _equality(a.nationality, b.nationality),
        "province": _equality(a.province, b.province),
    }
    weights = {
        "name": model.name.weight(levels["name"]),
        "birth_date": model.birth.weight(levels["birth_date"]),
        "sex": model.sex.weight(levels["sex"]),
        "nationality": model.nationality.weight(levels["nationality"]),
        "province": model.province.weight(levels["province"]),
    }
    return Comparison(levels, weights, round(similarity, 4))


def _equality(a: str | None, b: str | None, *, unknown: str | None = None) -> Level:
    if a is None or b is None or a == unknown or b == unknown:
        return Level.MISSING
    return Level.AGREE if a == b else Level.DIFFERENT


@lru_cache(maxsize=65536)
def _orders(variant: NameVariant) -> frozenset[str]:
    # Family name first or last, or any order of up to three words: all are the name.
    words = variant.words
    if len(words) <= 3:
        return frozenset(run_together(order) for order in permutations(words))
    return frozenset(run_together(order) for order in (words, reversed(words), sorted(words)))


def name_similarity(a: Sequence[NameVariant], b: Sequence[NameVariant]) -> float:
    """The best similarity (0-1) between any way ``a`` was written and any of ``b``:
    the Indel ratio (rapidfuzz) of the words run together in any order, so that "Sok
    Kha Chan" meets "Chan Sokha"; Jaro-Winkler (jellyfish) of the same, which forgives a
    typo late in the name more than one early; and the token-sort ratio, for names
    whose words are all there but a word apart."""
    best = 0.0
    for first in a:
        first_orders = _orders(first)
        first_sorted = " ".join(sorted(first.words))
        for second in b:
            second_orders = _orders(second)
            if first_orders & second_orders:
                return 1.0
            second_sorted = " ".join(sorted(second.words))
            score = fuzz.token_sort_ratio(first_sorted, second_sorted) / 100
            joined = run_together(first.words)
            for order in second_orders:
                score = max(
                    score,
                    fuzz.ratio(joined, order) / 100,
                    jellyfish.jaro_winkler_similarity(joined, order) - 0.05,
                )
            best = max(best, score)
    return best


def birth_level(a: BirthInfo | None, b: BirthInfo | None) -> Level:
    """How two birth dates agree, given how much of each is known."""
    if a is None or b is None:
        return Level.MISSING
    if a.day is not None and b.day is not None and a.month is not None and b.month is not None:
        if (a.year, a.month, a.day) == (b.year, b.month, b.day):
            return Level.EXACT
        if _one_slip(a, b):
            return Level.CLOSE
        return Level.DIFFERENT
    if set(a.years) & set(b.years):
        if a.month is not None and b.month is not None and a.month != b.month:
            return Level.DIFFERENT
        return Level.YEAR
    return Level.DIFFERENT


def _one_slip(a: BirthInfo, b: BirthInfo) -> bool:
    """A typist's slip: day and month swapped, the day or month mistyped, or the year
    off by one with the rest equal."""
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return True
    if a.year == b.year:
        return a.month == b.month or a.day == b.day
    return abs(a.year - b.year) == 1 and (a.month, a.day) == (b.month, b.day)


def blocking_keys(features: PersonFeatures) -> set[str]:
    """The keys under which the record is filed: two records are compared only when
    they share one. Built from the consonant skeletons of the names, so transliteration
    variants share keys: the full name in any order; each pair of words (a word missing
    or added); each word with a birth year (a typo in another word)."""
    keys: set[str] = set()
    years = features.birth.years if features.birth is not None else range(0)
    for variant in features.names:
        skeletons = [s for s in variant.skeletons if s]
        if not skeletons:
            continue
        keys.add("full:" + "|".join(sorted(skeletons)))
        for order in _orders(variant):
            keys.add("joined:" + skeleton(order))
        for first, second in combinations(sorted(skeletons), 2):
            keys.add(f"pair:{first}|{second}")
        for word in skeletons:
            for year in years:
                keys.add(f"year:{word}:{year}")
    return keys


@dataclass
class Candidate:
    """A known record to compare with: its id, its person, its features."""

    record_id: str
    person_id: str
    features: PersonFeatures


@dataclass
class MatchDecision:
    """What to do with a new record: join ``person_id`` (auto-link) or start a new person;
    the pairs to put before a reviewer, best first."""

    person_id: str | None
    best: Comparison | None
    linked_to_record: str | None = None
    review: list[tuple[Candidate, Comparison]] = field(default_factory=list)
    # Other persons this record also links above the threshold: the record shows they
    # are one person, so they are merged into ``person_id``.
    merged: list[tuple[Candidate, Comparison]] = field(default_factory=list)


MAX_REVIEW_PAIRS = 3


def decide(
    features: PersonFeatures, candidates: Iterable[Candidate], model: MatchModel = DEFAULT_MODEL
) -> MatchDecision:
    """Compare with every candidate; a person's score is its best record's. The best
    person at or above ``upper`` is linked; persons between the thresholds are reviewed."""
    per_person: dict[str, tuple[Candidate, Comparison]] = {}
    for candidate in candidates:
        comparison = compare(features, candidate.features, model)
        held = per_person.get(candidate.person_id)
        if held is None or comparison.total > held[1].total:
            per_person[candidate.person_id] = (candidate, comparison)
    ranked = sorted(per_person.values(), key=lambda pair: pair[1].total, reverse=True)
    if ranked and ranked[0][1].total >= model.upper:
        best_candidate, best = ranked[0]
        merged = [pair for pair in ranked[1:] if pair[1].total >= model.merge]
        return MatchDecision(
            best_candidate.person_id, best, best_candidate.record_id, merged=merged
        )
    review = [pair for pair in ranked if pair[1].total >= model.lower][:MAX_REVIEW_PAIRS]
    return MatchDecision(None, ranked[0][1] if ranked else None, review=review)

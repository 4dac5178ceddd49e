"""Is this record the same person as that one? Fellegi-Sunter weights over names, birth
date (with its precision), sex, nationality and place, and over the case the agency
recorded (the day it met the person, the exploitation, the country it took place in);
and the keys that block candidates so that the cost grows with the number of records,
not its square.

Pure: no database, no keys. :mod:`identification.person_index.domain.index` applies it.

Each field's comparison falls into a level; a level carries ``log2(m/u)``: ``m`` is how
often two records of the same person show that level, ``u`` how often two records of
different persons do. The weights add up; a pair at or above ``upper`` is linked
automatically, between ``lower`` and ``upper`` it goes to a human reviewer, below it is
a different person. The m values are how often the records of one person agree at each
level, the u values how often two records drawn at random do; both were measured on the
synthetic data of :mod:`identification.person_index.synthetic` (a training seed, never an evaluation
one: ``bench/person_matching.py --estimate``), which models what the source report says
of the agencies' records (birth dates often year-only or estimated, names romanised by
many hands, the same person met in several provinces). The thresholds are in the same
bits: ``upper`` 15 is about 32,000 to 1 for the pair against chance agreement.

An exact name's u is the name's own frequency when the caller knows it (``name_u``: a
common name is weak evidence, a rare one strong), and a close name's weight moves with
it, within bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property, lru_cache
from itertools import combinations, permutations

from rapidfuzz.distance import OSA, JaroWinkler

from identification.domain.ages import BirthDatePrecision
from identification.person_index.domain.conflicts import Conflict, births_apart, conflicts_between
from identification.person_index.domain.names import NameVariant, run_together, skeleton

# An estimated age is rarely off by more than this many years.
ESTIMATE_TOLERANCE_YEARS = 2


class Level(StrEnum):
    EXACT = "exact"
    CLOSE = "close"
    SIMILAR = "similar"
    WEAK = "weak"
    YEAR = "year"
    ESTIMATE = "estimate"
    APART = "years_apart"
    # Two whole dates (day, month, year) more than two slips apart: a clerk who wrote the
    # whole date down rarely wrote another person's.
    DATES_DIFFER = "dates_differ"
    SAME_ENCOUNTER = "same_encounter"
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
    # The day the agency met the person: the agencies of one referral chain meet a
    # person within days or weeks of each other.
    met: date | None = None
    # The case as the agency recorded it: the exploitation (Palermo purposes) and the
    # country it took place in. Agencies that see one person mostly see one case.
    purposes: frozenset[str] = frozenset()
    exploited_in: str | None = None
    # The organisation that recorded it: one agency's records of one day are often
    # different members of one group (a raid, a mass deportation).
    agency: str | None = None


@dataclass(frozen=True)
class FieldWeights:
    """``(m, u)`` per level of one field; a missing value weighs nothing."""

    levels: dict[Level, tuple[float, float]]

    def weight(self, level: Level) -> float:
        return self._weights[level]

    @cached_property
    def _weights(self) -> dict[Level, float]:
        # Every pair compared asks for these: the logarithms once.
        weights = {level: math.log2(m / u) for level, (m, u) in self.levels.items()}
        return {**weights, Level.MISSING: 0.0}


@dataclass(frozen=True)
class MatchModel:
    """The weights and thresholds of the matcher."""

    # m: how often the records of one person show the level; u: how often two records
    # drawn at random (different persons) do. Both measured on generated records
    # (identification.person_index.synthetic, a seed other than the benchmark's; see the bench's
    # --estimate) and rounded; a real index should re-estimate them from its own pairs.
    name: FieldWeights = FieldWeights(
        {
            Level.EXACT: (0.67, 0.000055),
            Level.CLOSE: (0.23, 0.00023),
            Level.SIMILAR: (0.074, 0.0011),
            Level.WEAK: (0.019, 0.0084),
            Level.DIFFERENT: (0.006, 0.990),
        }
    )
    birth: FieldWeights = FieldWeights(
        {
            Level.EXACT: (0.38, 0.00004),
            Level.CLOSE: (0.097, 0.00089),
            Level.SIMILAR: (0.0036, 0.0093),
            Level.YEAR: (0.22, 0.0063),
            Level.ESTIMATE: (0.12, 0.0162),
            Level.DIFFERENT: (0.0092, 0.032),
            Level.DATES_DIFFER: (0.00045, 0.033),
            # Never seen for one person in the generated records (m 0): floored at the
            # rate of slips the generator does not make (a wrong century, a form filled
            # in for a relative). A pair this far apart also never links on its own
            # (identity_conflicts).
            Level.APART: (0.0005, 0.74),
        }
    )
    # A record's sex or nationality rarely differs for one person (a clerk's slip).
    sex: FieldWeights = FieldWeights(
        {Level.AGREE: (0.986, 0.4923), Level.DIFFERENT: (0.002, 0.493)}
    )
    nationality: FieldWeights = FieldWeights(
        {Level.AGREE: (0.958, 0.579), Level.DIFFERENT: (0.005, 0.38)}
    )
    # Victims are met far from home (border posts, raids): place is weak evidence.
    province: FieldWeights = FieldWeights(
        {Level.AGREE: (0.38, 0.04), Level.DIFFERENT: (0.62, 0.96)}
    )
    # Encounter dates: the same day, within a week, within two months, within the
    # 400 days an agency may take to record a person (aftercare, a late registration),
    # or further apart (another episode: met again).
    met: FieldWeights = FieldWeights(
        {
            Level.EXACT: (0.133, 0.00073),
            Level.CLOSE: (0.243, 0.0067),
            Level.SIMILAR: (0.325, 0.0488),
            Level.WEAK: (0.263, 0.278),
            Level.DIFFERENT: (0.036, 0.666),
            # Shared by every member of a group met together: no evidence either way.
            Level.SAME_ENCOUNTER: (1.0, 1.0),
        }
    )
    purpose: FieldWeights = FieldWeights(
        {Level.AGREE: (0.635, 0.187), Level.DIFFERENT: (0.100, 0.556)}
    )
    exploited_in: FieldWeights = FieldWeights(
        {Level.AGREE: (0.481, 0.137), Level.DIFFERENT: (0.131, 0.482)}
    )
    # Frequency of a name (Fellegi-Sunter u per value): prior weight and the cap of the
    # weight a very rare name can earn.
    name_prior_records: int = 1000
    # The word-based estimate (person_keys.name_u_from_counts) is pulled towards the
    # average by this many pseudo-persons: a young index does not take every name for
    # common (one known person carrying it) nor for rare.
    name_prior_persons: int = 100
    max_name_weight: float = 16.0
    close_name: float = 0.92
    similar_name: float = 0.88
    weak_name: float = 0.75
    upper: float = 15.0
    lower: float = 8.0
    # The index size the thresholds were set for (10,000 generated records).
    reference_persons: int = 5000
    threshold_growth: float = 1.6
    # Merging two known persons needs stronger evidence than joining one: a wrong merge
    # chains namesakes together.
    merge: float = 19.0
    # A record joins a person automatically only if it is not evidence against any of
    # the person's records (a score below this).
    cluster_floor: float = 4.0


DEFAULT_MODEL = MatchModel()


@dataclass(frozen=True)
class Comparison:
    """The evidence for one pair: each field's level and weight, and their sum; and
    what keeps the pair apart whatever the sum
    (:mod:`identification.person_index.domain.conflicts`)."""

    levels: dict[str, Level]
    weights: dict[str, float]
    name_similarity: float
    conflicts: frozenset[Conflict] = frozenset()

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    @property
    def total_but_birth(self) -> float:
        """The evidence the birth dates were set against."""
        return self.total - self.weights.get("birth_date", 0.0)


def compare(
    a: PersonFeatures,
    b: PersonFeatures,
    model: MatchModel = DEFAULT_MODEL,
    *,
    name_u: float | None = None,
) -> Comparison:
    """The Fellegi-Sunter comparison of two records. ``name_u``: how often two different
    persons share exactly ``a``'s name (see :func:`name_u_of`); the model's average
    when None."""
    comparison = compare_within_reach(a, b, model, name_u=name_u, reach=-math.inf)
    assert comparison is not None  # every pair reaches minus infinity
    return comparison


def compare_within_reach(
    a: PersonFeatures,
    b: PersonFeatures,
    model: MatchModel = DEFAULT_MODEL,
    *,
    name_u: float | None,
    reach: float,
    conflict_reach: float = math.inf,
) -> Comparison | None:
    """:func:`compare`, or None when the pair cannot score ``reach`` even with the
    names the same: the names, most of the cost, are then not compared. A pair with a
    conflict (a child and an adult, births years apart) is compared while its evidence
    besides the birth date could reach ``conflict_reach``: a reviewer is shown it."""
    one_encounter = same_encounter(a, b)
    levels = (
        birth_level(a.birth, b.birth),
        _equality(a.sex, b.sex, unknown="unknown"),
        _equality(a.nationality, b.nationality),
        _equality(a.province, b.province),
        Level.SAME_ENCOUNTER if one_encounter else encounter_level(a.met, b.met),
        _overlap(a.purposes, b.purposes),
        _equality(a.exploited_in, b.exploited_in),
    )
    # Every candidate of every record comes here, most of them strangers: the weights
    # are summed before anything else is built.
    weights = [
        field_weights.weight(level)
        for field_weights, level in zip(_case_fields(model), levels, strict=True)
    ]
    if one_encounter:
        # Members of one group share the day, the place and the case: what they share
        # says nothing of which member a record is.
        weights = [
            min(weight, 0.0) if name in _GROUP_SHARED else weight
            for name, weight in zip(FIELDS, weights, strict=True)
        ]
    conflicts = (
        conflicts_between(a.birth, a.met, b.birth, b.met)
        if levels[0] not in (Level.EXACT, Level.MISSING)  # one birth: one age
        else frozenset()
    )
    if one_encounter and levels[0] is not Level.EXACT:
        # Namesakes met together are two people, unless the whole birth date is theirs
        # too: then the agency recorded one person twice.
        conflicts |= {Conflict.MET_TOGETHER}
    best_name = _name_weight(Level.EXACT, model, name_u)
    if sum(weights) + best_name < reach and (
        not conflicts or sum(weights[1:]) + best_name < conflict_reach
    ):
        return None
    similarity = name_similarity(a.names, b.names)
    if similarity >= 0.999:
        name_level = Level.EXACT
    elif similarity >= model.close_name:
        name_level = Level.CLOSE
    elif similarity >= model.similar_name:
        name_level = Level.SIMILAR
    elif similarity >= model.weak_name:
        name_level = Level.WEAK
    else:
        name_level = Level.DIFFERENT
    return Comparison(
        {"name": name_level, **dict(zip(FIELDS, levels, strict=True))},
        {
            "name": _name_weight(name_level, model, name_u),
            **dict(zip(FIELDS, weights, strict=True)),
        },
        round(similarity, 4),
        conflicts,
    )


# The fields one group's members share (:func:`same_encounter`).
_GROUP_SHARED = frozenset({"province", "encounter_date", "purpose", "exploitation_country"})


def same_encounter(a: PersonFeatures, b: PersonFeatures) -> bool:
    """Whether two records are of one agency's encounter on one day: a raid or a mass
    deportation meets many people at once, and its records are mostly of different
    persons."""
    return a.agency is not None and a.agency == b.agency and a.met is not None and a.met == b.met


# The fields compared besides the name, in the order of :func:`_case_fields`.
FIELDS = (
    "birth_date",
    "sex",
    "nationality",
    "province",
    "encounter_date",
    "purpose",
    "exploitation_country",
)


def _case_fields(model: MatchModel) -> tuple[FieldWeights, ...]:
    return (
        model.birth,
        model.sex,
        model.nationality,
        model.province,
        model.met,
        model.purpose,
        model.exploited_in,
    )


# How far a name's own frequency moves the weight of a close (not exact) agreement: a
# slip in a common name ("Nguyen Thi Lan") is as common as the name, but the frequency
# of a misspelt name says little (it was never seen), so the move is bounded.
CLOSE_NAME_SHIFT = (-6.0, 1.0)


def _name_weight(level: Level, model: MatchModel, name_u: float | None) -> float:
    if name_u is None or level not in (Level.EXACT, Level.CLOSE):
        return model.name.weight(level)
    m, average = model.name.levels[Level.EXACT]
    if level is Level.EXACT:
        return min(math.log2(m / name_u), model.max_name_weight)
    low, high = CLOSE_NAME_SHIFT
    return model.name.weight(level) + max(low, min(high, math.log2(average / name_u)))


def name_u_of(records_with_name: int, records: int, model: MatchModel = DEFAULT_MODEL) -> float:
    """The u-probability of exact agreement on one particular name, from its frequency
    among the ``records`` known: a rare name is strong evidence, a common one ("Nguyen
    Thi Lan") weak. Smoothed towards the model's average u by ``name_prior_records``
    pseudo-records, so that a young index does not take every name for rare."""
    _, average = model.name.levels[Level.EXACT]
    prior = model.name_prior_records
    return (records_with_name + prior * average) / (records + prior)


def name_u_of_words(persons_with_word: Sequence[int], persons: int) -> float:
    """The u-probability of exact agreement on a name, from how many of the ``persons``
    known carry each of its words (family name, given names), taken as independent:
    "Chan Sopheakmony" is rare though Chan is common, and a name not seen whole before
    still has a frequency. Each count is smoothed by one (a word never seen)."""
    u = 1.0
    for count in persons_with_word:
        u *= (count + 1) / (persons + 1)
    return u


def _overlap(a: frozenset[str], b: frozenset[str]) -> Level:
    # One agency may record two purposes (forced labour and begging), another one.
    if not a or not b:
        return Level.MISSING
    return Level.AGREE if a & b else Level.DIFFERENT


def _equality(a: str | None, b: str | None, *, unknown: str | None = None) -> Level:
    if a is None or b is None or a == unknown or b == unknown:
        return Level.MISSING
    return Level.AGREE if a == b else Level.DIFFERENT


@lru_cache(maxsize=65536)
def _orders(variant: NameVariant) -> frozenset[str]:
    # Family name first or last, or any order of up to three words: all are the name.
    words = variant.words
    join = _joiner(variant.plain)
    if len(words) <= 3:
        return frozenset(join(order) for order in permutations(words))
    return frozenset(join(order) for order in (words, reversed(words), sorted(words)))


def _joiner(plain: bool) -> Callable[[Iterable[str]], str]:
    # Phonetic forms drop a letter doubled at a join ("Sok Kha": soka); a plain spelling
    # keeps its letters ("Tho Nguyen" is not "Thong Uyen").
    return "".join if plain else run_together


def name_similarity(a: Sequence[NameVariant], b: Sequence[NameVariant]) -> float:
    """The best similarity (0-1) between any way ``a`` was written and any of ``b``
    (:func:`variant_similarity`)."""
    return _names_similarity(tuple(a), tuple(b))


@lru_cache(maxsize=1 << 20)
def _names_similarity(a: tuple[NameVariant, ...], b: tuple[NameVariant, ...]) -> float:
    # Distinct names are far fewer than records: most pairs of names come back.
    return max((variant_similarity(first, second) for first in a for second in b), default=0.0)


# Each word left unmatched (a Vietnamese middle name left out) costs this factor.
_MISSING_WORD = 0.97
# The most a name with a letterless part can agree with another (a weak agreement).
INCOMPLETE_NAME = 0.8


def _completed(variant: NameVariant) -> NameVariant:
    return NameVariant(variant.words, variant.plain)


@lru_cache(maxsize=262144)
def variant_similarity(first: NameVariant, second: NameVariant) -> float:
    """1.0 for the same words in any order, written apart or together ("Sok Kha Chan",
    "Chan Sokha"); otherwise the words aligned one to one, in any order, and the
    name scored by its worst-matched word (Jaro-Winkler, rapidfuzz): one wrong word
    (another family name) makes another name, however long the rest. Names are few
    and repeat, so the result is cached."""
    if not (first.complete and second.complete):
        # A part written without a letter agrees with nothing: at most the rest of the
        # name, weakly (as one word against several).
        return min(variant_similarity(_completed(first), _completed(second)), INCOMPLETE_NAME)
    if first.plain != second.plain:
        # A Vietnamese spelling against a name in Khmer script, or a record without
        # nationality: compare as sounds.
        first, second = first.phonetic, second.phonetic
    if _orders(first) & _orders(second):
        return 1.0
    plain = first.plain
    short, long = sorted((first.words, second.words), key=len)
    return max(_aligned(short, other, plain) for other in _segmentations(long, len(short), plain))


def _segmentations(
    words: tuple[str, ...], fewest: int, plain: bool = False
) -> list[tuple[str, ...]]:
    # A name split or run together ("Sok Kha" / "Sokha"): the longer name also with a
    # pair of neighbours joined, never below the other name's number of words.
    join = _joiner(plain)
    joined = [
        (*words[:at], join(words[at : at + 2]), *words[at + 2 :])
        for at in range(len(words) - 1)
        if len(words) > fewest
    ]
    return [words, *joined]


def _aligned(first: tuple[str, ...], second: tuple[str, ...], plain: bool = False) -> float:
    short, long = sorted((first, second), key=len)
    if not short:
        return 0.0
    # Each pair of words compared once; the orders only pick from the table.
    table = [[_word_similarity(word, match, plain) for match in long[:6]] for word in short]
    best = _best_assignment(table)
    missing = len(long) - len(short)
    if missing and len(short) < 2:
        return best * 0.8  # one word against several: weak evidence whatever the word
    return best * _MISSING_WORD**missing


def _best_assignment(table: list[list[float]]) -> float:
    """The best, over one-to-one assignments of rows to columns, of the worst cell."""
    if len(table) == 1:
        return max(table[0])
    if len(table) == 2 and len(table[0]) == 2:  # most names: given and family
        (a, b), (c, d) = table
        return max(min(a, d), min(b, c))
    rows = range(len(table))
    return max(
        min(table[row][column] for row, column in zip(rows, chosen, strict=True))
        for chosen in permutations(range(len(table[0])), len(table))
    )


# Two words with the same consonants differ in vowels only ("Em" / "Im", "Kim" / "Keem",
# a vowel dropped by a typist): romanisations of Khmer vowels vary most.
SAME_CONSONANTS = 0.88


# One typing slip (a letter left out, added, changed, or two swapped: optimal string
# alignment distance 1) in a word of four letters or more is the same word mistyped:
# Jaro-Winkler alone scores a slip near the start of a word ("Bunthoeun" / "Bumthoeun")
# as low as another name. A shorter word (two or three letters) one slip from another
# may be another name ("Sok" / "Sek") or the same mistyped ("Kim" / "iKm"): similar,
# not close.
ONE_SLIP = 0.93
ONE_SLIP_LENGTH = 4
SHORT_SLIP = 0.88


@lru_cache(maxsize=262144)
def _word_similarity(first: str, second: str, plain: bool = False) -> float:
    if first == second:
        return 1.0
    similarity = float(JaroWinkler.similarity(first, second))
    if not plain and skeleton(first) == skeleton(second):
        similarity = max(similarity, SAME_CONSONANTS)
    shortest = min(len(first), len(second))
    if similarity < ONE_SLIP and shortest >= 2 and OSA.distance(first, second) == 1:
        similarity = max(similarity, ONE_SLIP if shortest >= ONE_SLIP_LENGTH else SHORT_SLIP)
    return similarity


# Days apart at most for each level of :func:`encounter_level`, nearest first.
ENCOUNTER_LEVELS = ((0, Level.EXACT), (7, Level.CLOSE), (60, Level.SIMILAR), (400, Level.WEAK))


def encounter_level(a: date | None, b: date | None) -> Level:
    """How close two encounters are: the same day, within a week, two months, 400
    days, or further apart."""
    if a is None or b is None:
        return Level.MISSING
    apart = abs((a - b).days)
    return next((level for days, level in ENCOUNTER_LEVELS if apart <= days), Level.DIFFERENT)


def birth_level(a: BirthInfo | None, b: BirthInfo | None) -> Level:
    """How two birth dates agree, given how much of each is known: the whole date, a
    typist's slip in it, two slips (each record mistyped once, in another place), the
    same year (one of them a year only), years within an estimated age's range, or
    different. (A year alone one slip from another is not evidence: two years of birth
    drawn at random often are.) Different dates years apart, beyond what a slip
    explains, are :attr:`Level.APART`: strong evidence of two people."""
    if a is None or b is None:
        return Level.MISSING
    level = _birth_agreement(a, b)
    if level in (Level.DIFFERENT, Level.DATES_DIFFER) and births_apart(a, b):
        return Level.APART
    return level


def _birth_agreement(a: BirthInfo, b: BirthInfo) -> Level:
    if a.day is not None and b.day is not None and a.month is not None and b.month is not None:
        slips = _slips(a, b)
        if slips == 0:
            return Level.EXACT
        if slips == 1:
            return Level.CLOSE
        if slips == 2:
            return Level.SIMILAR
        return Level.DATES_DIFFER
    if a.month is not None and b.month is not None and a.month != b.month:
        return Level.DIFFERENT
    if a.tolerance == 0 and b.tolerance == 0:
        return Level.YEAR if a.year == b.year else Level.DIFFERENT
    if set(a.years) & set(b.years):
        return Level.ESTIMATE
    return Level.DIFFERENT


def _slips(a: BirthInfo, b: BirthInfo) -> int | None:
    """How many typist's slips make one full date of the other: each of day, month and
    year mistyped by one key (a digit wrong, two digits swapped, or one off) counts one,
    day and month swapped counts one; None when it takes more than two slips or other
    changes."""
    fewest: int | None = None
    for month, day, swapped in ((b.month, b.day, 0), (b.day, b.month, 1)):
        differing = [
            (x, y) for x, y in ((a.year, b.year), (a.month, month), (a.day, day)) if x != y
        ]
        # Most pairs differ everywhere: more than two slips is as good as none.
        if len(differing) + swapped <= 2 and all(_one_key(x, y) for x, y in differing):
            slips = len(differing) + swapped
            fewest = slips if fewest is None else min(fewest, slips)
    return fewest


def _one_key(first: int | None, second: int | None) -> bool:
    if first is None or second is None:
        return False
    if abs(first - second) == 1:
        return True
    x, y = f"{first:02d}", f"{second:02d}"
    if len(x) != len(y):
        return False
    wrong = [i for i in range(len(x)) if x[i] != y[i]]
    if len(wrong) == 1:
        return True
    # Two neighbouring digits swapped ("1987" / "1978").
    first_wrong, last_wrong = wrong[0], wrong[-1]
    return (
        len(wrong) == 2
        and last_wrong == first_wrong + 1
        and (x[first_wrong], x[last_wrong]) == (y[last_wrong], y[first_wrong])
    )


def name_keys(features: PersonFeatures) -> set[str]:
    """The record's full names in phonetic form, word order ignored: what "the same
    name" means when counting how common a name is."""
    return {" ".join(sorted(variant.words)) for variant in features.names}


def blocking_keys(features: PersonFeatures) -> set[str]:
    """The keys under which the record is filed: two records are compared only when
    they share one. Built from the consonant skeletons of the names, so transliteration
    variants share keys: the full name in any order; each pair of words (a word missing
    or added); each word with a birth year (a typo in another word); each word with the
    period of the encounter (a referral chain records a person within weeks: a typo in
    another word, no birth date); each word of two consonants or more, alone or joined
    with its neighbour, with the first letter of another word (a typo in that word, no
    birth date to fall back on)."""
    return _keys(features, _encounter_periods(features.met, around=0))


def probing_keys(features: PersonFeatures) -> set[str]:
    """The keys the record's candidates are looked up under: its own
    (:func:`blocking_keys`), with the periods before and after its encounter's, so that
    an encounter a few days away in the next period is found, and counted once."""
    return _keys(features, _encounter_periods(features.met, around=1))


def filed_and_probing_keys(features: PersonFeatures) -> tuple[set[str], set[str]]:
    """:func:`blocking_keys` and :func:`probing_keys` at once (the names' keys are
    built once: an import computes both for every row)."""
    probes = probing_keys(features)
    own = _encounter_periods(features.met, around=0)
    other_periods = {f":{period}" for period in _encounter_periods(features.met, around=1)}
    other_periods -= {f":{period}" for period in own}
    filed = {
        key
        for key in probes
        if not (key.startswith("met:") and key[key.rindex(":") :] in other_periods)
    }
    return filed, probes


# Encounters are filed by periods of this many days.
ENCOUNTER_PERIOD_DAYS = 30


def _encounter_periods(met: date | None, *, around: int) -> range:
    if met is None:
        return range(0)
    period = met.toordinal() // ENCOUNTER_PERIOD_DAYS
    return range(period - around, period + around + 1)


def _keys(features: PersonFeatures, periods: range) -> set[str]:
    keys: set[str] = set()
    years = features.birth.years if features.birth is not None else range(0)
    for variant in features.names:
        skeletons = [s for s in variant.skeletons if s]
        if not skeletons:
            continue
        keys.add("full:" + "|".join(sorted(skeletons)))
        for order in _orders(variant.phonetic):
            keys.add("joined:" + skeleton(order))
        for first, second in combinations(sorted(skeletons), 2):
            keys.add(f"pair:{first}|{second}")
        for word in skeletons:
            for year in years:
                keys.add(f"year:{word}:{year}")
            for period in periods:
                keys.add(f"met:{word}:{period}")
        keys.update(_initial_keys(variant.phonetic.words))
    return keys


def _initial_keys(words: tuple[str, ...]) -> set[str]:
    keys: set[str] = set()
    for segmented in _segmentations(words, 1):
        skeletons = [skeleton(word) for word in segmented]
        for at, word in enumerate(skeletons):
            if len(word) < 2:
                continue  # one consonant and an initial select half the index
            for other_at, other in enumerate(skeletons):
                if other_at != at and other:
                    keys.add(f"initial:{word}|{other[0]}")
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


def threshold_shift(persons: int | None, model: MatchModel = DEFAULT_MODEL) -> float:
    """How many bits the thresholds rise for an index of ``persons``: the weights say
    how much likelier a pair's agreement is for one person than by chance, and the
    chance that some stranger agrees as well grows with the number of strangers (ten
    times the persons, ten times the near-namesakes). The thresholds were set for
    ``model.reference_persons``; a smaller index keeps them (never lowered). Measured on
    generated sets of 10,000 to 100,000 records, precision holds only if they rise
    faster than the bare count (``threshold_growth`` bits per doubling): near-namesakes
    crowd the blocks faster than the index grows."""
    if persons is None or persons <= model.reference_persons:
        return 0.0
    return model.threshold_growth * math.log2(persons / model.reference_persons)


def _fits_cluster(
    features: PersonFeatures, members: Sequence[Candidate], model: MatchModel
) -> bool:
    for member in members:
        comparison = compare(features, member.features, model)
        if comparison.conflicts or comparison.total < model.cluster_floor:
            return False
    return True


def reviewable(comparison: Comparison, *, lower: float, upper: float) -> bool:
    """Whether a reviewer should see the pair: its evidence reaches the review
    threshold; or, the birth dates set aside, it would have been linked (births years
    apart) or reviewed (a child and an adult of one name, met together: whether the
    child was folded into an adult's record, or a birth date mistyped, a human says;
    the matcher never links them)."""
    if comparison.total >= lower:
        return True
    if Conflict.CHILD_ADULT in comparison.conflicts:
        return comparison.total_but_birth >= lower
    return bool(comparison.conflicts) and comparison.total_but_birth >= upper


def decide(
    features: PersonFeatures,
    candidates: Iterable[Candidate],
    model: MatchModel = DEFAULT_MODEL,
    *,
    name_u: float | None = None,
    members: Callable[[str], Sequence[Candidate]] | None = None,
    persons: int | None = None,
) -> MatchDecision:
    """Compare with every candidate; a person's score is its best record's. The best
    person at or above ``upper`` is linked, unless a conflict (a child and an adult,
    births years apart: :mod:`identification.person_index.domain.conflicts`) stands between the
    record and any of the person's records; persons between the thresholds, and those
    only a conflict keeps apart, are reviewed. ``name_u``: the frequency of the record's
    name (:func:`name_u_of`); ``members``: a person's records, to check the record
    against the whole person before linking; ``persons``: how many persons the index
    holds (the thresholds rise with it, see :func:`threshold_shift`)."""
    shift = threshold_shift(persons, model)
    upper, lower, merge = model.upper + shift, model.lower + shift, model.merge + shift
    per_person: dict[str, tuple[Candidate, Comparison]] = {}
    for candidate in candidates:
        # A pair that cannot reach the review threshold changes no decision.
        comparison = compare_within_reach(
            features, candidate.features, model, name_u=name_u, reach=lower, conflict_reach=lower
        )
        if comparison is None:
            continue
        held = per_person.get(candidate.person_id)
        if held is None or _ranks_above(comparison, held[1]):
            per_person[candidate.person_id] = (candidate, comparison)
    ranked = sorted(per_person.values(), key=lambda pair: _rank(pair[1]), reverse=True)
    review = [pair for pair in ranked if reviewable(pair[1], lower=lower, upper=upper)]
    linkable = [pair for pair in ranked if not pair[1].conflicts and pair[1].total >= upper]
    if not linkable:
        return MatchDecision(
            None, ranked[0][1] if ranked else None, review=review[:MAX_REVIEW_PAIRS]
        )
    best_candidate, best = linkable[0]
    if members is not None and not _fits_cluster(
        features, members(best_candidate.person_id), model
    ):
        # Like one of the person's records, unlike another (or a child where another
        # record is an adult): a chain of namesakes would begin here. A reviewer decides.
        return MatchDecision(None, best, review=[linkable[0]])
    if members is not None:
        best_members = members(best_candidate.person_id)
        apart = [
            pair
            for pair in linkable[1:]
            if _persons_conflict(best_members, members(pair[0].person_id))
        ]
        if apart:
            # The record fits two persons known to be two people (namesakes met
            # together, a child and an adult of one name): which one, a human says.
            return MatchDecision(None, best, review=[linkable[0], *apart][:MAX_REVIEW_PAIRS])
    merged = [
        pair
        for pair in linkable[1:]
        if pair[1].total >= merge
        and (members is None or _fits_cluster(features, members(pair[0].person_id), model))
    ]
    return MatchDecision(best_candidate.person_id, best, best_candidate.record_id, merged=merged)


def _persons_conflict(first: Sequence[Candidate], second: Sequence[Candidate]) -> bool:
    # Two persons known to be two people: a conflict between two of their records.
    return any(
        _conflict_of_births_or_encounter(a.features, b.features) for a in first for b in second
    )


def _conflict_of_births_or_encounter(a: PersonFeatures, b: PersonFeatures) -> bool:
    if same_encounter(a, b) and birth_level(a.birth, b.birth) is not Level.EXACT:
        return True
    return bool(conflicts_between(a.birth, a.met, b.birth, b.met))


def _rank(comparison: Comparison) -> float:
    # A conflicting pair ranks by what its other fields say (how close it came to a
    # link), the others by their evidence.
    return comparison.total_but_birth if comparison.conflicts else comparison.total


def _ranks_above(comparison: Comparison, held: Comparison) -> bool:
    # For one person, the record without a conflict speaks for it.
    if bool(comparison.conflicts) != bool(held.conflicts):
        return not comparison.conflicts
    return _rank(comparison) > _rank(held)

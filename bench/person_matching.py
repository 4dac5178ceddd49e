"""The person matcher against ground truth: precision, recall and F1 of linking at the
auto-link threshold, on generated sets (identification.person_index.synthetic, seeded),
side by side with an exact-match baseline and with the recordlinkage library on the same data;
and records per second for each.

Pairs are counted over clusters: two records are "linked" when the method puts them in
one person (connected components for the pairwise methods), against the true identity.
Each size is run on the benchmark's seed and on a second one (the matcher's weights were
measured on a third, see ``--estimate``), and the person index's errors are put down to
their causes (``--analyse``: blocking misses against score misses, by field level).

    .venv/bin/python bench/person_matching.py --sizes 10000 100000 --analyse
    .venv/bin/python bench/person_matching.py --estimate   # m and u per level, seed 7
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import date
from pathlib import Path
from typing import Any

from identification.legacy_import.samples import sample_features
from identification.person_index.domain.conflicts import conflicts_between
from identification.person_index.domain.index import PersonIndex
from identification.person_index.domain.keys import probe_digests
from identification.person_index.domain.matching import (
    Comparison,
    blocking_keys,
    compare,
    probing_keys,
)
from identification.person_index.field_keys import digest_for
from identification.person_index.synthetic import SyntheticRecord, generate, true_pairs
from nrm_runtime.field_crypto import KeyRing

SEED = 20260302
SECOND_SEED = 20260411
# The seed the matcher's m and u were measured on (never an evaluation seed).
TRAINING_SEED = 7


def _pairs_of_clusters(labels: Sequence[str]) -> set[tuple[int, int]]:
    clusters: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        clusters.setdefault(label, []).append(index)
    pairs = set()
    for members in clusters.values():
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                pairs.add((first, second))
    return pairs


def _components(count: int, links: Iterable[tuple[int, int]]) -> list[str]:
    parent = list(range(count))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[root(a)] = root(b)
    return [str(root(i)) for i in range(count)]


def hard_negatives(records: Sequence[SyntheticRecord]) -> set[tuple[int, int]]:
    """Pairs of records of two people met in one group who share a name (siblings,
    namesakes): alike in name, day, place and agency, and two people."""
    by_kin: dict[tuple[str, str], list[int]] = {}
    for index, record in enumerate(records):
        if record.group_key:
            by_kin.setdefault((record.group_key, record.name_of), []).append(index)
    return {
        (first, second)
        for members in by_kin.values()
        for i, first in enumerate(members)
        for second in members[i + 1 :]
        if records[first].person_key != records[second].person_key
    }


def hard_negatives_linked_by_evidence(
    labels: Sequence[str], records: Sequence[SyntheticRecord], hard: AbstractSet[tuple[int, int]]
) -> dict[str, int]:
    """The linked hard negatives split by what their birth dates say: a conflict (a child
    and an adult, births years apart), which the index promises never to link, or
    nothing that tells the two apart (a birth missing, estimates that overlap, dates a
    slip apart): namesakes no field distinguishes, which only a reviewer can."""
    linked = _pairs_of_clusters(labels) & hard
    features = {i: sample_features(records[i]) for pair in linked for i in pair}
    in_conflict = sum(
        bool(conflicts_between(a.birth, a.met, b.birth, b.met))
        for a, b in ((features[first], features[second]) for first, second in linked)
    )
    return {
        "with_a_birth_conflict": in_conflict,
        "births_alike_or_unknown": len(linked) - in_conflict,
    }


def score(
    labels: Sequence[str],
    truth: set[tuple[int, int]],
    hard: AbstractSet[tuple[int, int]] = frozenset(),
) -> dict[str, float]:
    predicted = _pairs_of_clusters(labels)
    true_positive = len(predicted & truth)
    precision = true_positive / len(predicted) if predicted else 1.0
    recall = true_positive / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "predicted_pairs": len(predicted),
        "true_pairs": len(truth),
        "hard_negative_pairs": len(hard),
        "hard_negatives_linked": len(predicted & hard),
    }


def nrm_matcher(records: Sequence[SyntheticRecord], ring: KeyRing) -> tuple[list[str], int]:
    index = PersonIndex(digest_for(ring))
    review = 0
    for number, record in enumerate(records):
        decision, _ = index.add(str(number), sample_features(record))
        review += bool(decision.review)
    # Read the persons at the end: a later record can merge two earlier persons.
    return [index.records[str(number)].person_id for number in range(len(records))], review


def exact_baseline(records: Sequence[SyntheticRecord]) -> list[str]:
    """Same given name, family name and birth date, as typed (what a spreadsheet does)."""
    return [
        f"{r.given_name.casefold()}|{r.family_name.casefold()}|{r.birth_date}|"
        f"{r.given_name_khmer}|{r.family_name_khmer}"
        for r in records
    ]


def recordlinkage_baseline(records: Sequence[SyntheticRecord]) -> list[str]:
    """recordlinkage's documented deduplication recipe on the same fields the person
    index reads: a sorted-neighbourhood index on the full name; Jaro-Winkler on names;
    exact birth date, sex, nationality, province, exploitation and its country; the
    encounter dates within a week (agreement falling to none two months later); linked
    when the summed agreement reaches 70 % of the fields (its tutorial's rule: 3.5 of 5)."""
    import pandas as pd
    import recordlinkage

    frame = pd.DataFrame(
        {
            "name": [f"{r.given_name} {r.family_name}".strip().lower() for r in records],
            "given": [r.given_name.lower() for r in records],
            "family": [r.family_name.lower() for r in records],
            "birth": [r.birth_date for r in records],
            "sex": [r.sex for r in records],
            "nationality": [r.nationality for r in records],
            "province": [r.province_code for r in records],
            "exploitation": [r.exploitation_type for r in records],
            "country": [r.exploitation_country_code for r in records],
            "met": [date.fromisoformat(r.encounter_date).toordinal() for r in records],
        }
    )
    indexer = recordlinkage.Index()
    indexer.sortedneighbourhood("name", window=9)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given", "given", method="jarowinkler", threshold=0.85)
    compare.string("family", "family", method="jarowinkler", threshold=0.85)
    for column in ("birth", "sex", "nationality", "province", "exploitation", "country"):
        compare.exact(column, column)
    compare.numeric("met", "met", method="linear", offset=7, scale=60)
    vectors = compare.compute(pairs, frame)
    fields = vectors.shape[1]
    matches = vectors[vectors.sum(axis=1) >= 0.7 * fields].index
    return _components(len(records), ((int(a), int(b)) for a, b in matches))


def _describe(comparison: Comparison) -> str:
    return f"name={comparison.levels['name']},birth={comparison.levels['birth_date']}"


def analyse_errors(records: Sequence[SyntheticRecord]) -> dict[str, dict[str, int]]:
    """The person index's decisions against the truth, record by record: a record whose
    person was known and that was not linked to it is a miss, put down to blocking (no
    record of its person among the candidates: no key shared, or only keys too common
    to use), to the cluster check, to a wrong person scoring higher, or to the score
    (with the levels of the best pair with its true person); a record linked to another
    person is a false link (with the levels of that pair)."""
    index = PersonIndex(lambda key: key)
    features_list = [sample_features(record) for record in records]
    seen: dict[str, list[int]] = {}
    missed: Counter[str] = Counter()
    false: Counter[str] = Counter()
    for number, (record, record_features) in enumerate(zip(records, features_list, strict=True)):
        earlier = seen.setdefault(record.person_key, [])
        digests = probe_digests(record_features, index.digest)
        candidates = {candidate.record_id for candidate in index.candidates(digests)}
        decision, _ = index.add(str(number), record_features)
        linked = decision.linked_to_record
        wrong = linked is not None and records[int(linked)].person_key != record.person_key
        if wrong and decision.best is not None:
            false[_describe(decision.best)] += 1
        if earlier and linked is None:
            found = {str(e) for e in earlier} & candidates
            if not found:
                keys = probing_keys(record_features)
                shared = any(keys & blocking_keys(features_list[e]) for e in earlier)
                cause = "keys too common, or past the candidate cap" if shared else "no key shared"
                missed["block: " + cause] += 1
            elif decision.best is not None and decision.best.total >= index.model.upper:
                missed["cluster check (unlike another record of the person)"] += 1
            else:
                best = max(
                    (compare(record_features, features_list[int(e)]) for e in found),
                    key=lambda comparison: comparison.total,
                )
                missed["score: " + _describe(best)] += 1
        elif earlier and wrong:
            missed["linked to another person instead"] += 1
        earlier.append(number)
    return {
        "missed_links": dict(missed.most_common()),
        "false_links": dict(false.most_common()),
    }


def estimate_weights(records: Sequence[SyntheticRecord]) -> dict[str, dict[str, Any]]:
    """m per field level from the true pairs, u from 200,000 random pairs of different
    persons (labelled data: a training seed only), with the weight log2(m/u)."""
    features_list = [sample_features(record) for record in records]
    rng = random.Random(1)
    m: dict[str, Counter[str]] = {}
    u: dict[str, Counter[str]] = {}
    pairs = list(true_pairs(records))
    for a, b in pairs:
        for field_name, level in compare(features_list[a], features_list[b]).levels.items():
            m.setdefault(field_name, Counter())[str(level)] += 1
    drawn = 0
    while drawn < 200_000:
        a, b = rng.randrange(len(records)), rng.randrange(len(records))
        if records[a].person_key == records[b].person_key:
            continue
        drawn += 1
        for field_name, level in compare(features_list[a], features_list[b]).levels.items():
            u.setdefault(field_name, Counter())[str(level)] += 1
    return {
        field_name: {
            level: {
                "m": round(m[field_name][level] / len(pairs), 5),
                "u": round(u[field_name][level] / drawn, 6),
                "weight": round(
                    math.log2(
                        max(m[field_name][level] / len(pairs), 1e-6)
                        / max(u[field_name][level] / drawn, 1e-6)
                    ),
                    2,
                ),
            }
            for level in sorted(set(m[field_name]) | set(u.get(field_name, {})))
        }
        for field_name in m
    }


def _timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    # Wall time and this process's CPU time: the machine is shared, and the CPU time
    # says what the method costs when it has a core to itself.
    started, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - started, time.process_time() - cpu


def run(
    sizes: Sequence[int], report: Path, *, seeds: Sequence[int] = (SEED,), analyse: bool = False
) -> dict[str, Any]:
    from nrm_runtime.devtokens import keys_dir

    ring = KeyRing.load(keys_dir() / "field-keys.json")
    results: dict[str, Any] = {"seeds": list(seeds), "sets": []}
    for size, seed in ((size, seed) for size in sizes for seed in seeds):
        records = generate(size, seed=seed)
        truth = set(true_pairs(records))
        hard = hard_negatives(records)
        entry: dict[str, Any] = {"records": size, "seed": seed, "methods": {}}
        methods: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("nrm_person_index", lambda: nrm_matcher(records, ring)),  # noqa: B023 - run now
            ("exact_match", lambda: (exact_baseline(records), 0)),  # noqa: B023
            ("recordlinkage", lambda: (recordlinkage_baseline(records), 0)),  # noqa: B023
        )
        for name, method in methods:
            (labels, review), seconds, cpu_seconds = _timed(method)
            entry["methods"][name] = {
                **score(labels, truth, hard),
                "hard_negatives_linked_by_evidence": hard_negatives_linked_by_evidence(
                    labels,
                    records,
                    hard,
                ),
                "seconds": round(seconds, 2),
                "records_per_second": round(size / seconds),
                "cpu_seconds": round(cpu_seconds, 2),
                "records_per_cpu_second": round(size / max(cpu_seconds, 1e-6)),
                **({"records_with_review_pairs": review} if name == "nrm_person_index" else {}),
            }
            print(f"{size:>7} {seed} {name:<18} {json.dumps(entry['methods'][name])}", flush=True)
        if analyse:
            entry["error_analysis"] = analyse_errors(records)
            print(json.dumps(entry["error_analysis"], indent=1), flush=True)
        results["sets"].append(entry)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(results, indent=2))
    print(f"report: {report}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[SEED, SECOND_SEED])
    parser.add_argument("--report", type=Path, default=Path("var/bench/person-matching.json"))
    parser.add_argument("--analyse", action="store_true", help="the person index's errors by cause")
    parser.add_argument(
        "--estimate", action="store_true", help="m and u per field level, training seed"
    )
    args = parser.parse_args()
    if args.estimate:
        print(json.dumps(estimate_weights(generate(10_000, seed=TRAINING_SEED)), indent=1))
        return
    run(args.sizes, args.report, seeds=args.seeds, analyse=args.analyse)


if __name__ == "__main__":
    main()

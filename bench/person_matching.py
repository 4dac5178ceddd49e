"""The person matcher against ground truth: precision, recall and F1 of linking at the
auto-link threshold, on generated sets (identification.synthetic, seeded), side by side
with an exact-match baseline and with the recordlinkage library on the same data;
and records per second for each.

Pairs are counted over clusters: two records are "linked" when the method puts them in
one person (connected components for the pairwise methods), against the true identity.

    .venv/bin/python bench/person_matching.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from identification.field_keys import digest_for
from identification.person_index import PersonIndex, features_of
from identification.synthetic import SyntheticRecord, generate, true_pairs
from nrm_runtime.field_crypto import KeyRing

SEED = 20260302


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def features(record: SyntheticRecord) -> Any:
    return features_of(
        given_name=record.given_name,
        family_name=record.family_name,
        given_name_khmer=record.given_name_khmer,
        family_name_khmer=record.family_name_khmer,
        sex=record.sex,
        birth_date=_date(record.birth_date),
        birth_date_precision=record.birth_date_precision or None,
        estimated_age=int(record.estimated_age) if record.estimated_age else None,
        encounter_date=_date(record.encounter_date),
        nationality=record.nationality or None,
        province_code=record.province_code or None,
    )


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


def score(labels: Sequence[str], truth: set[tuple[int, int]]) -> dict[str, float]:
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
    }


def nrm_matcher(records: Sequence[SyntheticRecord], ring: KeyRing) -> tuple[list[str], int]:
    index = PersonIndex(digest_for(ring))
    review = 0
    for number, record in enumerate(records):
        decision, _ = index.add(str(number), features(record))
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
    """recordlinkage's documented deduplication recipe: a sorted-neighbourhood index on
    the full name, Jaro-Winkler on names, exact birth date, sex and nationality, linked
    when the summed agreement reaches 3.5 of 5 (its tutorial's rule)."""
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
        }
    )
    indexer = recordlinkage.Index()
    indexer.sortedneighbourhood("name", window=9)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given", "given", method="jarowinkler", threshold=0.85)
    compare.string("family", "family", method="jarowinkler", threshold=0.85)
    compare.exact("birth", "birth")
    compare.exact("sex", "sex")
    compare.exact("nationality", "nationality")
    vectors = compare.compute(pairs, frame)
    matches = vectors[vectors.sum(axis=1) >= 3.5].index
    return _components(len(records), ((int(a), int(b)) for a, b in matches))


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def run(sizes: Sequence[int], report: Path) -> dict[str, Any]:
    from nrm_runtime.devtokens import keys_dir

    ring = KeyRing.load(keys_dir() / "field-keys.json")
    results: dict[str, Any] = {"seed": SEED, "sets": []}
    for size in sizes:
        records = generate(size, seed=SEED)
        truth = set(true_pairs(records))
        entry: dict[str, Any] = {"records": size, "methods": {}}
        methods: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("nrm_person_index", lambda: nrm_matcher(records, ring)),  # noqa: B023 - run now
            ("exact_match", lambda: (exact_baseline(records), 0)),  # noqa: B023
            ("recordlinkage", lambda: (recordlinkage_baseline(records), 0)),  # noqa: B023
        )
        for name, method in methods:
            (labels, review), seconds = _timed(method)
            entry["methods"][name] = {
                **score(labels, truth),
                "seconds": round(seconds, 2),
                "records_per_second": round(size / seconds),
                **({"records_with_review_pairs": review} if name == "nrm_person_index" else {}),
            }
            print(f"{size:>7} {name:<18} {json.dumps(entry['methods'][name])}", flush=True)
        results["sets"].append(entry)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(results, indent=2))
    print(f"report: {report}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--report", type=Path, default=Path("var/bench/person-matching.json"))
    args = parser.parse_args()
    run(args.sizes, args.report)


if __name__ == "__main__":
    main()

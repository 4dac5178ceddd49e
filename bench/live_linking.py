"""The live screening path against the size of the person index: an index of N
generated records is imported (SQLite), then further records arrive one by one through
the live path (:func:`identification.person_index.linking.link_on_arrival`), and the time of
each arrival is measured. Beside it, in the same run, the counting the live path did
before ``person_word`` (distinct persons of the records joined under each word, and of
all records): the baseline the ratio is taken against.

    .venv/bin/python bench/live_linking.py --sizes 2000 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from identification.legacy_import.importing import import_export
from identification.legacy_import.mapping import Source, load_mapping
from identification.legacy_import.reading import read_export
from identification.legacy_import.samples import sample_screening, write_export
from identification.person_index.domain.keys import group_of, record_keys
from identification.person_index.field_keys import digest_for
from identification.person_index.linking import features_of_screening, link_on_arrival
from identification.person_index.synthetic import generate
from identification.store import PersonBlockKey, PersonRecord, tables
from identification.store.sealing import open_person
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing, create_key_file
from nrm_runtime.schema import history_of, runtime_history

SEED = 20261129
ARRIVALS = 60


async def _counted_by_join(session: Any, digests: list[str]) -> None:
    """What an arrival counted before ``person_word``: persons per word by a join of
    every record under the word, and all persons."""
    await session.exec(
        select(PersonBlockKey.digest, func.count(func.distinct(PersonRecord.person_id)))
        .join(PersonRecord, col(PersonRecord.screening_id) == col(PersonBlockKey.screening_id))
        .where(col(PersonBlockKey.digest).in_(digests))
        .group_by(col(PersonBlockKey.digest))
    )
    await session.exec(select(func.count(func.distinct(PersonRecord.person_id))))


async def _run(size: int, directory: Path) -> dict[str, Any]:
    records = generate(size + ARRIVALS, seed=SEED)
    known, arriving = records[:size], records[size:]
    mapping = load_mapping(Source.POLICE_CASE)
    export = read_export(write_export(known, mapping, directory / f"{size}.csv"), mapping)
    database = Database(
        f"sqlite+aiosqlite:///{directory / f'{size}.db'}",
        service_metadata=tables,
        event_source="/nrm/identification",
    )
    keys = KeyRing.load(create_key_file(directory / f"{size}-keys.json"))
    arrival_ms: list[float] = []
    join_ms: list[float] = []
    try:
        await database.migrate([runtime_history(), history_of("identification")])
        await import_export(database, keys, mapping, export, operator="bench")
        at = datetime(2026, 3, 2, tzinfo=UTC)
        for number, record in enumerate(arriving):
            screening = sample_screening(
                record, keys, recorded_at=at + timedelta(seconds=number), recorded_by="bench"
            )
            features = features_of_screening(screening, open_person(keys, screening))
            async with database.unit_of_work() as uow:
                uow.session.add(screening)
                started = time.perf_counter()
                await link_on_arrival(uow, keys, screening, features, actor="bench")
                arrival_ms.append((time.perf_counter() - started) * 1000)
                words = record_keys(features, digest_for(keys)).words[group_of(features)]
                started = time.perf_counter()
                await _counted_by_join(uow.session, list(words.values()))
                join_ms.append((time.perf_counter() - started) * 1000)
                await uow.commit()
    finally:
        await database.dispose()
    arrival, join = statistics.median(arrival_ms), statistics.median(join_ms)
    return {
        "records": size,
        "arrival_ms_median": round(arrival, 2),
        "counting_by_join_ms_median": round(join, 2),
        "arrival_with_join_counting_ms": round(arrival + join, 2),
        "join_counting_over_arrival": round(join / arrival, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--report", type=Path, default=Path("var/bench/live-linking.json"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            result = asyncio.run(_run(size, Path(directory)))
            print(json.dumps(result), flush=True)
            results.append(result)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(results, indent=2))
    print(f"report: {args.report}")


if __name__ == "__main__":
    main()

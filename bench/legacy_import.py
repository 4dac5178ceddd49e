"""Legacy import benchmark: generate synthetic records
(identification.person_index.synthetic), write them as a police case export (the
police-case mapping's columns), import them with ``nrm import``'s code into a fresh SQLite
database, and print seconds and rows/s.

    .venv/bin/python bench/legacy_import.py --records 100000

The goal (issue 7): 100,000 records in under 5 minutes on the project's machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from identification.legacy_import.importing import import_export
from identification.legacy_import.mapping import Source, SourceMapping, load_mapping
from identification.legacy_import.reading import read_export
from identification.legacy_import.samples import write_export
from identification.person_index.synthetic import generate
from identification.store import tables
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing, create_key_file
from nrm_runtime.schema import history_of, runtime_history

SEED = 20261128


async def _import(directory: Path, export_path: Path, mapping: SourceMapping) -> dict[str, float]:
    database = Database(
        f"sqlite+aiosqlite:///{directory / 'identification.db'}",
        service_metadata=tables,
        event_source="/nrm/identification",
    )
    keys = KeyRing.load(create_key_file(directory / "field-keys.json"))
    try:
        await database.migrate([runtime_history(), history_of("identification")])
        started, cpu = time.perf_counter(), time.process_time()
        export = read_export(export_path, mapping)
        read = time.perf_counter()
        matched: list[float] = []  # when each row was matched: the phases' times

        def progress(rows: int) -> None:
            matched.append(time.perf_counter())

        summary = await import_export(
            database, keys, mapping, export, operator="bench", progress=progress
        )
        done, cpu_done = time.perf_counter(), time.process_time()
    finally:
        await database.dispose()
    rows = summary.rows_imported
    return {
        "rows_read": export.rows_read,
        "rows_rejected": summary.rows_rejected,
        "rows_imported": rows,
        "new_persons": summary.new_persons,
        "auto_linked": summary.auto_linked,
        "sent_to_review": summary.sent_to_review,
        "read_seconds": round(read - started, 1),
        # Loading the known persons, then sealing and matching row by row, then writing.
        "match_seconds": round(matched[-1] - read, 1) if matched else 0.0,
        "write_seconds": round(done - matched[-1], 1) if matched else 0.0,
        "seconds": round(done - started, 1),
        # The machine is shared: the CPU time of this process is the steadier figure.
        "cpu_seconds": round(cpu_done - cpu, 1),
        "rows_per_second": round(rows / (done - started), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--report", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    mapping = load_mapping(Source.POLICE_CASE)
    with tempfile.TemporaryDirectory(prefix="nrm-legacy-bench-") as name:
        directory = Path(name)
        export_path = write_export(generate(args.records, seed=SEED), mapping, directory / "x.csv")
        figures = asyncio.run(_import(directory, export_path, mapping))
    print(
        f"legacy import of {args.records} records: {figures['seconds']} s, "
        f"{figures['rows_per_second']} rows/s ({figures['cpu_seconds']} s of CPU)"
    )
    print(json.dumps(figures, indent=2))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

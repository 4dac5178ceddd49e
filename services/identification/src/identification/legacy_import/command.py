"""``nrm import FILE.csv --source SOURCE``: an agency's historical export into the
person index (registered with the ``nrm`` command line through the ``nrm.commands``
entry point group).

Exit status: 0 imported (rejected rows, if any, listed); 1 nothing imported because
rows were rejected under ``--all-or-nothing``; 2 the file or the settings cannot be
used (nothing imported).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from identification.entrypoints.cli import add_database_options, open_store, operator_of
from identification.legacy_import.mapping import Source

EXIT_REJECTED = 1
EXIT_UNUSABLE = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` sub-command (called by ``nrm`` for the entry point)."""
    parser = commands.add_parser(
        "import",
        help="import an agency's historical export (CSV, UTF-8) into identification",
        description="Load an agency's historical export into identification's person index "
        "through the same matching as live screenings. Rows already imported (same source "
        "and record id) are skipped; rejected rows are listed by row and column.",
    )
    parser.add_argument("file", type=Path, help="the export, CSV in UTF-8")
    parser.add_argument(
        "--source",
        required=True,
        choices=[source.value for source in Source],
        help="whose export it is (its column mapping: identification/legacy_import/mappings)",
    )
    parser.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="import nothing when any row is rejected (exit status 1)",
    )
    add_database_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nrm import`` with parsed arguments; the exit status."""
    return asyncio.run(_run(args, sys.stdout, sys.stderr))


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Imported here, not at the top: ``nrm --help`` should not load the service.
    from identification.legacy_import.importing import import_export
    from identification.legacy_import.mapping import MappingError, load_mapping
    from identification.legacy_import.reading import UnreadableExport, read_export
    from identification.legacy_import.report import Progress, print_summary

    try:
        mapping = load_mapping(Source(args.source))
        export = read_export(args.file, mapping)
    except (MappingError, UnreadableExport) as error:
        print(f"nrm import: {error}; nothing imported", file=err)
        return EXIT_UNUSABLE
    if export.rejections and args.all_or_nothing:
        print_summary(export, None, out)
        print("nrm import: rows rejected under --all-or-nothing; nothing imported", file=err)
        return EXIT_REJECTED
    store = await open_store(args, "import", err)
    if store is None:
        return EXIT_UNUSABLE
    try:
        with Progress(len(export.rows), err) as progress:
            summary = await import_export(
                store.database,
                store.keys,
                mapping,
                export,
                operator=operator_of(args),
                progress=progress.advance,
            )
    finally:
        await store.database.dispose()
    print_summary(export, summary, out)
    return 0

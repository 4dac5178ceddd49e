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
import getpass
import sys
from pathlib import Path
from typing import TextIO

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
    parser.add_argument(
        "--database-url", help="identification's database (default IDENTIFICATION_DATABASE_URL)"
    )
    parser.add_argument(
        "--field-keys-file",
        type=Path,
        help="field encryption keys (default IDENTIFICATION_FIELD_KEYS_FILE)",
    )
    parser.add_argument(
        "--operator", help="who runs the import, for the audit log (default: the OS user)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nrm import`` with parsed arguments; the exit status."""
    return asyncio.run(_run(args, sys.stdout, sys.stderr))


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Imported here, not at the top: ``nrm --help`` should not load the service.
    from pydantic import ValidationError

    from identification.legacy_import.importing import import_export
    from identification.legacy_import.mapping import MappingError, load_mapping
    from identification.legacy_import.reading import UnreadableExport, read_export
    from identification.legacy_import.report import Progress, print_summary
    from identification.settings import IdentificationSettings
    from identification.store import tables
    from nrm_runtime.database import Database
    from nrm_runtime.field_crypto import KeyRing
    from nrm_runtime.schema import history_of, runtime_history

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
    overrides: dict[str, object] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.field_keys_file:
        overrides["field_keys_file"] = args.field_keys_file
    try:
        settings = IdentificationSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        print(f"nrm import: identification settings: {error}", file=err)
        return EXIT_UNUSABLE
    if settings.field_keys_file is None:
        print("nrm import: set IDENTIFICATION_FIELD_KEYS_FILE or --field-keys-file", file=err)
        return EXIT_UNUSABLE
    database = Database(
        settings.database_url, service_metadata=tables, event_source=f"/nrm/{settings.service_name}"
    )
    try:
        await database.migrate([runtime_history(), history_of("identification")])
        with Progress(len(export.rows), err) as progress:
            summary = await import_export(
                database,
                KeyRing.load(settings.field_keys_file),
                mapping,
                export,
                operator=args.operator or getpass.getuser(),
                progress=progress.advance,
            )
    finally:
        await database.dispose()
    print_summary(export, summary, out)
    return 0

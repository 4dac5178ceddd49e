"""What identification's maintenance commands (``nrm import``, ``nrm person-index``)
share: the options that say which database and keys to use, and opening that database
migrated, with the settings the service itself would load."""

from __future__ import annotations

import argparse
import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from identification.settings import IdentificationSettings
    from nrm_runtime.database import Database
    from nrm_runtime.field_crypto import KeyRing


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """``--database-url``, ``--field-keys-file`` and ``--operator``."""
    parser.add_argument(
        "--database-url", help="identification's database (default IDENTIFICATION_DATABASE_URL)"
    )
    parser.add_argument(
        "--field-keys-file",
        type=Path,
        help="field encryption keys (default IDENTIFICATION_FIELD_KEYS_FILE)",
    )
    parser.add_argument(
        "--operator", help="who runs the command, for the audit log (default: the OS user)"
    )


def operator_of(args: argparse.Namespace) -> str:
    """Who runs the command, as the audit log names them."""
    return str(args.operator or getpass.getuser())


@dataclass(frozen=True)
class ServiceStore:
    """Identification's database (migrated; the caller disposes of it) and keys."""

    settings: IdentificationSettings
    database: Database
    keys: KeyRing


async def open_store(args: argparse.Namespace, command: str, err: TextIO) -> ServiceStore | None:
    """The database and keys the options (or the environment) name, the database
    migrated to the service's schema; None, with the reason on ``err``, when the settings
    cannot be used."""
    # Imported here, not at the top: ``nrm --help`` should not load the service.
    from pydantic import ValidationError

    from identification.settings import IdentificationSettings
    from identification.store import tables
    from nrm_runtime.database import Database
    from nrm_runtime.field_crypto import KeyRing
    from nrm_runtime.schema import history_of, runtime_history

    overrides: dict[str, object] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.field_keys_file:
        overrides["field_keys_file"] = args.field_keys_file
    try:
        settings = IdentificationSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        print(f"nrm {command}: identification settings: {error}", file=err)
        return None
    if settings.field_keys_file is None:
        print(f"nrm {command}: set IDENTIFICATION_FIELD_KEYS_FILE or --field-keys-file", file=err)
        return None
    database = Database(
        settings.database_url, service_metadata=tables, event_source=f"/nrm/{settings.service_name}"
    )
    await database.migrate([runtime_history(), history_of("identification")])
    return ServiceStore(settings, database, KeyRing.load(settings.field_keys_file))

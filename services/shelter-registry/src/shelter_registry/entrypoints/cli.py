"""The registry's commands. ``python -m shelter_registry.entrypoints.cli load``: load
the reference facilities.

Uses the service's settings (``SHELTER_REGISTRY_DATABASE_URL``, ``..._FIELD_KEYS_FILE``
to seal the contacts; in dev the defaults under ``var/``), or ``--database-url``. Safe
to run again: nothing is doubled. The database's schema is brought to the newest
revision first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.schema import history_of, runtime_history
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.settings import ShelterRegistrySettings
from shelter_registry.store import tables
from shelter_registry.usecases.reference_data import load_reference_data


async def _load(database_url: str, keys: KeyRing) -> int:
    database = Database(database_url, service_metadata=tables, event_source="/nrm/shelter-registry")
    try:
        await database.migrate([runtime_history(), history_of("shelter-registry")])
        report = await load_reference_data(database, keys)
    finally:
        await database.dispose()
    print(
        f"organisations added: {report.organisations_added}, facilities added: "
        f"{report.facilities_added}, already present: {report.facilities_present}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shelter_registry.entrypoints.cli",
        description="Load the shelter registry's reference facilities (idempotent).",
    )
    parser.add_argument("command", choices=["load"])
    parser.add_argument("--database-url", help="default: the service's settings")
    arguments = parser.parse_args(argv)
    settings = ShelterRegistrySettings()
    url = arguments.database_url or settings.database_url
    return asyncio.run(_load(url, ShelterRegistryContext.load(settings).keys))


if __name__ == "__main__":
    sys.exit(main())

"""How a service hands the runtime its storage: its tables, its migrations and where it
keeps sealed values, declared as an entry point of the group ``nrm.services`` in the
service's ``pyproject.toml`` (``referral = "referral.store:STORAGE"``).

The runtime's commands that act on a service's database (``nrm migration``, ``nrm keys
rotate-data``) find the service there, by its name, instead of guessing a module name:
the dependency stays one way (services import the runtime, never the reverse), and a
service that is not installed is a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from sqlalchemy import MetaData

from nrm_runtime.field_rotation import SealedColumns

ENTRY_POINT_GROUP = "nrm.services"


@dataclass(frozen=True)
class ServiceStorage:
    """What the runtime needs of a service's database."""

    name: str
    tables: MetaData
    migrations: Path
    sealed_fields: Sequence[SealedColumns] = ()


def registered_services() -> dict[str, ServiceStorage]:
    """Every installed service's storage, by service name."""
    found: dict[str, ServiceStorage] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        storage = entry.load()
        if not isinstance(storage, ServiceStorage):
            raise TypeError(f"entry point {entry.name} ({entry.value}) is not a ServiceStorage")
        found[storage.name] = storage
    return found


def storage_of(name: str) -> ServiceStorage:
    """The storage of the service ``name``; a clear error when none is installed."""
    services = registered_services()
    if name not in services:
        known = ", ".join(sorted(services)) or "none"
        raise LookupError(f"no service {name!r} is installed (installed: {known})")
    return services[name]

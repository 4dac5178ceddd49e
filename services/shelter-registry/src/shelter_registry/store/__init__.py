"""Shelter-registry's storage: its tables, their sealed columns, the shared reads, and
``STORAGE``, by which the runtime's commands find the service's database
(``nrm.services`` entry point ``shelter_registry.store:STORAGE``)."""

from __future__ import annotations

from pathlib import Path

from nrm_runtime.registration import ServiceStorage
from shelter_registry.store.facilities import load_facility, load_organisation
from shelter_registry.store.tables import (
    SEALED_FIELDS,
    CapacityChange,
    Facility,
    Organisation,
    Placement,
    Reservation,
    StatusChange,
    json_list,
    tables,
)

STORAGE = ServiceStorage(
    "shelter-registry", tables, Path(__file__).parent.parent / "migrations", SEALED_FIELDS
)

__all__ = [
    "SEALED_FIELDS",
    "STORAGE",
    "CapacityChange",
    "Facility",
    "Organisation",
    "Placement",
    "Reservation",
    "StatusChange",
    "json_list",
    "load_facility",
    "load_organisation",
    "tables",
]

"""Loading the reference facilities into a registry database, idempotently.

The reference data is a set of invented facilities shipped with the service
(``reference/facilities.yaml``); Cambodia's provinces are the runtime's
(:mod:`nrm_runtime.reference_codes`). Loaded by ``python -m
shelter_registry.entrypoints.cli load`` or at start (setting
``SHELTER_REGISTRY_LOAD_REFERENCE_DATA``).

Each organisation is keyed by its id and each facility by an id derived from its stable
``key``: what is already there is left as it is (its live beds included), what is
missing is added and announced with ``facility.registered``, like any new facility.
Every entry is validated by the same models as the API's input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import yaml

from nrm_contracts import Actor
from nrm_contracts.events.shelter_registry import InspectionResult, RegistrationStatus
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.tables import utc_now
from shelter_registry.schemas.facilities import FacilityCreate
from shelter_registry.schemas.organisations import OrganisationCreate
from shelter_registry.store import Facility, Organisation
from shelter_registry.usecases.registration import InitialRegistration, add_facility

log = logging.getLogger(__name__)

# Facility ids of the reference data: uuid5(this namespace, key).
REFERENCE_NAMESPACE = UUID("6f1c9a52-3d1e-4b7a-9c55-0e2a8d4b7f31")
LOADER = Actor("mosvy", "reference-data")
FACILITIES_FILE = Path(__file__).parents[1] / "reference" / "facilities.yaml"


def read_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def reference_facility_id(key: str) -> UUID:
    """The id the reference facility ``key`` has in every registry."""
    return uuid5(REFERENCE_NAMESPACE, key)


@dataclass(frozen=True)
class ReferenceFacility:
    key: str
    form: FacilityCreate
    initial: InitialRegistration


@dataclass(frozen=True)
class LoadReport:
    organisations_added: int
    facilities_added: int
    facilities_present: int


def reference_organisations() -> list[OrganisationCreate]:
    return [
        OrganisationCreate.model_validate(o) for o in read_yaml(FACILITIES_FILE)["organisations"]
    ]


def reference_facilities() -> list[ReferenceFacility]:
    """The reference facilities, validated as API input would be."""
    return [_facility(entry) for entry in read_yaml(FACILITIES_FILE)["facilities"]]


def _facility(entry: dict[str, Any]) -> ReferenceFacility:
    location = entry["location"]
    form = FacilityCreate.model_validate(
        {
            "organisation_id": entry["organisation"],
            "name": entry["name"],
            "facility_type": entry["type"],
            "services": entry["services"],
            "eligibility": {
                "sexes": entry["sexes"],
                "min_age": entry["ages"][0],
                "max_age": entry["ages"][1],
                "exploitation_types": entry["exploitation_types"],
                "nationalities": entry["nationalities"],
            },
            "languages": entry["languages"],
            "location": {
                "province_code": location["province"],
                "district_code": location.get("district"),
                "latitude": location.get("latitude"),
                "longitude": location.get("longitude"),
            },
            "contacts": entry.get("contacts", {}),
            "beds_total": entry["beds"]["total"],
        }
    )
    inspection = entry.get("inspection")
    status = RegistrationStatus(entry["status"])
    initial = InitialRegistration(
        status=status,
        reason=entry.get("status_reason", f"reference data: {status.value}"),
        beds_occupied=int(entry["beds"]["occupied"]),
        inspection_date=date.fromisoformat(inspection["date"]) if inspection else None,
        inspection_result=InspectionResult(inspection["result"]) if inspection else None,
        facility_id=reference_facility_id(entry["key"]),
    )
    return ReferenceFacility(entry["key"], form, initial)


async def load_reference_data(database: Database, keys: KeyRing) -> LoadReport:
    """Add whatever of the reference data the registry lacks (contacts sealed with
    ``keys``); change nothing else."""
    organisations = reference_organisations()
    facilities = reference_facilities()
    now = utc_now()
    added_organisations = added_facilities = 0
    async with database.unit_of_work(actor=LOADER) as uow:
        known: dict[str, Organisation] = {}
        for form in organisations:
            organisation = await uow.session.get(Organisation, form.id)
            if organisation is None:
                organisation = Organisation(
                    id=form.id, name=form.name, kind=form.kind, created_at=now
                )
                uow.session.add(organisation)
                added_organisations += 1
            known[form.id] = organisation
        await uow.session.flush()
        for reference in facilities:
            if await uow.session.get(Facility, reference.initial.facility_id) is not None:
                continue
            await add_facility(
                uow,
                reference.form,
                known[reference.form.organisation_id],
                keys,
                decided_by=str(LOADER),
                now=now,
                initial=reference.initial,
            )
            added_facilities += 1
        await uow.commit()
    report = LoadReport(added_organisations, added_facilities, len(facilities) - added_facilities)
    log.info(
        "reference data loaded",
        extra={
            "organisations_added": report.organisations_added,
            "facilities_added": report.facilities_added,
            "facilities_present": report.facilities_present,
        },
    )
    return report

"""Identification's operations, each one unit of work."""

from __future__ import annotations

from uuid import uuid4

from identification import domain
from identification.models import EncounterIn, PersonIn, ScreeningCreate, ScreeningPublic
from identification.store import Screening
from nrm_contracts.events.identification import EncounterType, ScreeningRecorded
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.tables import utc_now


async def record_screening(
    database: Database, form: ScreeningCreate, principal: Principal
) -> ScreeningPublic:
    """Store a screening, open its identification case, announce it (no personal data)."""
    person, encounter = form.person, form.encounter
    screening = Screening(
        case_id=uuid4(),
        reporting_organisation=principal.organisation,
        recorded_by=principal.subject,
        given_name=person.given_name,
        family_name=person.family_name,
        given_name_khmer=person.given_name_khmer,
        family_name_khmer=person.family_name_khmer,
        sex=person.sex,
        birth_date=person.birth_date,
        estimated_age=person.estimated_age,
        nationality=person.nationality,
        encounter_type=encounter.type,
        encounter_date=encounter.date,
        province_code=encounter.province_code,
        country_code=encounter.country_code,
        is_child=domain.is_child(
            birth_date=person.birth_date, estimated_age=person.estimated_age, on=encounter.date
        ),
        recorded_at=utc_now(),
    )
    async with database.unit_of_work(actor=principal.actor) as uow:
        uow.session.add(screening)
        uow.record(
            ScreeningRecorded(
                case_id=screening.case_id,
                screening_id=screening.id,
                reporting_organisation=screening.reporting_organisation,
                encounter_type=encounter.type,
                sex=person.sex,
                is_child=screening.is_child,
                nationality=person.nationality,
                province_code=encounter.province_code,
                recorded_at=screening.recorded_at,
            )
        )
        await uow.commit()
    return to_public(screening)


def to_public(screening: Screening) -> ScreeningPublic:
    return ScreeningPublic(
        id=screening.id,
        case_id=screening.case_id,
        reporting_organisation=screening.reporting_organisation,
        person=PersonIn.model_validate(screening, from_attributes=True),
        encounter=EncounterIn(
            type=EncounterType(screening.encounter_type),
            date=screening.encounter_date,
            province_code=screening.province_code,
            country_code=screening.country_code,
        ),
        is_child=screening.is_child,
        recorded_at=screening.recorded_at,
    )

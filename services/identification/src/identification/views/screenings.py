"""A screening as the API gives it: its person's fields opened for a reader who may see
them, the read audited."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain import ages
from identification.schemas.screenings import (
    AssessmentPublic,
    EncounterPublic,
    IdentityDocumentPublic,
    IndicatorsPublic,
    PersonPublic,
    ScreeningPublic,
)
from identification.store import IdentityDocument, Screening
from identification.store.sealing import (
    PersonNames,
    open_document_number,
    open_notes,
    open_person,
)
from nrm_contracts.events.identification import AgeBand
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import NotFound
from nrm_runtime.field_crypto import KeyRing


async def visible_screening(
    database: Database,
    screening_id: UUID,
    principal: Principal,
    keys: KeyRing,
    *,
    sees_all: bool,
) -> ScreeningPublic:
    """A screening, to the organisation that recorded it or to whoever ``sees_all`` (the
    Competent Authority); the read is audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        screening = await uow.session.get(Screening, screening_id)
        may_read = screening is not None and (
            sees_all or screening.reporting_organisation == principal.organisation
        )
        if screening is None or not may_read:
            raise NotFound("screening")  # 404, not 403: do not confirm that it exists
        answer = await read_screening(uow, screening, principal, keys)
        await uow.commit()
    return answer


async def read_screening(
    uow: UnitOfWork, screening: Screening, principal: Principal, keys: KeyRing
) -> ScreeningPublic:
    """The screening with its person's fields opened, the read audited in ``uow``
    (the caller commits: no entry, no answer)."""
    documents = await documents_of(uow.session, screening.id)
    await record_access(
        uow.session,
        principal,
        action=AuditAction.READ,
        resource_type="screening",
        resource_ids=str(screening.id),
        purpose="screening",
    )
    return to_public(screening, open_person(keys, screening), documents, keys)


async def documents_of(session: AsyncSession, screening_id: UUID) -> list[IdentityDocument]:
    result = await session.exec(
        select(IdentityDocument).where(col(IdentityDocument.screening_id) == screening_id)
    )
    return list(result.all())


def to_public(
    screening: Screening, names: PersonNames, documents: list[IdentityDocument], keys: KeyRing
) -> ScreeningPublic:
    """The stored screening as the API gives it (plain models: no request validation),
    with the person's fields as opened by the caller."""
    precision = screening.birth_date_precision or (
        ages.BirthDatePrecision.DAY
        if names.birth_date is not None
        else ages.BirthDatePrecision.ESTIMATED_AGE
    )
    return ScreeningPublic(
        id=screening.id,
        case_id=screening.case_id,
        reporting_organisation=screening.reporting_organisation,
        person=PersonPublic(
            given_name=names.given_name,
            family_name=names.family_name,
            given_name_khmer=names.given_name_khmer,
            family_name_khmer=names.family_name_khmer,
            aliases=names.aliases,
            sex=screening.sex,
            birth_date=names.birth_date,
            birth_date_precision=precision,
            estimated_age=screening.estimated_age,
            nationality=screening.nationality,
            languages=screening.languages,
            identity_documents=[
                IdentityDocumentPublic(
                    kind=document.kind,
                    status=document.status,
                    issuing_country=document.issuing_country,
                    number=open_document_number(keys, document),
                )
                for document in documents
            ],
        ),
        encounter=EncounterPublic(
            type=screening.encounter_type,
            date=screening.encounter_date,
            province_code=screening.province_code,
            district_code=screening.district_code,
            country_code=screening.country_code,
        ),
        indicators=IndicatorsPublic.model_validate(
            {
                "acts": screening.acts,
                "means": screening.means,
                "purposes": screening.purposes,
                "labour_sectors": screening.labour_sectors,
                "continuum_position": screening.continuum_position,
                "person_consented": screening.person_consented,
                "exploitation_country_code": screening.exploitation_country_code,
                "exploitation_province_code": screening.exploitation_province_code,
                **asdict(open_notes(keys, screening)),
            }
        ),
        needs_hints=screening.needs_hints,
        is_child=screening.is_child,
        age_band=screening.age_band or AgeBand.UNKNOWN,
        presumptive_assessment=(
            # Assessments recorded before the field was written carry it as is_child.
            AssessmentPublic.model_validate(
                {"child_rule_applies": screening.is_child is True, **screening.assessment}
            )
            if screening.assessment is not None
            else None
        ),
        recorded_at=screening.recorded_at,
    )

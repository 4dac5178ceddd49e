"""Recording a screening: the standard form, its presumptive assessment, its case."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain import ages
from identification.domain.assessment import AgeBasis, ScreeningAnswers, assess
from identification.domain.deadlines import DeadlinePolicy
from identification.domain.decisions import CaseStatus
from identification.person_index.linking import features_of_screening
from identification.person_index.pending import link_or_defer
from identification.schemas.screenings import (
    ScreeningCreate,
    ScreeningPublic,
)
from identification.store import (
    ConsentRecord,
    IdentificationCase,
    IdentityDocument,
    Screening,
    ScreeningNameKey,
    ScreeningRequest,
)
from identification.store.queries import consents_of, organisation_screened_case
from identification.store.sealing import (
    PersonNames,
    ScreeningNotes,
    name_digests,
    seal_document_number,
    seal_notes,
    seal_person,
)
from identification.views.screenings import read_screening, to_public
from nrm_contracts.events.identification import (
    ConsentChanged,
    ConsentStatus,
    DeadlineKind,
    ScreeningRecorded,
)
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.clock import Clock
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, NotFound
from nrm_runtime.field_crypto import KeyRing

IDEMPOTENCY_HEADER = "Idempotency-Key"


async def record_screening(
    database: Database,
    form: ScreeningCreate,
    principal: Principal,
    *,
    policy: DeadlinePolicy,
    clock: Clock,
    keys: KeyRing,
    idempotency_key: str | None = None,
) -> ScreeningPublic:
    """Store a screening with its assessment, open (or join) its case, announce it.

    With an ``Idempotency-Key``, a retried request returns the screening the first one
    recorded instead of opening a second case; the same key with another form is 409.
    """
    request_hash = _hash(form)
    if idempotency_key is not None:
        replayed = await _replay(database, principal, idempotency_key, request_hash, keys)
        if replayed is not None:
            return replayed
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            screening, (names, documents) = await _record(uow, form, principal, policy, clock, keys)
            if idempotency_key is not None:
                uow.session.add(
                    ScreeningRequest(
                        organisation=principal.organisation,
                        idempotency_key=idempotency_key,
                        request_hash=request_hash,
                        screening_id=screening.id,
                        recorded_at=screening.recorded_at,
                    )
                )
            await uow.commit()
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its screening.
        if idempotency_key is None:
            raise
        replayed = await _replay(database, principal, idempotency_key, request_hash, keys)
        if replayed is None:
            raise
        return replayed
    return to_public(screening, names, documents, keys)


async def _record(
    uow: UnitOfWork,
    form: ScreeningCreate,
    principal: Principal,
    policy: DeadlinePolicy,
    clock: Clock,
    keys: KeyRing,
) -> tuple[Screening, tuple[PersonNames, list[IdentityDocument]]]:
    person, encounter, indicators = form.person, form.encounter, form.indicators
    now = clock()
    case = await _case_for(uow.session, form, principal, policy, now)
    age = form.age()
    child = ages.is_child(age)
    assessment = assess(
        ScreeningAnswers(
            acts=list(indicators.acts),
            means=list(indicators.means),
            purposes=list(indicators.purposes),
            labour_sectors=list(indicators.labour_sectors),
            continuum=indicators.continuum_position,
            person_consented=indicators.person_consented,
            is_child=child,
            age_basis=_age_basis(form),
        )
    )
    screening = Screening(
        case_id=case.id,
        reporting_organisation=principal.organisation,
        recorded_by=principal.subject,
        sex=person.sex,
        birth_date_precision=person.precision,
        estimated_age=person.estimated_age,
        nationality=person.nationality,
        languages=list(person.languages),
        encounter_type=encounter.type,
        encounter_date=encounter.date,
        province_code=encounter.province_code,
        district_code=encounter.district_code,
        country_code=encounter.country_code,
        acts=list(indicators.acts),
        means=list(indicators.means),
        purposes=list(indicators.purposes),
        labour_sectors=list(indicators.labour_sectors),
        continuum_position=indicators.continuum_position,
        person_consented=indicators.person_consented,
        exploitation_country_code=indicators.exploitation_country_code,
        exploitation_province_code=indicators.exploitation_province_code,
        needs_hints=list(dict.fromkeys(form.needs_hints)),
        is_child=child,
        age_band=ages.age_band(age),
        presumptive_result=assessment.result,
        assessment=json.loads(json.dumps(asdict(assessment))),
        recorded_at=now,
    )
    names = PersonNames(
        given_name=person.given_name,
        family_name=person.family_name,
        given_name_khmer=person.given_name_khmer,
        family_name_khmer=person.family_name_khmer,
        aliases=list(person.aliases),
        birth_date=person.birth_date,
    )
    seal_person(keys, screening, names)
    seal_notes(
        keys,
        screening,
        ScreeningNotes(indicators.act_notes, indicators.means_notes, indicators.purpose_notes),
    )
    documents = []
    for document_in in person.identity_documents:
        document = IdentityDocument(
            screening_id=screening.id,
            kind=document_in.kind,
            status=document_in.status,
            issuing_country=document_in.issuing_country,
        )
        seal_document_number(keys, document, document_in.number)
        documents.append(document)
    uow.session.add(screening)
    await uow.session.flush()  # the screening before the rows that refer to it
    uow.session.add_all(documents)
    uow.session.add_all(
        ScreeningNameKey(digest=digest, screening_id=screening.id)
        for digest in name_digests(keys, names)
    )
    uow.record(
        ScreeningRecorded(
            case_id=case.id,
            screening_id=screening.id,
            reporting_organisation=principal.organisation,
            encounter_type=encounter.type,
            sex=person.sex,
            is_child=child,
            nationality=person.nationality,
            province_code=encounter.province_code,
            recorded_at=now,
            person_ref=case.person_ref,
            presumptive_result=assessment.result,
            country_code=encounter.country_code,
        )
    )
    sequence = len(await consents_of(uow.session, case.id))
    for consent in form.consents:
        sequence += 1
        record = ConsentRecord(
            case_id=case.id,
            sequence=sequence,
            purpose=consent.purpose,
            status=ConsentStatus.GIVEN if consent.given else ConsentStatus.REFUSED,
            basis=consent.basis,
            given_on=encounter.date,
            recorded_by=principal.subject,
            recorded_by_organisation=principal.organisation,
            recorded_at=now,
        )
        uow.session.add(record)
        uow.record(consent_changed(record, case.person_ref, child))
    compared = await link_or_defer(
        uow, keys, screening, features_of_screening(screening, names), actor=str(principal.actor)
    )
    await record_access(
        uow.session,
        principal,
        action=AuditAction.WRITE,
        resource_type="screening",
        resource_ids=str(screening.id),
        purpose="screening",
    )
    if compared:
        # The matcher opened the names of the records in this screening's blocks.
        await record_access(
            uow.session,
            principal,
            action=AuditAction.READ,
            resource_type="person_match_candidates",
            resource_ids=str(screening.id),
            purpose="person_matching",
        )
    return screening, (names, documents)


def consent_changed(record: ConsentRecord, person_ref: UUID, child: bool | None) -> ConsentChanged:
    return ConsentChanged(
        case_id=record.case_id,
        consent_id=record.id,
        person_ref=person_ref,
        purpose=record.purpose,
        status=record.status,
        basis=record.basis,
        is_child=child,
        recorded_at=record.recorded_at,
    )


async def _case_for(
    session: AsyncSession,
    form: ScreeningCreate,
    principal: Principal,
    policy: DeadlinePolicy,
    now: datetime,
) -> IdentificationCase:
    if form.case_id is not None:
        case = await session.get(IdentificationCase, form.case_id)
        if case is None or not await organisation_screened_case(
            session, case.id, principal.organisation
        ):
            raise NotFound("case")
        return case
    encounter = form.encounter
    due = policy.preliminary_due(encounter.date)
    case = IdentificationCase(
        opened_by_organisation=principal.organisation,
        opened_at=now,
        first_encounter_date=encounter.date,
        province_code=encounter.province_code,
        country_code=encounter.country_code,
        status=CaseStatus.AWAITING_PRELIMINARY_DECISION,
        preliminary_due_on=due,
        next_deadline=DeadlineKind.PRELIMINARY_DECISION,
        next_deadline_on=due,
    )
    session.add(case)
    return case


def _age_basis(form: ScreeningCreate) -> AgeBasis:
    if form.person.birth_date is not None:
        return AgeBasis.BIRTH_DATE
    if form.person.estimated_age is not None:
        return AgeBasis.ESTIMATED_AGE
    return AgeBasis.UNKNOWN


def _hash(form: ScreeningCreate) -> str:
    canonical = json.dumps(form.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replay(
    database: Database, principal: Principal, key: str, request_hash: str, keys: KeyRing
) -> ScreeningPublic | None:
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        earlier = await session.get(ScreeningRequest, (principal.organisation, key))
        if earlier is None:
            return None
        if earlier.request_hash != request_hash:
            raise Conflict(
                "this Idempotency-Key was used with another screening",
                code="idempotency_key_reused",
                field=IDEMPOTENCY_HEADER,
            )
        screening = await session.get(Screening, earlier.screening_id)
        if screening is None:  # the key refers to its screening: never without one
            return None
        answer = await read_screening(uow, screening, principal, keys)
        await uow.commit()
        return answer

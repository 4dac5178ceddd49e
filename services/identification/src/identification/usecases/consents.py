"""Recording consent: purpose-specific, given, refused or withdrawn; a child's rests on a
guardian or a best-interest decision. Every change is announced: downstream services
act on a valid consent only, and honour a withdrawal."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.exc import IntegrityError

from identification.proceedings.consent import consent_announcement
from identification.schemas.cases import ConsentCreate, ConsentPublic
from identification.schemas.screenings import basis_problem
from identification.store import ConsentRecord, IdentificationCase
from identification.store.queries import consents_of, in_force, screenings_of
from identification.views.cases import consent_public
from nrm_contracts.events.identification import ConsentStatus
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.clock import Clock, today_in_cambodia
from nrm_runtime.database import Database
from nrm_runtime.errors import Conflict, Invalid, NotFound


async def record_consent(
    database: Database,
    case_id: UUID,
    form: ConsentCreate,
    principal: Principal,
    *,
    may_see_all: bool,
    clock: Clock,
) -> ConsentPublic:
    """Record a consent change on a case the caller may see, and announce it."""
    today = today_in_cambodia(clock)
    given_on = form.given_on or today
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            case = await uow.session.get(IdentificationCase, case_id)
            screenings = await screenings_of(uow.session, case_id) if case else []
            visible = may_see_all or any(
                s.reporting_organisation == principal.organisation for s in screenings
            )
            if case is None or not visible:
                raise NotFound("case")
            child = screenings[0].is_child
            problem = basis_problem(form.basis, child)
            if problem:
                raise Invalid(problem, field="basis")
            if given_on > today:
                raise Invalid("the date is in the future", field="given_on")
            if given_on < case.first_encounter_date:
                raise Invalid("the date is before the first screening", field="given_on")
            history = await consents_of(uow.session, case.id)
            current = next((c for c in in_force(history) if c.purpose == form.purpose), None)
            if form.status is ConsentStatus.WITHDRAWN and (
                current is None or current.status != ConsentStatus.GIVEN
            ):
                raise Conflict(f"no {form.purpose} consent to withdraw")
            record = ConsentRecord(
                case_id=case.id,
                sequence=len(history) + 1,
                purpose=form.purpose,
                status=form.status,
                basis=form.basis,
                given_on=given_on,
                recorded_by=principal.subject,
                recorded_by_organisation=principal.organisation,
                recorded_at=clock(),
            )
            uow.session.add(record)
            uow.record(consent_announcement(record, case.person_ref, child))
            await record_access(
                uow.session,
                principal,
                action=AuditAction.WRITE,
                resource_type="identification_case",
                resource_ids=str(case.id),
                purpose="consent",
            )
            await uow.commit()
    except IntegrityError:
        raise Conflict(
            "another consent change on this case was recorded at the same time"
        ) from None
    return consent_public(record)

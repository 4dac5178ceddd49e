"""Recording proceedings records and linking victims' cases to them (MOSVY's Competent
Authority). Each change is audited and each link or unlink announced, ids only."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from identification.proceedings.consent import consents_to_proceedings
from identification.proceedings.models import LinkCreate, LinkPublic, ProceedingsCreate
from identification.proceedings.store import Proceedings, ProceedingsLink
from identification.store import IdentificationCase
from nrm_contracts.events.identification import (
    ProceedingsCaseLinked,
    ProceedingsCaseUnlinked,
    ProceedingsLinkBasis,
)
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import Conflict, Invalid, NotFound

PURPOSE = "legal_proceedings"


async def create_proceedings(
    database: Database, form: ProceedingsCreate, principal: Principal, now: datetime
) -> Proceedings:
    """A new record; 409 when the same reference is recorded already."""
    record = Proceedings(
        reference_kind=form.reference_kind,
        reference=form.reference,
        investigating_organisation=form.investigating_organisation,
        prosecuting_office=form.prosecuting_office,
        created_by_organisation=principal.organisation,
        created_at=now,
    )
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            uow.session.add(record)
            await uow.session.flush()
            await record_access(
                uow.session,
                principal,
                action=AuditAction.WRITE,
                resource_type="proceedings",
                resource_ids=str(record.id),
                purpose=PURPOSE,
            )
            await uow.commit()
    except IntegrityError:
        raise Conflict(f"a {form.reference_kind} with this reference is recorded already") from None
    return record


def link_public(link: ProceedingsLink) -> LinkPublic:
    return LinkPublic.model_validate(link, from_attributes=True)


async def link_case(
    database: Database,
    proceedings_id: UUID,
    form: LinkCreate,
    principal: Principal,
    *,
    legal_bases: tuple[str, ...],
    now: datetime,
) -> LinkPublic:
    """Link a case on the person's consent in force or a legal basis MOSVY accepts:
    404 for an unknown record or case, 409 when linked already, 422 naming what is
    missing."""
    if form.legal_basis is not None and form.legal_basis not in legal_bases:
        raise Invalid(
            f"not a legal basis MOSVY accepts: one of {', '.join(legal_bases)}", field="legal_basis"
        )
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            if await uow.session.get(Proceedings, proceedings_id) is None:
                raise NotFound("proceedings")
            if await uow.session.get(IdentificationCase, form.case_id) is None:
                raise NotFound("case")
            link = (
                await uow.session.exec(
                    select(ProceedingsLink).where(
                        col(ProceedingsLink.proceedings_id) == proceedings_id,
                        col(ProceedingsLink.case_id) == form.case_id,
                    )
                )
            ).first()
            if link is not None and link.unlinked_at is None:
                raise Conflict("the case is linked to these proceedings")
            if form.legal_basis is None and not await consents_to_proceedings(
                uow.session, form.case_id
            ):
                raise Invalid(
                    "the person has not consented to legal_proceedings: record the consent, "
                    "or give a legal_basis",
                    field="legal_basis",
                )
            basis = (
                ProceedingsLinkBasis.CONSENT
                if form.legal_basis is None
                else ProceedingsLinkBasis.LEGAL_BASIS
            )
            link = link or ProceedingsLink(
                proceedings_id=proceedings_id,
                case_id=form.case_id,
                basis=basis,
                linked_by_organisation=principal.organisation,
                linked_at=now,
            )
            link.basis, link.legal_basis = basis, form.legal_basis
            link.linked_by_organisation, link.linked_at, link.unlinked_at = (
                principal.organisation,
                now,
                None,
            )
            uow.session.add(link)
            await uow.session.flush()
            uow.record(
                ProceedingsCaseLinked(
                    proceedings_id=proceedings_id,
                    case_id=form.case_id,
                    link_id=link.id,
                    basis=basis,
                    linked_at=now,
                )
            )
            await record_access(
                uow.session,
                principal,
                action=AuditAction.WRITE,
                resource_type="identification_case",
                resource_ids=str(form.case_id),
                purpose=PURPOSE,
            )
            answer = link_public(link)
            await uow.commit()
    except IntegrityError:
        raise Conflict("the case is linked to these proceedings") from None
    return answer


async def unlink_case(
    database: Database, proceedings_id: UUID, case_id: UUID, principal: Principal, now: datetime
) -> LinkPublic:
    """Remove a case's link: the prosecution side sees it no more. 404 when not linked."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        link = (
            await uow.session.exec(
                select(ProceedingsLink).where(
                    col(ProceedingsLink.proceedings_id) == proceedings_id,
                    col(ProceedingsLink.case_id) == case_id,
                    col(ProceedingsLink.unlinked_at).is_(None),
                )
            )
        ).first()
        if link is None:
            raise NotFound("link")
        link.unlinked_at = now
        uow.session.add(link)
        uow.record(
            ProceedingsCaseUnlinked(
                proceedings_id=proceedings_id, case_id=case_id, link_id=link.id, unlinked_at=now
            )
        )
        await record_access(
            uow.session,
            principal,
            action=AuditAction.WRITE,
            resource_type="identification_case",
            resource_ids=str(case_id),
            purpose=PURPOSE,
        )
        answer = link_public(link)
        await uow.commit()
    return answer

"""The liaison API: counterpart agencies (Viet Nam's MoLISA and MPS, Thailand's MSDHS...)
notify inbound cases and complete their country's steps of each SOP: acknowledge a
notification with a named contact, send verification results, propose or confirm the
handover, send reintegration feedback.

Every call carries the agency's bearer token, an HMAC signature of the body with the
bilateral secret, and (for a message) an idempotency key; every message is kept, refused
ones too. An agency sees and acts on its own country's cases only: another country's
case is 404, exactly like a case that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Response, status

from nrm_contracts.events.repatriation import CaseOrigin, Direction
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import UnitOfWork
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from nrm_runtime.policy import Objects, policy
from repatriation import cases, opening, views
from repatriation.access import CounterpartCaller, case_for_counterpart
from repatriation.context import RepatriationDep
from repatriation.domain import Submission
from repatriation.messages import Outcome, Received, receive
from repatriation.models import (
    CasePublic,
    CaseSummary,
    InboundNotification,
    StepSubmission,
    Timeline,
)
from repatriation.privacy import audit
from repatriation.signing import IDEMPOTENCY_HEADER
from repatriation.store import RepatriationCase, open_case_with_reference

router = APIRouter(prefix="/liaison", tags=["liaison (counterpart agencies)"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="One per message; repeat it when retrying the same message.",
    ),
]
_MESSAGE_ERRORS = error_responses(401, 403, 404, 409, 422)
AGENCY = (OrganisationType.FOREIGN_AGENCY,)
COUNTRY_CASE = policy(
    Role.LIAISON_OFFICER, objects=Objects.OWN_COUNTRY, personal_data=True, organisation_types=AGENCY
)


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
    responses=error_responses(401, 403, 409, 422),
    openapi_extra=policy(
        Role.LIAISON_OFFICER, objects=Objects.NONE, personal_data=True, organisation_types=AGENCY
    ),
)
async def notify_inbound_case(
    notification: InboundNotification,
    database: DatabaseDep,
    context: RepatriationDep,
    caller: CounterpartCaller,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Notify a presumed Cambodian victim to be returned: opens the case under the SOP in
    force with your country and completes its notification step."""

    async def apply(uow: UnitOfWork) -> Outcome:
        template, procedure = opening.choose_template(
            context,
            caller.country,
            Direction.INBOUND,
            notification.sop_version,
            cambodian_date(context.clock()),
        )
        if await open_case_with_reference(
            uow.session, caller.country, notification.counterpart_reference
        ):
            raise ProblemError(
                409,
                "already_open",
                "an open case already has this counterpart_reference",
                "counterpart_reference",
            )
        case = opening.new_case(
            context,
            direction=Direction.INBOUND,
            country=caller.country,
            template=template,
            origin=CaseOrigin.COUNTERPART_NOTIFICATION,
            opened_by=caller.organisation,
            person=notification.person,
            consent=notification.consent_to_return,
            counterpart_reference=notification.counterpart_reference,
        )
        opening.open_case(context, uow, case, procedure)
        await uow.session.flush()
        await cases.complete_step(
            context,
            uow,
            case,
            Submission(procedure.start, tuple(notification.documents), {}),
            country=caller.country,
            organisation=caller.organisation,
        )
        await audit(uow.session, caller.principal, AuditAction.WRITE, case.id, "case_notification")
        return case.id, 201, await _view(context, uow, case)

    received = Received(
        country=caller.country,
        organisation=caller.organisation,
        idempotency_key=idempotency_key,
        message_type="notification",
        step=None,
        body=caller.body,
    )
    return await receive(
        database, context.keys, received, context.clock(), apply, principal=caller.principal
    )


@router.get(
    "/cases",
    response_model=Page[CaseSummary],
    responses=error_responses(401, 403, 422),
    openapi_extra=policy(Role.LIAISON_OFFICER, objects=Objects.NONE, organisation_types=AGENCY),
)
async def list_my_cases(
    database: DatabaseDep, context: RepatriationDep, caller: CounterpartCaller, page: PageDep
) -> Page[CaseSummary]:
    """Your country's cases, oldest first."""
    async with database.session() as session:
        return await views.case_page(context, session, page, country=caller.country)


@router.get(
    "/cases/{case_id}",
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COUNTRY_CASE,
)
async def get_my_case(
    case_id: UUID, database: DatabaseDep, context: RepatriationDep, caller: CounterpartCaller
) -> CasePublic:
    """One of your country's cases, with the steps allowed now and who acts on each."""
    async with database.unit_of_work(actor=caller.principal.actor) as uow:
        case = await case_for_counterpart(uow.session, case_id, caller.country)
        if case is None:
            raise NotFound("repatriation case")
        view = await views.case_view(context, uow.session, case)
        await audit(uow.session, caller.principal, AuditAction.READ, case.id, "liaison_review")
        await uow.commit()
        return view


@router.post(
    "/cases/{case_id}/steps",
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
    responses=_MESSAGE_ERRORS,
    openapi_extra=COUNTRY_CASE,
)
async def complete_counterpart_step(
    case_id: UUID,
    submission: StepSubmission,
    database: DatabaseDep,
    context: RepatriationDep,
    caller: CounterpartCaller,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Complete one of your country's steps (acknowledgement, verification, handover
    proposal or confirmation, reintegration feedback...). Out of order: 409 with the
    steps allowed now."""
    async with database.session() as session:
        visible = await case_for_counterpart(session, case_id, caller.country)

    async def apply(uow: UnitOfWork) -> Outcome:
        case = await case_for_counterpart(uow.session, case_id, caller.country)
        if case is None:
            raise NotFound("repatriation case")
        await cases.complete_step(
            context,
            uow,
            case,
            submission.to_domain(),
            country=caller.country,
            organisation=caller.organisation,
        )
        await audit(uow.session, caller.principal, AuditAction.WRITE, case.id, "case_step")
        return case.id, 201, await _view(context, uow, case)

    received = Received(
        country=caller.country,
        organisation=caller.organisation,
        idempotency_key=idempotency_key,
        message_type="step_completed",
        step=submission.step,
        body=caller.body,
        case_id=visible.id if visible else None,
        claimed_case_id=None if visible else case_id,
    )
    return await receive(
        database, context.keys, received, context.clock(), apply, principal=caller.principal
    )


@router.get(
    "/cases/{case_id}/timeline",
    response_model=Timeline,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COUNTRY_CASE,
)
async def my_case_timeline(
    case_id: UUID, database: DatabaseDep, context: RepatriationDep, caller: CounterpartCaller
) -> Timeline:
    """Every step and message of one of your country's cases, oldest first."""
    async with database.unit_of_work(actor=caller.principal.actor) as uow:
        case = await case_for_counterpart(uow.session, case_id, caller.country)
        if case is None:
            raise NotFound("repatriation case")
        timeline = await views.timeline(context.keys, uow.session, case)
        await audit(uow.session, caller.principal, AuditAction.READ, case.id, "liaison_review")
        await uow.commit()
        return timeline


async def _view(context: Any, uow: UnitOfWork, case: RepatriationCase) -> dict[str, Any]:
    await uow.session.flush()
    view = await views.case_view(context, uow.session, case)
    return view.model_dump(mode="json")

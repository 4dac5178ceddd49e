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

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from nrm_runtime.policy import Objects, policy
from repatriation.access import CounterpartCaller
from repatriation.context import RepatriationDep
from repatriation.domain.signing import IDEMPOTENCY_HEADER
from repatriation.schemas.cases import CasePublic, CaseSummary, StepSubmission
from repatriation.schemas.liaison import InboundNotification
from repatriation.schemas.timeline import Timeline
from repatriation.usecases import opening, steps
from repatriation.usecases.liaison_inbox import Answer
from repatriation.views.cases import list_cases, read_case_view
from repatriation.views.timeline import read_timeline

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
    answer = await opening.notify_inbound_case(
        database,
        context,
        caller,
        notification,
        idempotency_key,
        accepted_status=status.HTTP_201_CREATED,
    )
    return _response(answer)


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
    return await list_cases(database, context, page, country=caller.country)


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
    return await read_case_view(
        database, context, caller.principal, case_id, country=caller.country
    )


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
    answer = await steps.complete_counterpart_step(
        database,
        context,
        caller,
        case_id,
        submission.to_domain(),
        idempotency_key,
        accepted_status=status.HTTP_201_CREATED,
    )
    return _response(answer)


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
    return await read_timeline(database, context, caller.principal, case_id, country=caller.country)


def _response(answer: Answer) -> Response:
    headers = {"Idempotent-Replay": "true"} if answer.replay else None
    return JSONResponse(answer.body, answer.status, headers=headers)

"""Completing a step of a case, for Cambodia (an officer) or for the counterpart (a
message, received once): both pass the same rules (:mod:`repatriation.domain.rules`).
A step completed by Cambodia is queued as a message to the counterpart in the same
transaction, so that the change and its message exist together or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError

from nrm_contracts.events.identification import Sex
from nrm_contracts.events.repatriation import (
    Direction,
    HandoverCompleted,
    HandoverScheduled,
    StepCompleted,
)
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, NotFound
from repatriation.access import Counterpart
from repatriation.context import Repatriation
from repatriation.domain import rules
from repatriation.domain.rules import ConsentStatus, Submission
from repatriation.domain.sop import HOME_COUNTRY, Procedure, SopTemplate, Step, StepKind
from repatriation.schemas.cases import CasePublic
from repatriation.store import (
    CaseStatus,
    CaseStep,
    HandoverStatus,
    RepatriationCase,
    audit,
    case_for_counterpart,
    seal_contact,
    steps_of,
)
from repatriation.usecases.clocks import end_clocks, start_clocks
from repatriation.usecases.closure import close
from repatriation.usecases.liaison_inbox import Answer, Outcome, Received, receive
from repatriation.usecases.liaison_outbox import queue_message, step_message
from repatriation.usecases.officer_changes import change_case_as_officer
from repatriation.views.cases import case_view


def procedure_of(context: Repatriation, case: RepatriationCase) -> tuple[SopTemplate, Procedure]:
    """The procedure a case runs: its own SOP version, for good."""
    template = context.library.get(case.sop_id, case.sop_version)
    procedure = template.procedure(Direction(case.direction)) if template else None
    if template is None or procedure is None:
        # The template was removed from the deployment: the case cannot move until it is back.
        raise Conflict(
            f"SOP {case.sop_id} {case.sop_version} is not loaded", code="sop_unavailable"
        )
    return template, procedure


async def facts_of(uow: UnitOfWork, case: RepatriationCase) -> rules.CaseFacts:
    steps = await steps_of(uow.session, case.id)
    return rules.CaseFacts(
        is_open=case.status == CaseStatus.OPEN,
        is_child=case.is_child,
        consent_given=case.consent_status == ConsentStatus.GIVEN,
        last_step=case.last_step,
        completed_kinds=frozenset(StepKind(step.kind) for step in steps),
    )


async def complete_step(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    submission: Submission,
    *,
    country: str,
    organisation: str,
) -> CaseStep:
    """Complete a step of ``case`` for ``country``, if the rules allow it; refused
    otherwise (nothing written). Cambodia's steps are queued as messages to the
    counterpart."""
    template, procedure = procedure_of(context, case)
    now = context.clock()
    facts = await facts_of(uow, case)
    step = rules.check_step(
        template,
        procedure,
        facts,
        submission,
        acting_country=country,
        today=cambodian_date(now),
    )
    given = {key: value for key, value in submission.details.items() if value is not None}
    completed = CaseStep(
        case_id=case.id,
        sequence=case.step_count + 1,
        step=step.id,
        kind=step.kind,
        acting_country=country,
        organisation=organisation,
        documents=sorted(set(submission.documents)),
        details={key: _plain(value) for key, value in given.items() if key != "contact_name"},
        completed_at=now,
    )
    seal_contact(context.keys, completed, given.get("contact_name"))
    uow.session.add(completed)
    case.step_count = completed.sequence
    case.last_step = step.id
    case.updated_at = now
    _apply_details(template, case, step, given)
    await end_clocks(uow, case, now, met=step)
    following = rules.allowed_steps(procedure, _facts_after(facts, step, case))
    uow.record(
        StepCompleted(
            repatriation_case_id=case.id,
            direction=Direction(case.direction),
            counterpart_country=case.counterpart_country,
            step=step.id,
            sequence=completed.sequence,
            acting_country=country,
            acting_organisation=organisation,
            document_kinds=completed.documents,
            next_steps=[item.id for item in following],
            completed_at=now,
        )
    )
    _record_handover(uow, case, step, now)
    if step.closes_case is not None:
        close(uow, case, step.closes_case, now)
    else:
        start_clocks(context, uow, case, procedure, now)
    if country == HOME_COUNTRY:
        queue_message(
            uow,
            context.keys,
            case,
            organisation=organisation,
            message_type="step_completed",
            step=step.id,
            body=step_message(
                context.keys, case, completed, following, include_person=case.step_count == 1
            ),
            now=now,
        )
    await _flush_or_conflict(uow)
    return completed


def _plain(value: Any) -> Any:
    """A detail as JSON keeps it (dates as ISO 8601 text)."""
    return value.isoformat() if isinstance(value, date) else value


def _facts_after(facts: rules.CaseFacts, step: Step, case: RepatriationCase) -> rules.CaseFacts:
    return rules.CaseFacts(
        is_open=case.status == CaseStatus.OPEN and step.closes_case is None,
        is_child=facts.is_child,
        consent_given=facts.consent_given,
        last_step=step.id,
        completed_kinds=facts.completed_kinds | {step.kind},
    )


def _apply_details(
    template: SopTemplate, case: RepatriationCase, step: Step, details: dict[str, Any]
) -> None:
    """What a step's details change on the case: the handover being agreed."""
    if "handover_date" in details:
        case.handover_date = details["handover_date"]
    if "border_point" in details:
        case.border_point = details["border_point"]
        point = template.border_point(details["border_point"])
        if case.direction == Direction.INBOUND and point is not None:
            # Where the returnee is received: the border point's reception by default.
            case.reception_province_code = point.province_code
            case.reception_organisation = point.reception_organisation
    if "reception_organisation" in details:
        case.reception_organisation = details["reception_organisation"]
    if "reception_province_code" in details:
        case.reception_province_code = details["reception_province_code"]
    if step.kind is StepKind.HANDOVER_AGREEMENT:
        case.handover_status = HandoverStatus.SCHEDULED
    elif step.kind is StepKind.HANDOVER:
        case.handover_status = HandoverStatus.COMPLETED
    elif "handover_date" in details:
        case.handover_status = HandoverStatus.PROPOSED


def _record_handover(uow: UnitOfWork, case: RepatriationCase, step: Step, now: datetime) -> None:
    common: dict[str, Any] = {
        "repatriation_case_id": case.id,
        "direction": Direction(case.direction),
        "counterpart_country": case.counterpart_country,
    }
    inbound = case.direction == Direction.INBOUND
    reception = {
        "reception_province_code": case.reception_province_code if inbound else None,
        "reception_organisation": case.reception_organisation if inbound else None,
    }
    if step.kind is StepKind.HANDOVER_AGREEMENT:
        if case.handover_date is None or case.border_point is None:
            # A handover agreement requires both (SOP rule); never reached with a valid SOP.
            raise Conflict("no handover date and border point", code="handover_not_proposed")
        uow.record(
            HandoverScheduled(
                **common,
                handover_date=case.handover_date,
                border_point=case.border_point,
                **reception,
            )
        )
    elif step.kind is StepKind.HANDOVER:
        uow.record(
            HandoverCompleted(
                **common,
                identification_case_id=case.identification_case_id,
                handed_over_on=cambodian_date(now),
                border_point=case.border_point or "unspecified",
                sex=Sex(case.sex),
                is_child=case.is_child,
                completed_at=now,
                **reception,
            )
        )


async def _flush_or_conflict(uow: UnitOfWork) -> None:
    try:
        await uow.session.flush()
    except IntegrityError:
        # Another completion of this case's next step committed first (unique sequence).
        raise Conflict(
            "the case changed meanwhile; read it and try again", code="concurrent_change"
        ) from None


async def complete_cambodian_step(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    submission: Submission,
) -> CasePublic:
    """An officer completes one of Cambodia's steps; it is sent to the counterpart."""

    async def act(uow: UnitOfWork, case: RepatriationCase) -> None:
        await complete_step(
            context,
            uow,
            case,
            submission,
            country=HOME_COUNTRY,
            organisation=principal.organisation,
        )

    return await change_case_as_officer(database, context, principal, case_id, "case_step", act)


async def complete_counterpart_step(
    database: Database,
    context: Repatriation,
    caller: Counterpart,
    case_id: UUID,
    submission: Submission,
    idempotency_key: str,
    *,
    accepted_status: int,
) -> Answer:
    """A counterpart completes one of its country's steps, by a message received once."""
    async with database.session() as session:
        visible = await case_for_counterpart(session, case_id, caller.country)

    async def apply(uow: UnitOfWork) -> Outcome:
        case = await case_for_counterpart(uow.session, case_id, caller.country)
        if case is None:
            raise NotFound("repatriation case")
        await complete_step(
            context,
            uow,
            case,
            submission,
            country=caller.country,
            organisation=caller.organisation,
        )
        await audit(uow.session, caller.principal, AuditAction.WRITE, case.id, "case_step")
        return case.id, await answer_of(context, uow, case)

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
        database,
        context.keys,
        received,
        context.clock(),
        apply,
        principal=caller.principal,
        accepted_status=accepted_status,
    )


async def answer_of(
    context: Repatriation, uow: UnitOfWork, case: RepatriationCase
) -> dict[str, Any]:
    """The case as a counterpart's message is answered with (and the answer recorded)."""
    await uow.session.flush()
    view = await case_view(context, uow.session, case)
    return view.model_dump(mode="json")

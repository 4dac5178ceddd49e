"""Repatriation's operations on a case, each inside the caller's unit of work.

Cambodian officers and counterpart agencies complete steps through the same rules
(:mod:`domain`); a step completed by Cambodia is queued as a message to the counterpart
in the same transaction, so that the change and its message exist together or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from nrm_contracts.events.identification import Sex
from nrm_contracts.events.repatriation import (
    ClosureOutcome,
    Direction,
    HandoverCompleted,
    HandoverScheduled,
    RepatriationClosed,
    StepCompleted,
)
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import UnitOfWork
from nrm_runtime.errors import ProblemError
from repatriation import domain
from repatriation.context import Repatriation
from repatriation.deadlines import start_clocks
from repatriation.domain import ConsentStatus, StepRefused, Submission
from repatriation.messages import case_reference, queue_message, step_message
from repatriation.models import ConsentChange
from repatriation.opening import procedure_of
from repatriation.privacy import seal_contact
from repatriation.sop import HOME_COUNTRY, SopTemplate, Step, StepKind
from repatriation.store import (
    CaseStatus,
    CaseStep,
    ClockState,
    HandoverStatus,
    RepatriationCase,
    running_clocks,
    steps_of,
)


async def facts_of(uow: UnitOfWork, case: RepatriationCase) -> domain.CaseFacts:
    steps = await steps_of(uow.session, case.id)
    return domain.CaseFacts(
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
    """Complete a step of ``case`` for ``country``, if the rules allow it; 403/409/422
    otherwise (nothing written). Cambodia's steps are queued as messages to the
    counterpart."""
    template, procedure = procedure_of(context, case)
    now = context.clock()
    facts = await facts_of(uow, case)
    try:
        step = domain.check_step(
            template,
            procedure,
            facts,
            submission,
            acting_country=country,
            today=cambodian_date(now),
        )
    except StepRefused as refused:
        raise ProblemError(refused.status, refused.code, refused.message, refused.field) from None
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
    await _end_clocks(uow, case, step, now)
    following = domain.allowed_steps(procedure, _facts_after(facts, step, case))
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
        _close(uow, case, step.closes_case, now)
    else:
        start_clocks(context, uow, case, procedure, now)
    if country == HOME_COUNTRY:
        queue_message(
            uow,
            context.keys,
            case_id=case.id,
            country=case.counterpart_country,
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


def _facts_after(facts: domain.CaseFacts, step: Step, case: RepatriationCase) -> domain.CaseFacts:
    return domain.CaseFacts(
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
            raise ProblemError(409, "handover_not_proposed", "no handover date and border point")
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


async def _end_clocks(uow: UnitOfWork, case: RepatriationCase, step: Step, now: datetime) -> None:
    """The completed step's clock is met; its alternatives' clocks stop."""
    for clock in await running_clocks(uow.session, case.id):
        clock.state = ClockState.MET if clock.step == step.id else ClockState.CANCELLED
        clock.ended_at = now


def _close(uow: UnitOfWork, case: RepatriationCase, outcome: ClosureOutcome, now: datetime) -> None:
    case.status = CaseStatus.CLOSED
    case.outcome = outcome
    case.closed_at = now
    uow.record(
        RepatriationClosed(
            repatriation_case_id=case.id,
            direction=Direction(case.direction),
            counterpart_country=case.counterpart_country,
            outcome=outcome,
            last_step=case.last_step,
            closed_at=now,
        )
    )


async def close_case(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    outcome: ClosureOutcome,
    organisation: str,
) -> None:
    """An officer ends a case before its procedure does (consent withdrawn, not returned)."""
    if case.status != CaseStatus.OPEN:
        raise ProblemError(409, "case_closed", "the case is closed")
    if outcome is ClosureOutcome.RETURNED:
        raise ProblemError(
            422,
            "invalid_input",
            "a case closes as returned by its procedure's last step",
            "outcome",
        )
    now = context.clock()
    for clock in await running_clocks(uow.session, case.id):
        clock.state = ClockState.CANCELLED
        clock.ended_at = now
    case.updated_at = now
    _close(uow, case, outcome, now)
    queue_message(
        uow,
        context.keys,
        case_id=case.id,
        country=case.counterpart_country,
        organisation=organisation,
        message_type="case_closed",
        step=None,
        body={**case_reference(case), "outcome": outcome.value, "closed_at": now.isoformat()},
        now=now,
    )


async def change_consent(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    change: ConsentChange,
    organisation: str,
) -> None:
    """Record the consent to return given again or withdrawn; the counterpart is told."""
    if case.status != CaseStatus.OPEN:
        raise ProblemError(409, "case_closed", "the case is closed")
    problem = domain.consent_basis_problem(case.is_child, change.basis)
    if problem is not None:
        raise ProblemError(422, "invalid_input", problem, "basis")
    now = context.clock()
    case.consent_status = change.status
    case.consent_basis = change.basis
    case.consent_recorded_on = change.recorded_on
    case.updated_at = now
    queue_message(
        uow,
        context.keys,
        case_id=case.id,
        country=case.counterpart_country,
        organisation=organisation,
        message_type="consent_changed",
        step=None,
        body={**case_reference(case), "consent_to_return": change.status.value},
        now=now,
    )


async def _flush_or_conflict(uow: UnitOfWork) -> None:
    try:
        await uow.session.flush()
    except IntegrityError:
        # Another completion of this case's next step committed first (unique sequence).
        raise ProblemError(
            409, "concurrent_change", "the case changed meanwhile; read it and try again"
        ) from None

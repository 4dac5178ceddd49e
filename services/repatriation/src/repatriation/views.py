"""What readers see of a case: the case with its allowed steps and clocks, and its
timeline (steps, messages either way, missed deadlines) in the order they happened."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.repatriation import CaseOrigin, ClosureOutcome, Direction
from nrm_runtime.errors import ProblemError
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.http import Page, PageQuery, encode_cursor
from repatriation import domain
from repatriation.context import Repatriation
from repatriation.deadlines import step_overdue
from repatriation.domain import ConsentBasis, ConsentStatus
from repatriation.models import (
    AllowedStep,
    CasePublic,
    CaseSummary,
    CompletedStep,
    ConsentPublic,
    Delivery,
    HandoverPublic,
    PersonPublic,
    SopRef,
    Timeline,
    TimelineEntry,
)
from repatriation.privacy import open_text, person_of, step_details
from repatriation.sop import StepKind
from repatriation.store import (
    CaseStatus,
    ClockState,
    LiaisonMessage,
    MessageFlow,
    RepatriationCase,
    StepClock,
    clocks_of,
    messages_of,
    steps_of,
)


def _sop_ref(context: Repatriation, case: RepatriationCase) -> SopRef:
    template = context.library.get(case.sop_id, case.sop_version)
    title = template.title if template else "(template not loaded)"
    return SopRef(id=case.sop_id, version=case.sop_version, title=title)


def case_summary(context: Repatriation, case: RepatriationCase) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        direction=Direction(case.direction),
        counterpart_country=case.counterpart_country,
        sop=_sop_ref(context, case),
        status=case.status,
        last_step=case.last_step,
        is_child=case.is_child,
        opened_at=case.opened_at,
    )


async def case_view(
    context: Repatriation, session: AsyncSession, case: RepatriationCase
) -> CasePublic:
    steps = await steps_of(session, case.id)
    clocks = {clock.step: clock for clock in await clocks_of(session, case.id)}
    now = context.clock()
    allowed: list[AllowedStep] = []
    template = context.library.get(case.sop_id, case.sop_version)
    procedure = template.procedure(Direction(case.direction)) if template else None
    if procedure is not None:
        facts = domain.CaseFacts(
            is_open=case.status == CaseStatus.OPEN,
            is_child=case.is_child,
            consent_given=case.consent_status == ConsentStatus.GIVEN,
            last_step=case.last_step,
            completed_kinds=frozenset(StepKind(step.kind) for step in steps),
        )
        for step in domain.allowed_steps(procedure, facts):
            clock = clocks.get(step.id)
            running = clock if clock is not None and clock.state in _LIVE else None
            allowed.append(
                AllowedStep(
                    step=step.id,
                    title=step.title,
                    kind=step.kind,
                    applies_to=step.applies_to,
                    acting_country=step.acting_country,
                    agency=step.agency,
                    required_documents=list(step.required_documents),
                    required_details=[detail.value for detail in step.required_details],
                    due_on=running.due_on if running else None,
                    overdue=running is not None and step_overdue(running.due_on, now),
                )
            )
    return CasePublic(
        id=case.id,
        direction=Direction(case.direction),
        counterpart_country=case.counterpart_country,
        counterpart_reference=case.counterpart_reference,
        sop=_sop_ref(context, case),
        origin=CaseOrigin(case.origin),
        identification_case_id=case.identification_case_id,
        status=case.status,
        outcome=ClosureOutcome(case.outcome) if case.outcome else None,
        is_child=case.is_child,
        person=PersonPublic.model_validate(person_of(context.keys, case)),
        consent_to_return=ConsentPublic(
            status=ConsentStatus(case.consent_status),
            basis=ConsentBasis(case.consent_basis),
            recorded_on=case.consent_recorded_on,
        ),
        handover=HandoverPublic(
            status=case.handover_status,
            handover_date=case.handover_date,
            border_point=case.border_point,
            reception_organisation=case.reception_organisation,
            reception_province_code=case.reception_province_code,
        ),
        steps=[
            CompletedStep(
                sequence=step.sequence,
                step=step.step,
                acting_country=step.acting_country,
                organisation=step.organisation,
                documents=step.documents,
                details=step_details(context.keys, step),
                completed_at=step.completed_at,
            )
            for step in steps
        ],
        allowed_steps=allowed,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
    )


_LIVE = (ClockState.RUNNING, ClockState.MISSED)
# At one moment: a message received causes its step; a step or a missed deadline causes
# the message sent about it.
_RECEIVED, _STEP, _MISSED, _SENT = range(4)


async def timeline(keys: KeyRing, session: AsyncSession, case: RepatriationCase) -> Timeline:
    """Steps, messages either way and missed deadlines of a case, oldest first."""
    entries: list[tuple[datetime, int, TimelineEntry]] = []
    for step in await steps_of(session, case.id):
        entries.append(
            (
                step.completed_at,
                _STEP,
                TimelineEntry(
                    at=step.completed_at,
                    kind="step_completed",
                    step=step.step,
                    country=step.acting_country,
                    organisation=step.organisation,
                ),
            )
        )
    for message in await messages_of(session, case.id):
        order = _SENT if message.flow == MessageFlow.SENT else _RECEIVED
        entries.append((message.created_at, order, _message_entry(keys, message)))
    for clock in await clocks_of(session, case.id):
        if clock.state == ClockState.MISSED and clock.ended_at is not None:
            entries.append((clock.ended_at, _MISSED, _missed_entry(clock)))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return Timeline(case_id=case.id, entries=[entry for _, _, entry in entries])


def _message_entry(keys: KeyRing, message: LiaisonMessage) -> TimelineEntry:
    sent = message.flow == MessageFlow.SENT
    return TimelineEntry(
        at=message.created_at,
        kind="message_sent" if sent else "message_received",
        step=message.step,
        country="KHM" if sent else message.counterpart_country,
        organisation=message.organisation,
        message_id=message.id,
        message_type=message.message_type,
        idempotency_key=message.idempotency_key,
        body=_parsed(open_text(keys, message) or ""),
        response_status=message.response_status,
        delivery=Delivery(
            status=message.status,
            attempts=message.attempts,
            last_error=message.last_error,
            next_attempt_at=message.next_attempt_at,
            delivered_at=message.delivered_at,
        )
        if sent
        else None,
    )


def _missed_entry(clock: StepClock) -> TimelineEntry:
    assert clock.ended_at is not None
    return TimelineEntry(
        at=clock.ended_at,
        kind="deadline_missed",
        step=clock.step,
        country=clock.acting_country,
        due_on=clock.due_on,
    )


def _parsed(body: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


async def case_page(
    context: Repatriation,
    session: AsyncSession,
    page: PageQuery,
    *,
    country: str | None = None,
    status: CaseStatus | None = None,
) -> Page[CaseSummary]:
    """Cases oldest first, optionally of one counterpart country or status."""
    query = select(RepatriationCase).order_by(
        col(RepatriationCase.opened_at), col(RepatriationCase.id)
    )
    if country is not None:
        query = query.where(col(RepatriationCase.counterpart_country) == country)
    if status is not None:
        query = query.where(col(RepatriationCase.status) == status)
    if page.cursor is not None:
        after_time, after_id = _position(page.cursor)
        query = query.where(
            or_(
                col(RepatriationCase.opened_at) > after_time,
                and_(
                    col(RepatriationCase.opened_at) == after_time,
                    col(RepatriationCase.id) > after_id,
                ),
            )
        )
    cases = list((await session.exec(query.limit(page.limit + 1))).all())
    next_cursor = None
    if len(cases) > page.limit:
        cases = cases[: page.limit]
        last = cases[-1]
        next_cursor = encode_cursor({"opened_at": last.opened_at.isoformat(), "id": str(last.id)})
    return Page(items=[case_summary(context, case) for case in cases], next_cursor=next_cursor)


def _position(cursor: dict[str, object]) -> tuple[datetime, UUID]:
    """Where the previous page ended; 422 for a cursor this list did not give out."""
    try:
        opened_at = datetime.fromisoformat(str(cursor["opened_at"]))
        case_id = UUID(str(cursor["id"]))
    except (KeyError, ValueError):
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor") from None
    if opened_at.tzinfo is None:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return opened_at, case_id

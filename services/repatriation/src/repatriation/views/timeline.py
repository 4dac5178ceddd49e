"""A case's timeline: steps, messages either way and missed deadlines in the order they
happened."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from repatriation.context import Repatriation
from repatriation.schemas.timeline import Delivery, Timeline, TimelineEntry
from repatriation.store import (
    ClockState,
    LiaisonMessage,
    MessageFlow,
    RepatriationCase,
    StepClock,
    clocks_of,
    messages_of,
    open_text,
    steps_of,
)
from repatriation.views.cases import read_case

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


async def read_timeline(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    *,
    country: str | None = None,
) -> Timeline:
    """A case's timeline as an officer or a counterpart reads it."""

    async def shape(session: AsyncSession, case: RepatriationCase) -> Timeline:
        return await timeline(context.keys, session, case)

    return await read_case(database, principal, case_id, shape, country=country)

"""Liaison messages: every message either way is kept.

Sent messages are queued in the same transaction as the change they report (the
``liaison_message`` table is the outbox towards the counterparts; :mod:`outbound`
delivers it). Received messages are recorded with the answer they got, keyed by the
sender's idempotency key: a retried message gets the same answer and changes nothing
twice; a message refused (unknown case, step out of order) is recorded too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import ProblemError
from repatriation.sop import HOME_COUNTRY, Step
from repatriation.store import (
    CaseStep,
    LiaisonMessage,
    MessageFlow,
    MessageStatus,
    RepatriationCase,
    received_message,
)


def canonical_json(body: dict[str, Any]) -> str:
    """The exact text that is stored, signed and sent."""
    return json.dumps(body, default=str, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def queue_message(
    uow: UnitOfWork,
    *,
    case_id: UUID,
    country: str,
    organisation: str,
    message_type: str,
    step: str | None,
    body: dict[str, Any],
    now: datetime,
) -> LiaisonMessage:
    """Queue a message to ``country``'s agencies, in the unit of work's transaction."""
    message_id = uuid4()
    text = canonical_json({"message_id": str(message_id), "message_type": message_type, **body})
    message = LiaisonMessage(
        id=message_id,
        flow=MessageFlow.SENT,
        case_id=case_id,
        counterpart_country=country,
        organisation=organisation,
        message_type=message_type,
        step=step,
        # One key per message, repeated on every retry: the receiver applies it once.
        idempotency_key=str(message_id),
        body=text,
        body_sha256=sha256(text.encode()),
        status=MessageStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(message)
    return message


@dataclass(frozen=True)
class Received:
    """A counterpart's message as it arrived."""

    country: str
    organisation: str
    idempotency_key: str
    message_type: str
    step: str | None
    body: bytes
    case_id: UUID | None = None
    """The sender's case the message is about, when it names one of theirs."""
    claimed_case_id: UUID | None = None
    """The case id it names when no case of the sender has it (never another's case)."""


Outcome = tuple[UUID, int, dict[str, Any]]
"""What applying a message gave: the case it concerned, the HTTP status, the answer."""


async def receive(
    database: Database,
    received: Received,
    now: datetime,
    apply: Callable[[UnitOfWork], Awaitable[Outcome]],
    *,
    actor: Any,
) -> Response:
    """Apply a counterpart's message once, record it with its answer, answer it.

    A message whose idempotency key was seen before gets the recorded answer again
    (409 if its body differs: the key was reused for another message).
    """
    digest = sha256(received.body)
    async with database.session() as session:
        seen = await received_message(session, received.country, received.idempotency_key)
    if seen is not None:
        return _replay(seen, digest)
    try:
        async with database.unit_of_work(actor=actor) as uow:
            case_id, status, answer = await apply(uow)
            uow.session.add(_record(received, digest, now, case_id, status, answer))
            await uow.commit()
    except ProblemError as refused:
        answer = {"error": {"code": refused.code, "message": refused.message}}
        if refused.field is not None:
            answer["error"]["field"] = refused.field
        await _record_refusal(database, received, digest, now, refused.status, answer, actor)
        raise
    except IntegrityError:
        # The same key arrived twice at once: the other request recorded it first.
        async with database.session() as session:
            seen = await received_message(session, received.country, received.idempotency_key)
        if seen is None:
            raise
        return _replay(seen, digest)
    return JSONResponse(answer, status)


def _record(
    received: Received,
    digest: str,
    now: datetime,
    case_id: UUID | None,
    status: int,
    answer: dict[str, Any],
) -> LiaisonMessage:
    return LiaisonMessage(
        flow=MessageFlow.RECEIVED,
        case_id=case_id or received.case_id,
        claimed_case_id=received.claimed_case_id,
        counterpart_country=received.country,
        organisation=received.organisation,
        message_type=received.message_type,
        step=received.step,
        idempotency_key=received.idempotency_key,
        body=received.body.decode("utf-8", errors="replace"),
        body_sha256=digest,
        status=MessageStatus.ACCEPTED if status < 400 else MessageStatus.REFUSED,
        response_status=status,
        response_body=canonical_json(answer),
        created_at=now,
        delivered_at=now,
    )


async def _record_refusal(
    database: Database,
    received: Received,
    digest: str,
    now: datetime,
    status: int,
    answer: dict[str, Any],
    actor: Any,
) -> None:
    """A refused message is kept too (never on another country's case: a claimed case
    that is not the sender's stays a bare id, outside every timeline)."""
    async with database.unit_of_work(actor=actor) as uow:
        uow.session.add(_record(received, digest, now, None, status, answer))
        try:
            await uow.commit()
        except IntegrityError:
            return  # a concurrent retry of the same message was recorded first


def _replay(seen: LiaisonMessage, digest: str) -> Response:
    if seen.body_sha256 != digest:
        raise ProblemError(
            409, "idempotency_key_reused", "this idempotency key was used for another message"
        )
    body = json.loads(seen.response_body or "{}")
    return JSONResponse(body, seen.response_status or 200, headers={"Idempotent-Replay": "true"})


def case_reference(case: RepatriationCase) -> dict[str, Any]:
    """How a message names the case to the counterpart."""
    return {
        "case_id": str(case.id),
        "counterpart_reference": case.counterpart_reference,
        "sop": {"id": case.sop_id, "version": case.sop_version},
        "sender_country": HOME_COUNTRY,
    }


def step_message(
    case: RepatriationCase, step: CaseStep, following: list[Step], *, include_person: bool
) -> dict[str, Any]:
    """What the counterpart is told of a step Cambodia completed. The first message of a
    case (the notification) carries the person, whom the counterpart must verify."""
    body: dict[str, Any] = {
        **case_reference(case),
        "step": {
            "id": step.step,
            "sequence": step.sequence,
            "acting_country": step.acting_country,
            "organisation": step.organisation,
            "documents": step.documents,
            "details": step.details,
            "completed_at": step.completed_at.isoformat(),
        },
        "allowed_next_steps": [
            {"id": item.id, "acting_country": item.acting_country} for item in following
        ],
    }
    if include_person:
        body["person"] = {
            "given_name": case.given_name,
            "family_name": case.family_name,
            "sex": case.sex,
            "birth_date": case.birth_date.isoformat() if case.birth_date else None,
            "estimated_age": case.estimated_age,
            "is_child": case.is_child,
        }
        body["consent_to_return"] = {
            "status": case.consent_status,
            "basis": case.consent_basis,
            "recorded_on": case.consent_recorded_on.isoformat(),
        }
    return body

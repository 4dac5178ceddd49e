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

from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import DomainError, ProblemError, status_of
from nrm_runtime.field_crypto import KeyRing
from repatriation.privacy import audit, note_queued, open_text, person_of, seal_text, step_details
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
    keys: KeyRing,
    *,
    case_id: UUID,
    country: str,
    organisation: str,
    message_type: str,
    step: str | None,
    body: dict[str, Any],
    now: datetime,
) -> LiaisonMessage:
    """Queue a message to ``country``'s agencies, in the unit of work's transaction
    (its body sealed at rest; the dispatcher opens it to sign and send it)."""
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
        body=seal_text(keys, message_id, text),
        body_sha256=sha256(text.encode()),
        status=MessageStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(message)
    note_queued(uow.session, case_id)
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
    keys: KeyRing,
    received: Received,
    now: datetime,
    apply: Callable[[UnitOfWork], Awaitable[Outcome]],
    *,
    principal: Principal,
) -> Response:
    """Apply a counterpart's message once, record it (sealed) with its answer, answer it.

    A message whose idempotency key was seen before gets the recorded answer again
    (409 if its body differs: the key was reused for another message); that answer
    quotes the case, so the replay is audited as a read.
    """
    digest = sha256(received.body)
    async with database.session() as session:
        seen = await received_message(session, received.country, received.idempotency_key)
    if seen is not None:
        return await _replay(database, keys, seen, digest, principal)
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            case_id, status, answer = await apply(uow)
            uow.session.add(_record(keys, received, digest, now, case_id, status, answer))
            await uow.commit()
    except (ProblemError, DomainError) as refused:
        answer = {"error": {"code": refused.code, "message": refused.message}}
        if refused.field is not None:
            answer["error"]["field"] = refused.field
        status = refused.status if isinstance(refused, ProblemError) else status_of(refused)
        await _record_refusal(database, keys, received, digest, now, status, answer, principal)
        raise
    except IntegrityError:
        # The same key arrived twice at once: the other request recorded it first.
        async with database.session() as session:
            seen = await received_message(session, received.country, received.idempotency_key)
        if seen is None:
            raise
        return await _replay(database, keys, seen, digest, principal)
    return JSONResponse(answer, status)


def _record(
    keys: KeyRing,
    received: Received,
    digest: str,
    now: datetime,
    case_id: UUID | None,
    status: int,
    answer: dict[str, Any],
) -> LiaisonMessage:
    message_id = uuid4()
    return LiaisonMessage(
        id=message_id,
        flow=MessageFlow.RECEIVED,
        case_id=case_id or received.case_id,
        claimed_case_id=received.claimed_case_id,
        counterpart_country=received.country,
        organisation=received.organisation,
        message_type=received.message_type,
        step=received.step,
        idempotency_key=received.idempotency_key,
        body=seal_text(keys, message_id, received.body.decode("utf-8", errors="replace")),
        body_sha256=digest,
        status=MessageStatus.ACCEPTED if status < 400 else MessageStatus.REFUSED,
        response_status=status,
        response_body=seal_text(keys, message_id, canonical_json(answer), "response_body"),
        created_at=now,
        delivered_at=now,
    )


async def _record_refusal(
    database: Database,
    keys: KeyRing,
    received: Received,
    digest: str,
    now: datetime,
    status: int,
    answer: dict[str, Any],
    principal: Principal,
) -> None:
    """A refused message is kept too (never on another country's case: a claimed case
    that is not the sender's stays a bare id, outside every timeline)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        uow.session.add(_record(keys, received, digest, now, None, status, answer))
        try:
            await uow.commit()
        except IntegrityError:
            return  # a concurrent retry of the same message was recorded first


async def _replay(
    database: Database, keys: KeyRing, seen: LiaisonMessage, digest: str, principal: Principal
) -> Response:
    if seen.body_sha256 != digest:
        raise ProblemError(
            409, "idempotency_key_reused", "this idempotency key was used for another message"
        )
    body = json.loads(open_text(keys, seen, "response_body") or "{}")
    if seen.case_id is not None and (seen.response_status or 200) < 400:
        async with database.unit_of_work(actor=principal.actor) as uow:
            await audit(uow.session, principal, AuditAction.READ, seen.case_id, "liaison_replay")
            await uow.commit()
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
    keys: KeyRing,
    case: RepatriationCase,
    step: CaseStep,
    following: list[Step],
    *,
    include_person: bool,
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
            "details": step_details(keys, step),
            "completed_at": step.completed_at.isoformat(),
        },
        "allowed_next_steps": [
            {"id": item.id, "acting_country": item.acting_country} for item in following
        ],
    }
    if include_person:
        person = person_of(keys, case)
        birth = person["birth_date"]
        body["person"] = {
            **person,
            "birth_date": birth.isoformat() if birth else None,
            "is_child": case.is_child,
        }
        body["consent_to_return"] = {
            "status": case.consent_status,
            "basis": case.consent_basis,
            "recorded_on": case.consent_recorded_on.isoformat(),
        }
    return body

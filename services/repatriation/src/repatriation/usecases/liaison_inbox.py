"""The idempotent receipt of the counterparts' messages: every message received is kept
with the answer it got, keyed by the sender's idempotency key. A retried message gets
the same answer and changes nothing twice; a message refused (unknown case, step out of
order) is recorded too.

The answer recorded is the one the counterpart was given, its status included: a
replay must repeat it exactly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, DomainError, ProblemError, status_of
from nrm_runtime.field_crypto import KeyRing
from repatriation.domain.signing import canonical_json, sha256
from repatriation.store import (
    LiaisonMessage,
    MessageFlow,
    MessageStatus,
    audit,
    open_text,
    received_message,
    seal_text,
)


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


Outcome = tuple[UUID, dict[str, Any]]
"""What applying a message gave: the case it concerned and the answer."""


@dataclass(frozen=True)
class Answer:
    """The answer to a message: its status and body, and whether it repeats the answer
    recorded for an earlier message with the same idempotency key."""

    status: int
    body: dict[str, Any]
    replay: bool = False


async def receive(
    database: Database,
    keys: KeyRing,
    received: Received,
    now: datetime,
    apply: Callable[[UnitOfWork], Awaitable[Outcome]],
    *,
    principal: Principal,
    accepted_status: int,
) -> Answer:
    """Apply a counterpart's message once, record it (sealed) with its answer, answer it.

    ``accepted_status`` is the status of the answer to a message applied (the route's);
    a refused message is answered and recorded with its domain error's status. A message
    whose idempotency key was seen before gets the recorded answer again
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
            case_id, answer = await apply(uow)
            status = accepted_status
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
    return Answer(status, answer)


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
) -> Answer:
    if seen.body_sha256 != digest:
        raise Conflict(
            "this idempotency key was used for another message", code="idempotency_key_reused"
        )
    body = json.loads(open_text(keys, seen, "response_body") or "{}")
    if seen.case_id is not None and (seen.response_status or 200) < 400:
        async with database.unit_of_work(actor=principal.actor) as uow:
            await audit(uow.session, principal, AuditAction.READ, seen.case_id, "liaison_replay")
            await uow.commit()
    return Answer(seen.response_status or 200, body, replay=True)

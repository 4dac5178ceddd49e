"""Messages to the counterparts, queued in the same transaction as the change they report
(the ``liaison_message`` table is the outbox towards the counterparts;
:mod:`repatriation.usecases.delivery` delivers it), and what they say of a case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from nrm_runtime.database import UnitOfWork
from nrm_runtime.field_crypto import KeyRing
from repatriation.domain.signing import canonical_json, sha256
from repatriation.domain.sop import HOME_COUNTRY, Step
from repatriation.store import (
    CaseStep,
    LiaisonMessage,
    MessageFlow,
    MessageStatus,
    RepatriationCase,
    note_queued,
    person_of,
    seal_text,
    step_details,
)


def queue_message(
    uow: UnitOfWork,
    keys: KeyRing,
    case: RepatriationCase,
    *,
    organisation: str,
    message_type: str,
    body: dict[str, Any],
    now: datetime,
    step: str | None = None,
) -> LiaisonMessage:
    """Queue a message about ``case`` to its counterpart country's agencies, in the unit
    of work's transaction (its body sealed at rest; the dispatcher opens it to sign and
    send it)."""
    message_id = uuid4()
    text = canonical_json({"message_id": str(message_id), "message_type": message_type, **body})
    message = LiaisonMessage(
        id=message_id,
        flow=MessageFlow.SENT,
        case_id=case.id,
        counterpart_country=case.counterpart_country,
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
    note_queued(uow.session, case.id)
    return message


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

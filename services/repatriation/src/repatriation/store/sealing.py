"""The person's data at rest: sealed names, birth date, contact names and liaison
message bodies.

Sealed values are bound to their place (table, record id, field): ``repatriation_case``
holds the person, ``repatriation_step`` the counterpart's named contact, and
``liaison_message`` the bodies either way (the first message of a case carries the
person; answers to counterparts quote the case view). Whoever reads one through the API
leaves an audit entry in the same transaction (:mod:`repatriation.store.audit`).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from nrm_runtime.field_crypto import KeyRing
from repatriation.store.tables import CaseStep, LiaisonMessage, RepatriationCase

CASE_TABLE = "repatriation_case"
STEP_TABLE = "repatriation_step"
MESSAGE_TABLE = "liaison_message"


def seal_person(
    keys: KeyRing, case: RepatriationCase, *, given_name: str, family_name: str, birth: date | None
) -> None:
    """Store the person's names and birth date on ``case`` sealed to it."""
    record = str(case.id)
    case.given_name = keys.seal(given_name, table=CASE_TABLE, record_id=record, field="given_name")
    case.family_name = keys.seal(
        family_name, table=CASE_TABLE, record_id=record, field="family_name"
    )
    case.birth_date = (
        keys.seal(birth.isoformat(), table=CASE_TABLE, record_id=record, field="birth_date")
        if birth is not None
        else None
    )


def person_of(keys: KeyRing, case: RepatriationCase) -> dict[str, Any]:
    """The person of ``case`` in clear: names, sex, birth date, estimated age."""
    record = str(case.id)
    birth = (
        date.fromisoformat(
            keys.open(case.birth_date, table=CASE_TABLE, record_id=record, field="birth_date")
        )
        if case.birth_date is not None
        else None
    )
    return {
        "given_name": keys.open(
            case.given_name, table=CASE_TABLE, record_id=record, field="given_name"
        ),
        "family_name": keys.open(
            case.family_name, table=CASE_TABLE, record_id=record, field="family_name"
        ),
        "sex": case.sex,
        "birth_date": birth,
        "estimated_age": case.estimated_age,
    }


def seal_contact(keys: KeyRing, step: CaseStep, contact_name: str | None) -> None:
    step.contact_name = (
        keys.seal(contact_name, table=STEP_TABLE, record_id=str(step.id), field="contact_name")
        if contact_name is not None
        else None
    )


def step_details(keys: KeyRing, step: CaseStep) -> dict[str, Any]:
    """The step's details with its contact's name opened (if it named one)."""
    details = dict(step.details)
    if step.contact_name is not None:
        details["contact_name"] = keys.open(
            step.contact_name, table=STEP_TABLE, record_id=str(step.id), field="contact_name"
        )
    return details


def seal_text(keys: KeyRing, message_id: UUID, text: str, field: str = "body") -> str:
    return keys.seal(text, table=MESSAGE_TABLE, record_id=str(message_id), field=field)


def open_text(keys: KeyRing, message: LiaisonMessage, field: str = "body") -> str | None:
    """A message's ``body`` or ``response_body`` in clear (None if it has none)."""
    sealed = getattr(message, field)
    if sealed is None:
        return None
    return keys.open(sealed, table=MESSAGE_TABLE, record_id=str(message.id), field=field)

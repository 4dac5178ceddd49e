"""NRM repatriation's storage: its tables, the sealing of the person's data, the audit of
who read it, and the selects the use cases and views share."""

from __future__ import annotations

from pathlib import Path

from nrm_runtime.registration import ServiceStorage
from repatriation.store.audit import (
    audit,
    audit_disclosures,
    audit_system_disclosures,
    note_queued,
)
from repatriation.store.sealing import (
    open_text,
    person_of,
    seal_contact,
    seal_person,
    seal_text,
    step_details,
)
from repatriation.store.selects import (
    case_for_counterpart,
    case_for_officer,
    clocks_of,
    messages_of,
    open_case_for_identification,
    open_case_with_reference,
    received_message,
    running_clocks,
    steps_of,
)
from repatriation.store.tables import (
    SEALED_FIELDS,
    CaseStatus,
    CaseStep,
    ClockState,
    HandoverStatus,
    LiaisonMessage,
    MessageFlow,
    MessageStatus,
    RepatriationCase,
    StepClock,
    tables,
)

__all__ = [
    "SEALED_FIELDS",
    "STORAGE",
    "CaseStatus",
    "CaseStep",
    "ClockState",
    "HandoverStatus",
    "LiaisonMessage",
    "MessageFlow",
    "MessageStatus",
    "RepatriationCase",
    "StepClock",
    "audit",
    "audit_disclosures",
    "audit_system_disclosures",
    "case_for_counterpart",
    "case_for_officer",
    "clocks_of",
    "messages_of",
    "note_queued",
    "open_case_for_identification",
    "open_case_with_reference",
    "open_text",
    "person_of",
    "received_message",
    "running_clocks",
    "seal_contact",
    "seal_person",
    "seal_text",
    "step_details",
    "steps_of",
    "tables",
]

# The runtime's commands find the service's database by this (nrm_runtime.registration).
STORAGE = ServiceStorage(
    "repatriation", tables, Path(__file__).parents[1] / "migrations", SEALED_FIELDS
)

"""Identification's storage: its tables, their sealed values, the selects use cases and
views share. ``STORAGE`` is what the runtime's commands find through the ``nrm.services``
entry point."""

from identification.store.tables import (
    SEALED_FIELDS,
    STORAGE,
    ConsentRecord,
    Decision,
    IdentificationCase,
    IdentificationTable,
    IdentityDocument,
    LegacyImportRun,
    LegacyRecord,
    OverdueNotice,
    Person,
    PersonBlockKey,
    PersonLinkHistory,
    PersonRecord,
    PersonWord,
    ReviewPair,
    Screening,
    ScreeningNameKey,
    ScreeningRequest,
    tables,
)

__all__ = [
    "SEALED_FIELDS",
    "STORAGE",
    "ConsentRecord",
    "Decision",
    "IdentificationCase",
    "IdentificationTable",
    "IdentityDocument",
    "LegacyImportRun",
    "LegacyRecord",
    "OverdueNotice",
    "Person",
    "PersonBlockKey",
    "PersonLinkHistory",
    "PersonRecord",
    "PersonWord",
    "ReviewPair",
    "Screening",
    "ScreeningNameKey",
    "ScreeningRequest",
    "tables",
]

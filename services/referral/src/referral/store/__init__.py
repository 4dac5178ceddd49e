"""Referral's storage: its tables, the values sealed in them, and the selects the use
cases share. ``STORAGE`` is the ``nrm.services`` entry point (``referral.store:STORAGE``)."""

from pathlib import Path

from nrm_runtime.registration import ServiceStorage
from referral.store.cases import case_for_identification_case
from referral.store.tables import (
    SEALED_FIELDS,
    AwaitingConsent,
    Delivery,
    DeliveryAttempt,
    FacilityView,
    FollowUpVisit,
    NeedsAssessment,
    ProviderEndpoint,
    Referral,
    ReferralCase,
    ReferralStep,
    ServiceGap,
    split,
    tables,
)

# The runtime's commands find the service's database by this (nrm_runtime.registration).
STORAGE = ServiceStorage(
    "referral", tables, Path(__file__).parent.parent / "migrations", SEALED_FIELDS
)

__all__ = [
    "SEALED_FIELDS",
    "STORAGE",
    "AwaitingConsent",
    "Delivery",
    "DeliveryAttempt",
    "FacilityView",
    "FollowUpVisit",
    "NeedsAssessment",
    "ProviderEndpoint",
    "Referral",
    "ReferralCase",
    "ReferralStep",
    "ServiceGap",
    "case_for_identification_case",
    "split",
    "tables",
]

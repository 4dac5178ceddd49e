"""Referral's tables and the values sealed in them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.field_rotation import SealedColumns
from nrm_runtime.tables import UtcDateTime
from referral.domain.cases import ReferralCaseStatus


def split(value: str) -> list[str]:
    """The values of a comma-separated column (needs, languages...)."""
    return [part for part in value.split(",") if part]


class ReferralTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


class ReferralCase(ReferralTable, table=True):
    """One per identification case: the unique constraint is the second guard against
    a doubled case, after the consumer's processed-message record."""

    __tablename__ = "referral_case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    # None for a reception case opened from an inbound repatriation without one.
    identification_case_id: UUID | None = Field(default=None, unique=True)
    repatriation_case_id: UUID | None = Field(default=None, unique=True)
    status: str = Field(default=ReferralCaseStatus.OPEN, max_length=20)
    sex: str = Field(max_length=20)
    is_child: bool | None = None
    province_code: str | None = Field(default=None, max_length=2)
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    consent_basis: str | None = Field(default=None, max_length=30)
    age_band: str = Field(default="unknown", max_length=20)
    nationality: str | None = Field(default=None, max_length=3)
    exploitation_types: str = Field(default="", max_length=300, description="comma-separated")
    # Consent to share the person's data with the provider (purpose data_sharing).
    data_sharing_consent: bool = False
    # Set when identification announces that consent to referral was withdrawn: the
    # case is kept (it is the record), but nothing more is done on it until renewed.
    consent_withdrawn_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class NeedsAssessment(ReferralTable, table=True):
    """The case's needs assessment; the person's wishes and notes are sealed."""

    __tablename__ = "needs_assessment"

    referral_case_id: UUID = Field(primary_key=True, foreign_key="referral_case.id")
    needs: str = Field(max_length=300, description="comma-separated ReferralNeed values")
    urgency: str = Field(max_length=20)
    special_needs: str = Field(default="", max_length=300)
    languages: str = Field(default="", max_length=100)
    wishes_sealed: str | None = None
    notes_sealed: str | None = None
    assessed_by: str = Field(max_length=200)
    assessed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Referral(ReferralTable, table=True):
    """One referral of a case to one provider's facility, with its lifecycle state."""

    __tablename__ = "referral"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    referral_case_id: UUID = Field(foreign_key="referral_case.id", index=True)
    organisation_id: str = Field(max_length=64, index=True)
    facility_id: UUID
    facility_type: str = Field(max_length=40)
    needs: str = Field(max_length=300)
    state: str = Field(max_length=20, index=True)
    requires_signoff: bool
    kind: str = Field(default="aftercare", max_length=20)  # aftercare | reception
    # The referring officer's contact for the provider: a contact, hence sealed.
    officer_contact_sealed: str | None = None
    answer_due_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    decline_reason: str | None = Field(default=None, max_length=40)
    cancel_reason: str | None = Field(default=None, max_length=40)
    exit_reason: str | None = Field(default=None, max_length=40)
    placement_id: UUID | None = None
    placement_refused: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))


class ReferralStep(ReferralTable, table=True):
    """The referral's history: every transition, who took it, when."""

    __tablename__ = "referral_step"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: UUID = Field(foreign_key="referral.id", index=True)
    action: str = Field(max_length=20)
    from_state: str = Field(max_length=20)
    to_state: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class FacilityView(ReferralTable, table=True):
    """Referral's read model of the shelter registry, from its events (newest version)."""

    __tablename__ = "facility_view"

    facility_id: UUID = Field(primary_key=True)
    state_version: int
    organisation_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    facility_type: str = Field(max_length=40)
    services: str = Field(max_length=400)
    sexes: str = Field(max_length=100)
    min_age: int
    max_age: int
    exploitation_types: str = Field(max_length=400)
    nationalities: str = Field(max_length=200)
    languages: str = Field(max_length=100)
    province_code: str = Field(max_length=2)
    offered_for_referral: bool
    beds_total: int
    beds_occupied: int
    beds_reserved: int
    beds_free: int
    changed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ServiceGap(ReferralTable, table=True):
    """A need of a person no registered provider could meet (once per case and need)."""

    __tablename__ = "service_gap"
    __table_args__ = (UniqueConstraint("referral_case_id", "need"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    referral_case_id: UUID = Field(foreign_key="referral_case.id")
    population_group: str = Field(max_length=30, index=True)
    need: str = Field(max_length=30, index=True)
    province_code: str | None = Field(default=None, max_length=2)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ProviderEndpoint(ReferralTable, table=True):
    """Where an organisation wants its referrals pushed, and the secret that signs them."""

    __tablename__ = "provider_endpoint"

    organisation_id: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=500)
    secret_sealed: str
    registered_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    # A rotated secret keeps signing beside the new one until then: the provider
    # switches its verifier over without losing a notice.
    previous_secret_sealed: str | None = None
    previous_secret_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class Delivery(ReferralTable, table=True):
    """One notice to one provider on one channel, kept until delivered (never dropped).
    A referral's notices on one channel go out in the order of ``created_at``."""

    __tablename__ = "delivery"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    organisation_id: str = Field(max_length=64, index=True)
    referral_id: UUID = Field(foreign_key="referral.id", index=True)
    channel: str = Field(max_length=10)  # webhook | kafka
    body: str = Field(description="The JSON notice: no personal data of the person.")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # Given up after failing for the settings' delivery_give_up_hours: no longer attempted
    # until the provider (or an operator) asks for it again. Still kept.
    dead_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), index=True))
    # When the provider last asked for it again: the give-up time counts from there.
    redelivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class DeliveryAttempt(ReferralTable, table=True):
    """The delivery log: every attempt and its outcome."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: UUID = Field(foreign_key="delivery.id", index=True)
    attempt: int
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int


class FollowUpVisit(ReferralTable, table=True):
    """A visit after reintegration: scheduled on exit, recorded by the visitor."""

    __tablename__ = "follow_up_visit"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    referral_id: UUID = Field(foreign_key="referral.id", index=True)
    due_on: date
    visited_on: date | None = None
    notes_sealed: str | None = None
    recorded_by: str | None = Field(default=None, max_length=200)
    # When the provider was told the visit is due (once).
    due_noticed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class AwaitingConsent(ReferralTable, table=True):
    """A presumed or identified victim without a valid consent to referral yet: the case
    opens when identification announces one."""

    __tablename__ = "awaiting_consent"

    identification_case_id: UUID = Field(primary_key=True)
    sex: str = Field(max_length=20)
    is_child: bool | None = None
    province_code: str | None = Field(default=None, max_length=2)
    noted_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


tables = ReferralTable.metadata

SEALED_FIELDS = [
    SealedColumns(NeedsAssessment.__table__, "referral_case_id", ("wishes_sealed", "notes_sealed")),  # type: ignore[attr-defined]
    SealedColumns(Referral.__table__, "id", ("officer_contact_sealed",)),  # type: ignore[attr-defined]
    SealedColumns(ProviderEndpoint.__table__, "organisation_id", ("secret_sealed",)),  # type: ignore[attr-defined]
    SealedColumns(FollowUpVisit.__table__, "id", ("notes_sealed",)),  # type: ignore[attr-defined]
]

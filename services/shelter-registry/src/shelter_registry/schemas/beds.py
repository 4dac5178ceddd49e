"""Beds as the API takes and gives them: capacity, reservations, placements."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import PlacementExitReason, PopulationGroup
from nrm_contracts.events.shelter_registry import CapacityChangeCause, PlacementRefusalReason
from nrm_runtime.http import RequestModel
from shelter_registry.domain.facilities import PlacementOutcome, ReservationState
from shelter_registry.schemas.facilities import Beds


class CapacityUpdate(RequestModel):
    """The provider's count of beds; ``beds_occupied`` corrects the census when given."""

    beds_total: Beds
    beds_occupied: Beds | None = None


class ReservationCreate(RequestModel):
    referral_id: UUID = Field(description="The accepted referral the bed is held for.")


class PlacementCreate(RequestModel):
    """An admission the provider records itself (the referral service's come as events)."""

    placement_id: UUID = Field(description="Unique per stay: repeating it changes nothing.")
    referral_id: UUID | None = Field(default=None, description="Converts its reservation.")
    population_group: PopulationGroup | None = None
    sex: Sex | None = None
    age_band: AgeBand | None = None


class PlacementEnd(RequestModel):
    exit_reason: PlacementExitReason


class CapacityChangePublic(BaseModel):
    cause: CapacityChangeCause
    beds_total: int
    beds_occupied: int
    beds_reserved: int
    placement_id: UUID | None
    referral_id: UUID | None
    changed_by: str
    changed_at: datetime


class ReservationPublic(BaseModel):
    id: UUID
    facility_id: UUID
    referral_id: UUID
    state: ReservationState
    reserved_at: datetime
    expires_at: datetime
    closed_at: datetime | None


class PlacementPublic(BaseModel):
    id: UUID
    facility_id: UUID
    referral_id: UUID | None
    outcome: PlacementOutcome
    refusal_reason: PlacementRefusalReason | None
    started_at: datetime
    ended_at: datetime | None
    exit_reason: PlacementExitReason | None

"""Shelter-registry's event handlers: the referral service's placements move beds.

The runtime's consumer makes each event count once (its processed-message record is
written in the handler's transaction); the placement id makes each stay count once even
when the referral service publishes it again under a new event id.

A ``placement.started`` that cannot be counted (no free bed, facility not registered or
unknown) is not an error to retry or dead-letter: the refusal is kept on the placement
(``GET /facilities/{id}/placements/{placement_id}``) and announced as
``placement.refused`` on this service's topic, for the referral service to re-route.
"""

from __future__ import annotations

from nrm_contracts.events.referral import PlacementEnded, PlacementStarted
from nrm_contracts.events.shelter_registry import PlacementRefused
from nrm_runtime.consumer import Handler
from nrm_runtime.database import UnitOfWork
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.domain.placements import Admission
from shelter_registry.usecases.capacity import admit, discharge


def placement_handlers(context: ShelterRegistryContext) -> dict[type, Handler]:
    """The handlers of the placement events, telling time by the context's clock."""
    clock = context.clock

    async def on_placement_started(event: PlacementStarted, uow: UnitOfWork) -> None:
        now = clock()
        result = await admit(
            uow,
            Admission(
                placement_id=event.placement_id,
                facility_id=event.facility_id,
                referral_id=event.referral_id,
                referral_case_id=event.referral_case_id,
                population_group=event.population_group,
                sex=event.sex,
                age_band=event.age_band,
                started_at=event.started_at,
            ),
            now,
        )
        if result.refusal_reason is not None and not result.already_known:
            uow.record(
                PlacementRefused(
                    facility_id=event.facility_id,
                    placement_id=event.placement_id,
                    referral_id=event.referral_id,
                    referral_case_id=event.referral_case_id,
                    reason=result.refusal_reason,
                    refused_at=now,
                )
            )

    async def on_placement_ended(event: PlacementEnded, uow: UnitOfWork) -> None:
        await discharge(uow, event.facility_id, event.placement_id, event.exit_reason, clock())

    return {PlacementStarted: on_placement_started, PlacementEnded: on_placement_ended}

"""Referral's handler table for the events it consumes: one function per event type.

A referral case opens for a person presumed (positive preliminary decision) or
identified (positive final decision) as a victim, once per identification case, and
only on a valid consent to referral: an adult's own, a child's guardian's or a
best-interest decision. Without one, the person waits for identification to announce it.
A withdrawal of consent is recorded on the case.

An inbound victim handed over at the border (repatriation's ``handover.completed``) gets
a reception referral to the receiving organisation's facility, sent at once: the
reception was agreed in the bilateral procedure. The shelter registry's facility events
feed referral's directory (:mod:`referral.usecases.directory`); its refusal of a
placement is kept on the referral and escalates it.
"""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select

from nrm_contracts.events.identification import (
    ConsentBasis,
    ConsentChanged,
    ConsentPurpose,
    ConsentStatus,
    VictimDecided,
    VictimIdentified,
    VictimPresumed,
)
from nrm_contracts.events.referral import ReferralCaseOpened, ReferralNeed
from nrm_contracts.events.repatriation import Direction, HandoverCompleted
from nrm_contracts.events.shelter_registry import (
    CapacityChanged,
    FacilityRegistered,
    FacilityStateEvent,
    FacilityStatusChanged,
    FacilityUpdated,
    PlacementRefused,
)
from nrm_runtime.audit import SystemActor
from nrm_runtime.consumer import Handler
from nrm_runtime.database import UnitOfWork
from nrm_runtime.tables import utc_now
from referral.context import ReferralContext
from referral.domain.cases import valid_referral_basis
from referral.domain.lifecycle import Action, Party
from referral.store import AwaitingConsent, Referral, ReferralCase, case_for_identification_case
from referral.store.directory import reception_facility
from referral.usecases.assessment import record_gap
from referral.usecases.directory import apply_facility_state
from referral.usecases.privacy import audit_system_notices
from referral.usecases.referrals import SYSTEM_ACTOR, act, draft

RECEPTION = "reception_referral"
"""The audit's purpose of a reception referral's notice to the receiving organisation."""


async def open_referral_case(event: VictimDecided, uow: UnitOfWork) -> None:
    """Open the referral case of a presumed or identified victim, once, on a valid
    consent; otherwise note the person as awaiting consent."""
    known = await case_for_identification_case(uow.session, event.case_id)
    if known is not None:
        _describe(known, event)
        uow.session.add(known)
        return
    if valid_referral_basis(event.referral_consent_basis, event.is_child):
        waiting = await uow.session.get(AwaitingConsent, event.case_id)
        if waiting is not None:
            await uow.session.delete(waiting)
        case = _open(
            uow,
            event.case_id,
            event.sex,
            event.is_child,
            event.province_code,
            event.referral_consent_basis,
        )
        _describe(case, event)
        return
    if await uow.session.get(AwaitingConsent, event.case_id) is None:
        uow.session.add(
            AwaitingConsent(
                identification_case_id=event.case_id,
                sex=event.sex,
                is_child=event.is_child,
                province_code=event.province_code,
                noted_at=utc_now(),
            )
        )


async def record_consent_change(event: ConsentChanged, uow: UnitOfWork) -> None:
    """Honour a change of consent to referral: a withdrawal (or refusal) marks the case,
    a consent given opens the waiting case or renews a withdrawn one. Consent to data
    sharing decides whether the accepting provider may see the person's details."""
    case = await case_for_identification_case(uow.session, event.case_id)
    if event.purpose is ConsentPurpose.DATA_SHARING:
        if case is not None:
            case.data_sharing_consent = event.status is ConsentStatus.GIVEN
            uow.session.add(case)
        return
    if event.purpose is not ConsentPurpose.REFERRAL:
        return
    if event.status is not ConsentStatus.GIVEN:
        if case is not None and case.consent_withdrawn_at is None:
            case.consent_withdrawn_at = event.recorded_at
            uow.session.add(case)
        return
    if not valid_referral_basis(event.basis, event.is_child):
        return
    if case is not None:
        case.consent_withdrawn_at = None
        case.consent_basis = event.basis
        uow.session.add(case)
        return
    waiting = await uow.session.get(AwaitingConsent, event.case_id)
    if waiting is not None:
        await uow.session.delete(waiting)
        _open(uow, event.case_id, waiting.sex, waiting.is_child, waiting.province_code, event.basis)


def _describe(case: ReferralCase, event: VictimDecided) -> None:
    """What matching needs to know of the person: no name, no birth date."""
    case.age_band = event.age_band
    case.nationality = event.nationality
    case.exploitation_types = ",".join(event.exploitation_types)
    case.data_sharing_consent = ConsentPurpose.DATA_SHARING in event.consented_purposes


def _open(
    uow: UnitOfWork,
    identification_case_id: UUID | None,
    sex: str,
    is_child: bool | None,
    province_code: str | None,
    basis: ConsentBasis | None,
    repatriation_case_id: UUID | None = None,
) -> ReferralCase:
    case = ReferralCase(
        identification_case_id=identification_case_id,
        repatriation_case_id=repatriation_case_id,
        sex=sex,
        is_child=is_child,
        province_code=province_code,
        opened_at=utc_now(),
        consent_basis=basis,
    )
    uow.session.add(case)
    if case.identification_case_id is None:
        # case.opened.v1 names the identification case (required, frozen): a reception
        # case of a person never identified here is announced by its referral.opened.
        return case
    uow.record(
        ReferralCaseOpened(
            referral_case_id=case.id,
            identification_case_id=case.identification_case_id,
            opened_at=case.opened_at,
        )
    )
    return case


async def apply_facility_event(event: FacilityStateEvent, uow: UnitOfWork) -> None:
    await apply_facility_state(uow.session, event)


DIRECTORY_HANDLERS: dict[type, Handler] = {
    FacilityRegistered: apply_facility_event,
    FacilityUpdated: apply_facility_event,
    FacilityStatusChanged: apply_facility_event,
    CapacityChanged: apply_facility_event,
}


def reception_handlers(context: ReferralContext) -> dict[type, Handler]:
    """The handlers that act on referrals, telling time by the context's clock."""

    async def open_reception_referral(event: HandoverCompleted, uow: UnitOfWork) -> None:
        """An inbound victim handed over: a reception referral to the receiving
        organisation's facility, sent at once (once per repatriation case)."""
        if event.direction is not Direction.INBOUND:
            return
        found = await uow.session.exec(
            select(ReferralCase).where(
                col(ReferralCase.repatriation_case_id) == event.repatriation_case_id
            )
        )
        if found.first() is not None:
            return
        case = None
        if event.identification_case_id is not None:
            case = await case_for_identification_case(uow.session, event.identification_case_id)
        if case is None:
            case = _open(
                uow,
                event.identification_case_id,
                event.sex,
                event.is_child,
                event.reception_province_code,
                None,
                repatriation_case_id=event.repatriation_case_id,
            )
        else:
            case.repatriation_case_id = event.repatriation_case_id
        uow.session.add(case)
        await uow.session.flush()
        facility = None
        if event.reception_organisation is not None:
            facility = await reception_facility(
                uow.session, event.reception_organisation, event.reception_province_code
            )
        if facility is None:
            await record_gap(uow, context, case, ReferralNeed.SAFE_ACCOMMODATION)
            return
        needs = [ReferralNeed.SAFE_ACCOMMODATION, ReferralNeed.REINTEGRATION_SUPPORT]
        reception = draft(uow, context, case, facility, needs, None, kind="reception")
        await uow.session.flush()
        await act(uow, context, reception, Action.SUBMIT, Party.COORDINATOR, SYSTEM_ACTOR)
        await audit_system_notices(uow.session, SystemActor.of(context.settings), RECEPTION)

    async def note_placement_refused(event: PlacementRefused, uow: UnitOfWork) -> None:
        """The registry could not count the admission: kept on the referral, escalated."""
        referral = await uow.session.get(Referral, event.referral_id)
        if referral is None or referral.placement_refused is not None:
            return
        referral.placement_refused = event.reason
        referral.escalated_at = context.clock()
        uow.session.add(referral)

    return {
        **DIRECTORY_HANDLERS,
        HandoverCompleted: open_reception_referral,
        PlacementRefused: note_placement_refused,
    }


HANDLERS: dict[type, Handler] = {
    VictimPresumed: open_referral_case,
    VictimIdentified: open_referral_case,
    ConsentChanged: record_consent_change,
}

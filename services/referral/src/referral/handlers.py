"""Referral's event handlers: one function per consumed event type.

A referral case opens for a person presumed (positive preliminary decision) or
identified (positive final decision) as a victim, once per identification case, and
only on a valid consent to referral: an adult's own, a child's guardian's or a
best-interest decision. Without one, the person waits for identification to announce it.
A withdrawal of consent is recorded on the case.
"""

from __future__ import annotations

from uuid import UUID

from nrm_contracts.events.identification import (
    ConsentBasis,
    ConsentChanged,
    ConsentPurpose,
    ConsentStatus,
    VictimDecided,
    VictimIdentified,
    VictimPresumed,
)
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime.consumer import Handler
from nrm_runtime.database import UnitOfWork
from nrm_runtime.tables import utc_now
from referral.store import AwaitingConsent, ReferralCase, case_for_identification_case

CHILD_BASES = frozenset({ConsentBasis.GUARDIAN, ConsentBasis.BEST_INTEREST_DECISION})


def valid_referral_basis(basis: ConsentBasis | None, is_child: bool | None) -> bool:
    """A child is referred on a guardian's consent or a best-interest decision, an adult
    on their own consent; when the age is unknown, any given consent serves."""
    if basis is None:
        return False
    if is_child is True:
        return basis in CHILD_BASES
    if is_child is False:
        return basis is ConsentBasis.OWN_CONSENT
    return True


async def open_referral_case(event: VictimDecided, uow: UnitOfWork) -> None:
    """Open the referral case of a presumed or identified victim, once, on a valid
    consent; otherwise note the person as awaiting consent."""
    if await case_for_identification_case(uow.session, event.case_id) is not None:
        return
    if valid_referral_basis(event.referral_consent_basis, event.is_child):
        waiting = await uow.session.get(AwaitingConsent, event.case_id)
        if waiting is not None:
            await uow.session.delete(waiting)
        _open(
            uow,
            event.case_id,
            event.sex,
            event.is_child,
            event.province_code,
            event.referral_consent_basis,
        )
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
    a consent given opens the waiting case or renews a withdrawn one."""
    if event.purpose is not ConsentPurpose.REFERRAL:
        return
    case = await case_for_identification_case(uow.session, event.case_id)
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


def _open(
    uow: UnitOfWork,
    identification_case_id: UUID,
    sex: str,
    is_child: bool | None,
    province_code: str | None,
    basis: ConsentBasis | None,
) -> None:
    case = ReferralCase(
        identification_case_id=identification_case_id,
        sex=sex,
        is_child=is_child,
        province_code=province_code,
        opened_at=utc_now(),
        consent_basis=basis,
    )
    uow.session.add(case)
    uow.record(
        ReferralCaseOpened(
            referral_case_id=case.id,
            identification_case_id=case.identification_case_id,
            opened_at=case.opened_at,
        )
    )


HANDLERS: dict[type, Handler] = {
    VictimPresumed: open_referral_case,
    VictimIdentified: open_referral_case,
    ConsentChanged: record_consent_change,
}

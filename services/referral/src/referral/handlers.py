"""Referral's event handlers: one function per consumed event type."""

from __future__ import annotations

from nrm_contracts.events.identification import ScreeningRecorded
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime.consumer import Handler
from nrm_runtime.database import UnitOfWork
from nrm_runtime.tables import utc_now
from referral.store import ReferralCase, case_for_identification_case


async def open_referral_case(event: ScreeningRecorded, uow: UnitOfWork) -> None:
    """Open the referral case of an identification case, once.

    (The walking skeleton opens on every screening; the identification issue moves this
    to ``victim.presumed`` / ``victim.identified`` with a consent basis.)
    """
    if await case_for_identification_case(uow.session, event.case_id) is not None:
        return
    case = ReferralCase(
        identification_case_id=event.case_id,
        sex=event.sex,
        is_child=event.is_child,
        province_code=event.province_code,
        opened_at=utc_now(),
    )
    uow.session.add(case)
    uow.record(
        ReferralCaseOpened(
            referral_case_id=case.id,
            identification_case_id=case.identification_case_id,
            opened_at=case.opened_at,
        )
    )


HANDLERS: dict[type, Handler] = {ScreeningRecorded: open_referral_case}

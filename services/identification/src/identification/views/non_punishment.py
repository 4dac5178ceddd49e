"""The non-punishment check: a law-enforcement officer learns whether the person before
them is a presumed or identified victim, whose status offences are not to be prosecuted.

Names match exactly once normalised (case, spacing, diacritics: "Nguyễn Thị Lan" is
"nguyen thi lan"), in either order (family name first or last), in Latin letters or
Khmer script. The names are sealed at rest: the check compares keyed digests of the
normalised full name (``screening_name_key``), never names in clear. Approximate
matching of transliterations belongs to the de-duplication of persons, not here.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.proceedings import access as proceedings_access
from identification.schemas.cases import (
    NonPunishmentAnswer,
    NonPunishmentCheck,
    NonPunishmentMatch,
    NonPunishmentPublic,
)
from identification.store import IdentificationCase, Screening, ScreeningNameKey
from identification.store.sealing import full_name_digests
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing


async def answer_check(
    database: Database,
    asked: NonPunishmentCheck,
    principal: Principal,
    keys: KeyRing,
    authorities: tuple[str, ...],
) -> NonPunishmentAnswer:
    """The check, audited found or not: an officer looking people up by name is
    accountable for each look. The proceedings it names must be the caller's to see."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        if asked.proceedings_id is not None:
            await proceedings_access.asked_about(
                uow.session, asked.proceedings_id, principal, authorities
            )
        answer = await check(uow.session, asked, keys)
        # Found: the victim status of these cases was disclosed to the caller. Not found:
        # the look-up itself is recorded (no name in the entry: the names stay unlogged).
        await record_access(
            uow.session,
            principal,
            action=AuditAction.DISCLOSE if answer.matches else AuditAction.READ,
            resource_type="identification_case" if answer.matches else "non_punishment_check",
            resource_ids=[str(match.case_id) for match in answer.matches] or "no_match",
            purpose="non_punishment",
        )
        await uow.commit()
    return answer


async def check(
    session: AsyncSession, asked: NonPunishmentCheck, keys: KeyRing
) -> NonPunishmentAnswer:
    """The flagged cases whose person bears the names asked about."""
    digests = full_name_digests(keys, asked.given_name, asked.family_name)
    rows = await session.exec(
        select(IdentificationCase)
        .distinct()
        .join(Screening, col(IdentificationCase.id) == col(Screening.case_id))
        .join(ScreeningNameKey, col(ScreeningNameKey.screening_id) == col(Screening.id))
        .where(
            col(ScreeningNameKey.digest).in_(digests),
            col(IdentificationCase.non_punishment_since).is_not(None),
        )
        .order_by(col(IdentificationCase.opened_at))
    )
    return NonPunishmentAnswer(
        proceedings_id=asked.proceedings_id,
        matches=[
            NonPunishmentMatch(
                case_id=case.id,
                person_ref=case.person_ref,
                status=case.status,
                non_punishment=NonPunishmentPublic(applies=True, since=case.non_punishment_since),
            )
            for case in rows.all()
        ],
    )

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

from identification.case_models import (
    NonPunishmentAnswer,
    NonPunishmentCheck,
    NonPunishmentMatch,
    NonPunishmentPublic,
)
from identification.sealing import full_name_digests
from identification.store import IdentificationCase, Screening, ScreeningNameKey
from nrm_runtime.field_crypto import KeyRing


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

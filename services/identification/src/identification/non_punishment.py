"""The non-punishment check: a law-enforcement officer learns whether the person before
them is a presumed or identified victim, whose status offences are not to be prosecuted.

Names match exactly once normalised (case, spacing, diacritics: "Nguyễn Thị Lan" is
"nguyen thi lan"), in either order (family name first or last), in Latin letters or
Khmer script. Approximate matching of transliterations belongs to the de-duplication
of persons, not here.
"""

from __future__ import annotations

import unicodedata

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.case_models import (
    NonPunishmentAnswer,
    NonPunishmentCheck,
    NonPunishmentMatch,
    NonPunishmentPublic,
)
from identification.store import IdentificationCase, Screening


def normalised(name: str) -> str:
    """Lower case, single spaces, no diacritics (Khmer script is left as written)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    latin = "".join(ch for ch in decomposed if not unicodedata.combining(ch) or _is_khmer(ch))
    return " ".join(unicodedata.normalize("NFC", latin.replace("đ", "d")).split())


def _is_khmer(character: str) -> bool:
    return "\u1780" <= character <= "\u17ff"


def _names(screening: Screening) -> set[tuple[str, str]]:
    pairs = {(screening.given_name, screening.family_name)}
    if screening.given_name_khmer and screening.family_name_khmer:
        pairs.add((screening.given_name_khmer, screening.family_name_khmer))
    return {(normalised(given), normalised(family)) for given, family in pairs}


async def check(session: AsyncSession, asked: NonPunishmentCheck) -> NonPunishmentAnswer:
    """The flagged cases whose person bears the names asked about."""
    wanted = (normalised(asked.given_name), normalised(asked.family_name))
    either_order = {wanted, (wanted[1], wanted[0])}
    rows = await session.exec(
        select(Screening, IdentificationCase)
        .join(IdentificationCase, col(IdentificationCase.id) == col(Screening.case_id))
        .where(col(IdentificationCase.non_punishment_since).is_not(None))
    )
    matches: dict[str, NonPunishmentMatch] = {}
    for screening, case in rows.all():
        if _names(screening) & either_order:
            matches[str(case.id)] = NonPunishmentMatch(
                case_id=case.id,
                person_ref=case.person_ref,
                status=case.status,
                non_punishment=NonPunishmentPublic(applies=True, since=case.non_punishment_since),
            )
    return NonPunishmentAnswer(matches=list(matches.values()))

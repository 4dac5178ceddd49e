"""A case's needs assessment as the coordination reads it, and the service-gap report."""

from __future__ import annotations

from sqlmodel import col, func, select

from nrm_contracts.events.referral import PopulationGroup, ReferralNeed
from nrm_runtime.database import Database
from referral.context import ReferralContext
from referral.schemas.needs import AssessmentPublic, GapPublic
from referral.store import NeedsAssessment, ServiceGap, split
from referral.usecases.assessment import TABLE


def assessment_public(context: ReferralContext, assessment: NeedsAssessment) -> AssessmentPublic:
    """The assessment, the person's wishes and notes opened."""
    key = assessment.referral_case_id
    return AssessmentPublic(
        referral_case_id=key,
        needs=[ReferralNeed(n) for n in split(assessment.needs)],
        urgency=assessment.urgency,
        special_needs=split(assessment.special_needs),
        languages=split(assessment.languages),
        wishes=context.open(assessment.wishes_sealed, TABLE, key, "wishes_sealed"),
        notes=context.open(assessment.notes_sealed, TABLE, key, "notes_sealed"),
        assessed_at=assessment.assessed_at,
    )


async def gap_report(
    database: Database,
    group: PopulationGroup | None,
    need: ReferralNeed | None,
    province: str | None,
) -> list[GapPublic]:
    """How many persons' needs nobody could meet, by population group, need and province
    (counts only), the largest first."""
    query = select(
        ServiceGap.population_group, ServiceGap.need, ServiceGap.province_code, func.count()
    ).group_by(
        col(ServiceGap.population_group), col(ServiceGap.need), col(ServiceGap.province_code)
    )
    if group is not None:
        query = query.where(col(ServiceGap.population_group) == group)
    if need is not None:
        query = query.where(col(ServiceGap.need) == need)
    if province is not None:
        query = query.where(col(ServiceGap.province_code) == province)
    async with database.session() as session:
        rows = (await session.exec(query)).all()
    return [
        GapPublic(population_group=g, need=n, province_code=p, count=c)
        for g, n, p, c in sorted(rows, key=lambda r: (-r[3], r[0], r[1], r[2] or ""))
    ]

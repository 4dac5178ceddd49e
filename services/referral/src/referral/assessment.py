"""Needs assessment, matching with the registry's facilities, and service gaps."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.identification import AgeBand
from nrm_contracts.events.referral import ReferralNeed, ServiceGapRecorded
from nrm_runtime.database import UnitOfWork
from referral.context import ReferralContext
from referral.directory import all_facilities
from referral.matching import Candidate, Person, population_group, rank
from referral.models import AssessmentRequest
from referral.store import NeedsAssessment, Referral, ReferralCase, ServiceGap

TABLE = "needs_assessment"


def split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


def person_of(case: ReferralCase, assessment: NeedsAssessment | None) -> Person:
    return Person(
        sex=case.sex,
        age_band=AgeBand(case.age_band),
        is_child=case.is_child,
        nationality=case.nationality,
        exploitation_types=tuple(split(case.exploitation_types)),
        province_code=case.province_code,
        languages=tuple(split(assessment.languages)) if assessment else (),
    )


async def assess(
    uow: UnitOfWork,
    context: ReferralContext,
    case: ReferralCase,
    request: AssessmentRequest,
    actor: str,
) -> NeedsAssessment:
    """Record (or replace) the case's needs assessment; wishes and notes are sealed."""
    assessment = await uow.session.get(NeedsAssessment, case.id)
    if assessment is None:
        assessment = NeedsAssessment(referral_case_id=case.id)  # type: ignore[call-arg]
    assessment.needs = ",".join(dict.fromkeys(request.needs))
    assessment.urgency = request.urgency
    assessment.special_needs = ",".join(dict.fromkeys(request.special_needs))
    assessment.languages = ",".join(dict.fromkeys(request.languages))
    assessment.wishes_sealed = (
        context.seal(request.wishes, TABLE, case.id, "wishes_sealed") if request.wishes else None
    )
    assessment.notes_sealed = (
        context.seal(request.notes, TABLE, case.id, "notes_sealed") if request.notes else None
    )
    assessment.assessed_by = actor
    assessment.assessed_at = context.clock()
    uow.session.add(assessment)
    return assessment


async def tried_facilities(session: AsyncSession, case_id: UUID) -> set[str]:
    """Facilities this case was already referred to (a re-route skips them)."""
    query = select(Referral.facility_id).where(col(Referral.referral_case_id) == case_id)
    return {str(facility_id) for facility_id in (await session.exec(query)).all()}


async def candidates_for(
    session: AsyncSession,
    case: ReferralCase,
    assessment: NeedsAssessment | None,
    need: ReferralNeed,
    *,
    excluding: set[str] | None = None,
) -> list[Candidate]:
    needs = [ReferralNeed(n) for n in split(assessment.needs)] if assessment else [need]
    facilities = [
        f for f in await all_facilities(session) if f.facility_id not in (excluding or set())
    ]
    return rank(facilities, person_of(case, assessment), need, needs)


async def record_gap(
    uow: UnitOfWork, context: ReferralContext, case: ReferralCase, need: ReferralNeed
) -> bool:
    """Record that no provider can meet ``need`` for this case (once per case and need)."""
    known = await uow.session.exec(
        select(ServiceGap).where(
            col(ServiceGap.referral_case_id) == case.id, col(ServiceGap.need) == need
        )
    )
    if known.first() is not None:
        return False
    gap = ServiceGap(
        referral_case_id=case.id,
        population_group=population_group(case.sex, case.is_child),
        need=need,
        province_code=case.province_code,
        recorded_at=context.clock(),
    )
    uow.session.add(gap)
    uow.record(
        ServiceGapRecorded(
            referral_case_id=case.id,
            gap_id=gap.id,
            population_group=population_group(case.sex, case.is_child),
            need=need,
            province_code=case.province_code,
            recorded_at=gap.recorded_at,
        )
    )
    return True

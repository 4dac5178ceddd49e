"""Shaping referrals for the coordination and for the addressed provider."""

from __future__ import annotations

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import ReferralNeed
from nrm_runtime.auth import Principal
from referral.access import party_of
from referral.assessment import split
from referral.context import ReferralContext
from referral.lifecycle import Party, ReferralState, allowed_actions
from referral.models import (
    ProviderReferral,
    ReferralPublic,
    ReferralStepPublic,
    SpecialNeed,
)
from referral.store import NeedsAssessment, Referral, ReferralCase, ReferralStep


def referral_public(
    referral: Referral, steps: list[ReferralStep], principal: Principal
) -> ReferralPublic:
    """The referral as the coordination (or the addressed provider) reads it, with the
    actions ``principal`` may take on it now."""
    state = ReferralState(referral.state)
    return ReferralPublic(
        id=referral.id,
        referral_case_id=referral.referral_case_id,
        organisation_id=referral.organisation_id,
        facility_id=referral.facility_id,
        kind=referral.kind,
        needs=[ReferralNeed(n) for n in split(referral.needs)],
        state=state,
        requires_signoff=referral.requires_signoff,
        allowed_actions=allowed_actions(
            state, lambda action: party_of(principal, referral, action)
        ),
        answer_due_at=referral.answer_due_at,
        escalated_at=referral.escalated_at,
        decline_reason=referral.decline_reason,
        cancel_reason=referral.cancel_reason,
        exit_reason=referral.exit_reason,
        placement_id=referral.placement_id,
        placement_refused=referral.placement_refused,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        history=[
            ReferralStepPublic(
                action=s.action,
                from_state=ReferralState(s.from_state),
                to_state=ReferralState(s.to_state),
                actor=s.actor,
                at=s.at,
            )
            for s in steps
        ],
    )


def provider_referral(
    context: ReferralContext,
    referral: Referral,
    case: ReferralCase,
    assessment: NeedsAssessment | None,
) -> ProviderReferral:
    state = ReferralState(referral.state)
    return ProviderReferral(
        id=referral.id,
        referral_case_id=referral.referral_case_id,
        facility_id=referral.facility_id,
        state=state,
        kind=referral.kind,
        needs=[ReferralNeed(n) for n in split(referral.needs)],
        urgency=Urgency(assessment.urgency) if assessment else None,
        sex=Sex(case.sex),
        age_band=AgeBand(case.age_band),
        is_child=case.is_child,
        languages=split(assessment.languages) if assessment else [],
        special_needs=[SpecialNeed(s) for s in split(assessment.special_needs)]
        if assessment
        else [],
        referring_officer_contact=context.open(
            referral.officer_contact_sealed, "referral", referral.id, "officer_contact_sealed"
        ),
        answer_due_at=referral.answer_due_at,
        allowed_actions=allowed_actions(state, lambda action: Party.PROVIDER),
        updated_at=referral.updated_at,
    )

"""Recording a decision of the Competent Authority, and announcing what it means."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from uuid import UUID

from sqlalchemy.exc import IntegrityError

from identification.domain import decisions
from identification.domain.deadlines import DeadlinePolicy
from identification.domain.decisions import (
    CaseState,
    CaseStatus,
    DecisionOutcome,
    PastDecision,
    ProposedDecision,
)
from identification.domain.victim_profile import profile_of
from identification.schemas.cases import DecisionCreate, DecisionPublic
from identification.store import Decision, IdentificationCase
from identification.store.queries import consents_of, decisions_of, in_force, screenings_of
from identification.store.sealing import seal_rationale
from identification.views.cases import decision_public
from nrm_contracts import EventPayload
from nrm_contracts.events.identification import (
    DeadlineKind,
    DecisionStage,
    VictimIdentified,
    VictimNotIdentified,
    VictimPresumed,
)
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.clock import Clock, today_in_cambodia
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, NotFound
from nrm_runtime.field_crypto import KeyRing


async def record_decision(
    database: Database,
    case_id: UUID,
    form: DecisionCreate,
    principal: Principal,
    *,
    policy: DeadlinePolicy,
    clock: Clock,
    keys: KeyRing,
) -> DecisionPublic:
    """Check the decision against the case's history, record it (its grounds sealed,
    the write audited), move the case on."""
    today = today_in_cambodia(clock)
    proposed = ProposedDecision(
        stage=form.stage,
        outcome=form.outcome,
        decided_on=form.decided_on or today,
        reconsiders=form.reconsiders,
    )
    try:
        async with database.unit_of_work(actor=principal.actor) as uow:
            case = await uow.session.get(IdentificationCase, case_id)
            if case is None:
                raise NotFound("case")
            history = await decisions_of(uow.session, case.id)
            decisions.check(
                [_past(d) for d in history],
                proposed,
                today=today,
                first_encounter=case.first_encounter_date,
            )
            decision = Decision(
                case_id=case.id,
                sequence=len(history) + 1,
                stage=proposed.stage,
                outcome=proposed.outcome,
                rationale_sealed="",
                decided_on=proposed.decided_on,
                decided_by=principal.subject,
                decided_by_organisation=principal.organisation,
                reconsiders_id=proposed.reconsiders,
                recorded_at=clock(),
            )
            seal_rationale(keys, decision, form.rationale)
            _store_state(case, decisions.apply(_state(case), proposed, policy))
            uow.session.add(decision)
            await record_access(
                uow.session,
                principal,
                action=AuditAction.WRITE,
                resource_type="identification_case",
                resource_ids=str(case.id),
                purpose="identification_decision",
            )
            event = await _announcement(uow, case, decision)
            if event is not None:
                uow.record(event)
            await uow.commit()
    except IntegrityError:
        raise Conflict("another decision on this case was recorded at the same time") from None
    return decision_public(decision, keys)


def _past(decision: Decision) -> PastDecision:
    return PastDecision(
        id=decision.id,
        stage=DecisionStage(decision.stage),
        outcome=DecisionOutcome(decision.outcome),
        decided_on=decision.decided_on,
    )


def _state(case: IdentificationCase) -> CaseState:
    return CaseState(
        status=CaseStatus(case.status),
        stage=DecisionStage(case.stage) if case.stage else None,
        first_encounter_date=case.first_encounter_date,
        preliminary_due_on=case.preliminary_due_on,
        final_due_on=case.final_due_on,
        recovery_period_ends_on=case.recovery_period_ends_on,
        next_deadline=DeadlineKind(case.next_deadline) if case.next_deadline else None,
        next_deadline_on=case.next_deadline_on,
        non_punishment_since=case.non_punishment_since,
    )


def _store_state(case: IdentificationCase, state: CaseState) -> None:
    for name, value in asdict(state).items():
        setattr(case, name, value)


async def _announcement(
    uow: UnitOfWork, case: IdentificationCase, decision: Decision
) -> EventPayload | None:
    outcome = DecisionOutcome(decision.outcome)
    if outcome is DecisionOutcome.MORE_INFORMATION_NEEDED:
        return None
    if outcome is DecisionOutcome.NOT_IDENTIFIED:
        return VictimNotIdentified(
            case_id=case.id,
            decision_id=decision.id,
            person_ref=case.person_ref,
            stage=DecisionStage(decision.stage),
            decided_on=decision.decided_on,
        )
    profile = profile_of(
        await screenings_of(uow.session, case.id),
        in_force(await consents_of(uow.session, case.id)),
    )
    common = {
        "case_id": case.id,
        "decision_id": decision.id,
        "person_ref": case.person_ref,
        "decided_on": decision.decided_on,
        **asdict(profile),
    }
    if decision.stage == DecisionStage.PRELIMINARY:
        return VictimPresumed(
            **common,
            recovery_period_ends_on=_required(case.recovery_period_ends_on),
            final_decision_due_on=_required(case.final_due_on),
        )
    return VictimIdentified(**common)


def _required(day: date | None) -> date:
    if day is None:  # set by every positive preliminary decision
        raise ValueError("a positive preliminary decision sets this date")
    return day

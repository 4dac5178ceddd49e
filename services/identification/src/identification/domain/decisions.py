"""The Competent Authority's decisions: what may be decided when, and what follows.

Two stages, like the UK NRM: a preliminary decision (reasonable grounds) which opens the
recovery and reflection period, and a final one (conclusive grounds) which needs a
positive preliminary decision first. Decisions are append-only; a reconsideration is a
new decision naming the one it revisits. Pure: the use case loads and stores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from identification.domain.deadlines import DeadlinePolicy
from nrm_contracts.events.identification import DeadlineKind, DecisionStage
from nrm_runtime.errors import Conflict, Invalid


class DecisionOutcome(StrEnum):
    IDENTIFIED = "identified"
    NOT_IDENTIFIED = "not_identified"
    MORE_INFORMATION_NEEDED = "more_information_needed"


class CaseStatus(StrEnum):
    AWAITING_PRELIMINARY_DECISION = "awaiting_preliminary_decision"
    MORE_INFORMATION_NEEDED = "more_information_needed"
    PRESUMED_VICTIM = "presumed_victim"
    IDENTIFIED = "identified"
    NOT_IDENTIFIED = "not_identified"


POSITIVE = {CaseStatus.PRESUMED_VICTIM, CaseStatus.IDENTIFIED}


@dataclass(frozen=True)
class PastDecision:
    id: UUID
    stage: DecisionStage
    outcome: DecisionOutcome
    decided_on: date


@dataclass(frozen=True)
class ProposedDecision:
    stage: DecisionStage
    outcome: DecisionOutcome
    decided_on: date
    reconsiders: UUID | None = None


@dataclass(frozen=True)
class CaseState:
    """The current state of a case, as kept on its row."""

    status: CaseStatus
    stage: DecisionStage | None
    first_encounter_date: date
    preliminary_due_on: date
    final_due_on: date | None = None
    recovery_period_ends_on: date | None = None
    next_deadline: DeadlineKind | None = DeadlineKind.PRELIMINARY_DECISION
    next_deadline_on: date | None = None
    non_punishment_since: date | None = None


def in_force(history: list[PastDecision], stage: DecisionStage) -> PastDecision | None:
    """The decision of ``stage`` in force: the latest one (``history`` is in order)."""
    of_stage = [decision for decision in history if decision.stage is stage]
    return of_stage[-1] if of_stage else None


def check(
    history: list[PastDecision], proposed: ProposedDecision, *, today: date, first_encounter: date
) -> None:
    """Raise :class:`Conflict` (the case's state) or :class:`Invalid` (a field) unless
    ``proposed`` may follow ``history``."""
    if proposed.decided_on > today:
        raise Invalid("the decision date is in the future", field="decided_on")
    if proposed.decided_on < first_encounter:
        raise Invalid("the decision is dated before the first screening", field="decided_on")
    current = in_force(history, proposed.stage)
    if proposed.reconsiders is not None:
        _check_reconsideration(history, proposed, current)
    elif current is not None and current.outcome is not DecisionOutcome.MORE_INFORMATION_NEEDED:
        raise Conflict(
            f"a {proposed.stage} decision was made: a change is a reconsideration naming it"
        )
    final = in_force(history, DecisionStage.FINAL)
    if (
        proposed.stage is DecisionStage.PRELIMINARY
        and final is not None
        and (final.outcome is not DecisionOutcome.MORE_INFORMATION_NEEDED)
    ):
        raise Conflict("the case has a final decision: reconsider that one")
    if proposed.stage is DecisionStage.FINAL:
        preliminary = in_force(history, DecisionStage.PRELIMINARY)
        if preliminary is None:
            raise Conflict("a final decision needs a preliminary decision first")
        if preliminary.outcome is not DecisionOutcome.IDENTIFIED:
            raise Conflict("a final decision needs a positive preliminary decision first")
        if proposed.decided_on < preliminary.decided_on:
            raise Invalid(
                "the final decision is dated before the preliminary one", field="decided_on"
            )


def _check_reconsideration(
    history: list[PastDecision], proposed: ProposedDecision, current: PastDecision | None
) -> None:
    revisited = next((d for d in history if d.id == proposed.reconsiders), None)
    if revisited is None:
        raise Invalid("not a decision of this case", field="reconsiders")
    if revisited.stage is not proposed.stage:
        raise Invalid("a reconsideration revisits a decision of its own stage", field="reconsiders")
    if current is None or current.id != revisited.id:
        raise Conflict("that decision was already revisited by a later one")
    if proposed.decided_on < revisited.decided_on:
        raise Invalid(
            "the reconsideration is dated before the decision it revisits", field="decided_on"
        )


def apply(state: CaseState, proposed: ProposedDecision, policy: DeadlinePolicy) -> CaseState:
    """The case's state after ``proposed`` (checked by :func:`check`)."""
    day = proposed.decided_on
    stage = proposed.stage
    if proposed.outcome is DecisionOutcome.MORE_INFORMATION_NEEDED:
        # The clock keeps running: asking for more does not stop the deadline.
        return replace(state, status=CaseStatus.MORE_INFORMATION_NEEDED, stage=stage)
    if proposed.outcome is DecisionOutcome.NOT_IDENTIFIED:
        return replace(
            state,
            status=CaseStatus.NOT_IDENTIFIED,
            stage=stage,
            next_deadline=None,
            next_deadline_on=None,
            non_punishment_since=None,
        )
    since = state.non_punishment_since or day
    if stage is DecisionStage.PRELIMINARY:
        final_due = policy.final_due(day)
        return replace(
            state,
            status=CaseStatus.PRESUMED_VICTIM,
            stage=stage,
            final_due_on=final_due,
            recovery_period_ends_on=policy.recovery_period_end(day),
            next_deadline=DeadlineKind.FINAL_DECISION,
            next_deadline_on=final_due,
            non_punishment_since=since,
        )
    return replace(
        state,
        status=CaseStatus.IDENTIFIED,
        stage=stage,
        next_deadline=None,
        next_deadline_on=None,
        non_punishment_since=since,
    )

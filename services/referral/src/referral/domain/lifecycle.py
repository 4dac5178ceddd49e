"""The referral lifecycle: a strict state machine, pure (compare FHIR Task, Primero).

draft → awaiting_signoff (residential aftercare: MOSVY signs off) → sent → accepted |
declined | expired; accepted → admitted → exited → closed; cancelled from any state
before admission. Each action is allowed to one party only: the NRM coordinator, the
MOSVY officer who signs off, the provider the referral is addressed to, or the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from nrm_contracts.events.referral import (
    CancellationReason,
    DeclineReason,
    PlacementExitReason,
)
from nrm_runtime.errors import Invalid


class ReferralState(StrEnum):
    DRAFT = "draft"
    AWAITING_SIGNOFF = "awaiting_signoff"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    ADMITTED = "admitted"
    EXITED = "exited"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    SIGN_OFF = "sign-off"
    ACCEPT = "accept"
    DECLINE = "decline"
    ADMIT = "admit"
    EXIT = "exit"
    CLOSE = "close"
    CANCEL = "cancel"
    EXPIRE = "expire"


class Party(StrEnum):
    """Who may take an action: the roles are mapped onto parties by the API."""

    COORDINATOR = "coordinator"  # the NRM coordinator (a ministry case manager)
    SIGNING_OFFICER = "signing_officer"  # MOSVY, for residential aftercare
    PROVIDER = "provider"  # staff of the organisation the referral is addressed to
    CLOCK = "clock"  # the service itself, when a deadline passes


@dataclass(frozen=True)
class Transition:
    action: Action
    source: ReferralState
    target: ReferralState
    party: Party


S = ReferralState
_OPEN_BEFORE_ADMISSION = (S.DRAFT, S.AWAITING_SIGNOFF, S.SENT, S.ACCEPTED)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.SUBMIT, S.DRAFT, S.AWAITING_SIGNOFF, Party.COORDINATOR),
    Transition(Action.SUBMIT, S.DRAFT, S.SENT, Party.COORDINATOR),
    Transition(Action.SIGN_OFF, S.AWAITING_SIGNOFF, S.SENT, Party.SIGNING_OFFICER),
    Transition(Action.ACCEPT, S.SENT, S.ACCEPTED, Party.PROVIDER),
    Transition(Action.DECLINE, S.SENT, S.DECLINED, Party.PROVIDER),
    Transition(Action.EXPIRE, S.SENT, S.EXPIRED, Party.CLOCK),
    Transition(Action.ADMIT, S.ACCEPTED, S.ADMITTED, Party.PROVIDER),
    Transition(Action.EXIT, S.ADMITTED, S.EXITED, Party.PROVIDER),
    Transition(Action.CLOSE, S.EXITED, S.CLOSED, Party.COORDINATOR),
    *(
        Transition(Action.CANCEL, state, S.CANCELLED, Party.COORDINATOR)
        for state in _OPEN_BEFORE_ADMISSION
    ),
)

TERMINAL = frozenset({S.DECLINED, S.EXPIRED, S.CLOSED, S.CANCELLED})
# States in which the provider has it (the feed and the provider's view show these).
VISIBLE_TO_PROVIDER = frozenset(set(ReferralState) - {S.DRAFT, S.AWAITING_SIGNOFF})


class TransitionRefused(Exception):
    """The action does not apply to the referral's state (→ 409 with what does)."""

    def __init__(self, action: Action, state: ReferralState) -> None:
        self.action = action
        self.state = state
        self.allowed = allowed_actions(state)
        super().__init__(self.explained(self.allowed))

    def explained(self, allowed: list[str]) -> str:
        """The refusal, naming ``allowed`` (the caller's own actions, when known)."""
        if allowed:
            listed = ", ".join(allowed)
        elif self.state in TERMINAL:
            listed = "none: the referral has ended"
        else:
            listed = "none of yours"
        return f"cannot {self.action} a referral that is {self.state}; allowed now: {listed}"


class NotYourAction(Exception):
    """The action applies, but not to this party (→ 403)."""


def allowed_actions(
    state: ReferralState, capacity: Callable[[Action], Party] | None = None
) -> list[str]:
    """The actions a caller may take on a referral in ``state``, in lifecycle order, each
    once: never the clock's (the service takes them itself); with ``capacity`` (in which
    party the caller would take each action), only those the caller's party takes."""
    seen: list[str] = []
    for transition in TRANSITIONS:
        if (
            transition.source is state
            and transition.party is not Party.CLOCK
            and transition.action not in seen
            and (capacity is None or capacity(transition.action) is transition.party)
        ):
            seen.append(transition.action)
    return seen


def next_state(
    state: ReferralState, action: Action, party: Party, *, requires_signoff: bool = False
) -> ReferralState:
    """Where ``action`` by ``party`` takes a referral in ``state``.

    A submitted referral waits for sign-off when it ``requires_signoff``; otherwise it
    goes to the provider at once.
    """
    candidates = [t for t in TRANSITIONS if t.source is state and t.action is action]
    if not candidates:
        raise TransitionRefused(action, state)
    if candidates[0].party is not party:
        raise NotYourAction(f"only the {candidates[0].party.replace('_', ' ')} may {action}")
    if action is Action.SUBMIT:
        return S.AWAITING_SIGNOFF if requires_signoff else S.SENT
    return candidates[0].target


def reason_for(
    action: Action, reason: str | None, exit_reason: PlacementExitReason | None
) -> DeclineReason | CancellationReason | None:
    """The action's reason code; 422 naming the field when missing, unknown or not asked."""
    vocabularies: dict[Action, type[DeclineReason] | type[CancellationReason]] = {
        Action.DECLINE: DeclineReason,
        Action.CANCEL: CancellationReason,
    }
    vocabulary = vocabularies.get(action)
    if action is Action.EXIT and exit_reason is None:
        raise Invalid("exit needs an exit_reason", field="exit_reason")
    if action is not Action.EXIT and exit_reason is not None:
        raise Invalid(f"{action} takes no exit_reason", field="exit_reason")
    if vocabulary is None:
        if reason is not None:
            raise Invalid(f"{action} takes no reason", field="reason")
        return None
    codes = ", ".join(vocabulary)
    if reason is None:
        raise Invalid(f"{action} needs a reason: one of {codes}", field="reason")
    try:
        return vocabulary(reason)
    except ValueError:
        raise Invalid(
            f"unknown {action} reason {reason!r}: one of {codes}", field="reason"
        ) from None

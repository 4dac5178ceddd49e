"""The referral state machine, transition by transition (pure)."""

from __future__ import annotations

import pytest

from referral.domain.lifecycle import (
    Action,
    NotYourAction,
    Party,
    ReferralState,
    TransitionRefused,
    allowed_actions,
    next_state,
)

S, A, P = ReferralState, Action, Party

ALLOWED = [
    (S.DRAFT, A.SUBMIT, P.COORDINATOR, False, S.SENT),
    (S.DRAFT, A.SUBMIT, P.COORDINATOR, True, S.AWAITING_SIGNOFF),
    (S.AWAITING_SIGNOFF, A.SIGN_OFF, P.SIGNING_OFFICER, True, S.SENT),
    (S.SENT, A.ACCEPT, P.PROVIDER, False, S.ACCEPTED),
    (S.SENT, A.DECLINE, P.PROVIDER, False, S.DECLINED),
    (S.SENT, A.EXPIRE, P.CLOCK, False, S.EXPIRED),
    (S.ACCEPTED, A.ADMIT, P.PROVIDER, False, S.ADMITTED),
    (S.ADMITTED, A.EXIT, P.PROVIDER, False, S.EXITED),
    (S.EXITED, A.CLOSE, P.COORDINATOR, False, S.CLOSED),
    (S.DRAFT, A.CANCEL, P.COORDINATOR, False, S.CANCELLED),
    (S.AWAITING_SIGNOFF, A.CANCEL, P.COORDINATOR, True, S.CANCELLED),
    (S.SENT, A.CANCEL, P.COORDINATOR, False, S.CANCELLED),
    (S.ACCEPTED, A.CANCEL, P.COORDINATOR, False, S.CANCELLED),
]


@pytest.mark.parametrize(("state", "action", "party", "signoff", "target"), ALLOWED)
def test_each_allowed_transition_leads_to_its_state(state, action, party, signoff, target) -> None:
    assert next_state(state, action, party, requires_signoff=signoff) is target


ALLOWED_PAIRS = {(state, action) for state, action, *_ in ALLOWED}
REFUSED = [(s, a) for s in ReferralState for a in Action if (s, a) not in ALLOWED_PAIRS]


@pytest.mark.parametrize(("state", "action"), REFUSED)
def test_every_other_transition_is_refused_naming_what_is_allowed(state, action) -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_state(state, action, Party.COORDINATOR)

    assert refused.value.allowed == allowed_actions(state)
    assert "allowed now:" in str(refused.value)


WRONG_PARTY = [
    (S.AWAITING_SIGNOFF, A.SIGN_OFF, P.COORDINATOR),
    (S.AWAITING_SIGNOFF, A.SIGN_OFF, P.PROVIDER),
    (S.SENT, A.ACCEPT, P.COORDINATOR),
    (S.SENT, A.DECLINE, P.SIGNING_OFFICER),
    (S.SENT, A.EXPIRE, P.PROVIDER),
    (S.ACCEPTED, A.ADMIT, P.COORDINATOR),
    (S.ADMITTED, A.EXIT, P.COORDINATOR),
    (S.EXITED, A.CLOSE, P.PROVIDER),
    (S.SENT, A.CANCEL, P.PROVIDER),
    (S.DRAFT, A.SUBMIT, P.PROVIDER),
]


@pytest.mark.parametrize(("state", "action", "party"), WRONG_PARTY)
def test_each_transition_is_taken_only_by_its_party(state, action, party) -> None:
    with pytest.raises(NotYourAction):
        next_state(state, action, party)


def test_ended_referrals_allow_nothing() -> None:
    for state in (S.DECLINED, S.EXPIRED, S.CLOSED, S.CANCELLED):
        assert allowed_actions(state) == []

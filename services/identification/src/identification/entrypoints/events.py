"""What identification consumes: referral's and repatriation's events, kept as the
whereabouts read model of the prosecution's status view."""

from __future__ import annotations

from typing import Any

from identification.proceedings import whereabouts
from nrm_contracts import Topic
from nrm_contracts.events.referral import (
    PlacementEnded,
    PlacementStarted,
    ReferralCaseOpened,
    ReferralOpened,
)
from nrm_contracts.events.repatriation import (
    HandoverCompleted,
    RepatriationClosed,
    RepatriationProposed,
)
from nrm_runtime.consumer import Handler, Subscription

CONSUMER_GROUP = "identification"

HANDLERS: dict[Any, Handler] = {
    ReferralCaseOpened: whereabouts.on_referral_case_opened,
    ReferralOpened: whereabouts.on_referral_opened,
    PlacementStarted: whereabouts.on_placement_started,
    PlacementEnded: whereabouts.on_placement_ended,
    RepatriationProposed: whereabouts.on_repatriation_proposed,
    HandoverCompleted: whereabouts.on_handover_completed,
    RepatriationClosed: whereabouts.on_repatriation_closed,
}

SUBSCRIPTIONS = [
    Subscription(
        consumer_group=CONSUMER_GROUP,
        topics=(Topic.REFERRAL, Topic.REPATRIATION),
        handlers=HANDLERS,
    )
]

"""The whereabouts read model, from referral's and repatriation's events as identification's
consumer hands them over: in assistance, reintegrated, repatriated (and where to) or
whereabouts unknown; the NRM organisation to contact, never the shelter; events of the
two topics in any order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from identification.entrypoints.events import HANDLERS
from identification.proceedings.store import CaseWhereabouts
from nrm_contracts import Actor, EventPayload
from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import (
    PlacementEnded,
    PlacementExitReason,
    PlacementStarted,
    PopulationGroup,
    ReferralCaseOpened,
    ReferralNeed,
    ReferralOpened,
)
from nrm_contracts.events.repatriation import (
    CaseOrigin,
    ClosureOutcome,
    Direction,
    HandoverCompleted,
    RepatriationClosed,
    RepatriationProposed,
)

T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
MOSVY = Actor("mosvy", "competent_authority")
CASE_MANAGER = Actor("mosvy-poipet-transit", "case_manager")
SHELTER = Actor("ngo-shelter-a", "provider_staff")
REPATRIATION = Actor("mosvy", "case_manager")


class Projection:
    """Feeds events to the handlers as the consumer does: one unit of work each, with
    the event's actor."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.database = client.app.state.database
        self.case_id = uuid4()
        self.referral_case_id = uuid4()
        self.repatriation_case_id = uuid4()
        self.facility_id = uuid4()

    def feed(self, event: EventPayload, actor: Actor) -> None:
        async def _handle() -> None:
            async with self.database.unit_of_work(actor=actor) as uow:
                await HANDLERS[type(event)](event, uow)
                await uow.commit()

        self.client.portal.call(_handle)

    def state(self, case_id: UUID | None = None) -> tuple[str, str | None, str | None] | None:
        async def _read() -> CaseWhereabouts | None:
            async with self.database.session() as session:
                found: CaseWhereabouts | None = await session.get(
                    CaseWhereabouts, case_id or self.case_id
                )
                return found

        row = self.client.portal.call(_read)
        return None if row is None else (row.status, row.country, row.contact_organisation)

    def opened(self, at: datetime = T0) -> None:
        self.feed(
            ReferralCaseOpened(
                referral_case_id=self.referral_case_id,
                identification_case_id=self.case_id,
                opened_at=at,
            ),
            MOSVY,
        )

    def _placement(self) -> dict[str, Any]:
        return {
            "referral_case_id": self.referral_case_id,
            "referral_id": uuid4(),
            "placement_id": uuid4(),
            "facility_id": self.facility_id,
            "population_group": PopulationGroup.ADULT_WOMEN,
            "sex": Sex.FEMALE,
            "age_band": AgeBand.FROM_25_TO_39,
        }

    def admitted(self, at: datetime) -> None:
        self.feed(PlacementStarted(**self._placement(), started_at=at), SHELTER)

    def exited(self, reason: PlacementExitReason, at: datetime) -> None:
        self.feed(PlacementEnded(**self._placement(), exit_reason=reason, ended_at=at), SHELTER)

    def _return(self, direction: Direction) -> dict[str, Any]:
        return {
            "repatriation_case_id": self.repatriation_case_id,
            "direction": direction,
            "counterpart_country": "VNM",
        }

    def proposed(self, direction: Direction = Direction.OUTBOUND) -> None:
        self.feed(
            RepatriationProposed(
                **self._return(direction),
                sop_id="khm-vnm-2009",
                sop_version="2009",
                origin=CaseOrigin.OFFICER,
                identification_case_id=self.case_id,
                sex=Sex.FEMALE,
                is_child=False,
                proposed_at=T0,
            ),
            REPATRIATION,
        )

    def handed_over(self, at: datetime, direction: Direction = Direction.OUTBOUND) -> None:
        self.feed(
            HandoverCompleted(
                **self._return(direction),
                identification_case_id=self.case_id,
                handed_over_on=date(2026, 4, 1),
                border_point="bavet-moc-bai",
                sex=Sex.FEMALE,
                is_child=False,
                completed_at=at,
            ),
            REPATRIATION,
        )


@pytest.fixture
def projection(client) -> Projection:
    return Projection(client)


def _at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def test_a_referral_case_puts_the_person_in_assistance_with_mosvy_as_contact(
    projection,
) -> None:
    projection.opened()

    assert projection.state() == ("in_assistance", None, "mosvy")


def test_the_referring_case_manager_becomes_the_contact_never_the_shelter(projection) -> None:
    projection.opened()
    projection.feed(
        ReferralOpened(
            referral_case_id=projection.referral_case_id,
            referral_id=uuid4(),
            organisation_id="ngo-shelter-a",
            facility_id=projection.facility_id,
            needs=[ReferralNeed.SAFE_ACCOMMODATION],
            requires_signoff=True,
            opened_at=_at(1),
        ),
        CASE_MANAGER,
    )
    projection.admitted(_at(2))

    assert projection.state() == ("in_assistance", None, "mosvy-poipet-transit")


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (PlacementExitReason.REINTEGRATED, "reintegrated"),
        (PlacementExitReason.TRANSFERRED, "in_assistance"),
        (PlacementExitReason.LEFT, "whereabouts_unknown"),
        (PlacementExitReason.OTHER, "whereabouts_unknown"),
    ],
)
def test_a_placement_ending_says_where_the_person_went(projection, reason, status) -> None:
    projection.opened()
    projection.admitted(_at(1))

    projection.exited(reason, _at(20))

    assert projection.state() == (status, None, "mosvy")


def test_an_outbound_handover_is_a_repatriation_to_the_counterpart_country(projection) -> None:
    projection.opened()
    projection.admitted(_at(1))
    projection.proposed()

    projection.handed_over(_at(30))

    assert projection.state() == ("repatriated", "VNM", "mosvy")


def test_the_shelters_exit_to_repatriation_keeps_the_country_whichever_comes_first(
    projection,
) -> None:
    projection.opened()
    projection.admitted(_at(1))
    projection.proposed()
    # The shelter reports the exit after the handover, dated the day before it.
    projection.handed_over(_at(30))
    projection.exited(PlacementExitReason.REPATRIATED, _at(29))

    assert projection.state() == ("repatriated", "VNM", "mosvy")


def test_an_exit_to_repatriation_learns_its_country_from_a_later_handover(projection) -> None:
    projection.opened()
    projection.admitted(_at(1))
    projection.exited(PlacementExitReason.REPATRIATED, _at(31))
    projection.proposed()

    projection.handed_over(_at(30))  # the topics' order differs from the events' own

    assert projection.state() == ("repatriated", "VNM", "mosvy")


def test_an_older_event_from_the_other_topic_does_not_overwrite_a_newer_status(
    projection,
) -> None:
    projection.opened()
    projection.proposed()
    projection.handed_over(_at(30))

    projection.admitted(_at(2))  # referral's topic is late

    assert projection.state() == ("repatriated", "VNM", "mosvy")


def test_an_inbound_handover_brings_the_person_into_assistance(projection) -> None:
    projection.proposed(Direction.INBOUND)

    projection.handed_over(_at(5), Direction.INBOUND)

    assert projection.state() == ("in_assistance", None, None)


def test_a_return_closed_as_returned_is_a_repatriation(projection) -> None:
    projection.opened()
    projection.proposed()

    projection.feed(
        RepatriationClosed(
            **projection._return(Direction.OUTBOUND),
            outcome=ClosureOutcome.RETURNED,
            closed_at=_at(40),
        ),
        REPATRIATION,
    )

    assert projection.state() == ("repatriated", "VNM", "mosvy")


def test_events_of_cases_it_does_not_know_leave_no_trace(projection) -> None:
    projection.admitted(_at(1))  # no referral case opened for it here
    projection.feed(
        HandoverCompleted(
            **projection._return(Direction.OUTBOUND),
            handed_over_on=date(2026, 4, 1),
            border_point="bavet-moc-bai",
            sex=Sex.FEMALE,
            is_child=False,
            completed_at=_at(3),
        ),
        REPATRIATION,
    )

    assert projection.state() is None

"""Referral's directory of the registry is rebuilt by replaying the registry's events:
in any order, with duplicates, the newest state of each facility wins."""

from __future__ import annotations

import random
from uuid import UUID

from sqlmodel import select

from nrm_contracts import Envelope
from referral.store import FacilityView
from referral.usecases.directory import replay

GIRLS_A = UUID("00000000-0000-4000-8000-00000000000a")
GIRLS_B = UUID("00000000-0000-4000-8000-00000000000b")


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _history(facility_event) -> list[Envelope]:
    beds = [
        {"beds_total": 10, "beds_occupied": n, "beds_reserved": 0, "beds_free": 10 - n}
        for n in range(4)
    ]
    events = [
        facility_event(GIRLS_A, "ngo-shelter-a", state_version=v + 1, capacity=beds[v])
        for v in range(4)
    ] + [facility_event(GIRLS_B, "ngo-shelter-b", state_version=1)]
    return [
        Envelope(source="/nrm/shelter-registry", data=event, traceparent=TRACEPARENT)
        for event in events
    ]


async def _directory(database) -> dict[str, tuple[int, int]]:
    async with database.session() as session:
        views = (await session.exec(select(FacilityView))).all()
    return {str(v.facility_id): (v.state_version, v.beds_free) for v in views}


async def test_replaying_the_topic_rebuilds_the_same_directory(
    referral_database, facility_event
) -> None:
    history = _history(facility_event)
    await replay(referral_database, history)
    built = await _directory(referral_database)

    shuffled = history + history[:2]
    random.Random(7).shuffle(shuffled)
    await replay(referral_database, shuffled)

    assert await _directory(referral_database) == built
    assert built[str(GIRLS_A)] == (4, 7)
    assert built[str(GIRLS_B)] == (1, 5)

"""Failed authentications shared by a service's replicas through its real database
(SQLite and PostgreSQL): two replicas, each with its own limiters in memory, one table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.exc import OperationalError

from nrm_runtime.database import Database
from nrm_runtime.failure_sharing import BUCKET_SECONDS, SharedFailureCounts
from nrm_runtime.hardening import AuthFailureLimiter
from nrm_runtime.tables import auth_failure_table

LIMIT = 10
WINDOW = 60.0
ADDRESS = "198.51.100.7"
GATEWAY = "203.0.113.9"


class Replica:
    """One process: its limiters (on a shared fake clock) and its exchange."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.addresses = AuthFailureLimiter(LIMIT, WINDOW, clock=now)
        self.credentials = self.addresses.like_this()
        self.sharing = SharedFailureCounts(
            {"address": self.addresses, "credential": self.credentials}, 1.0, wall_clock=now
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_an_address_over_the_limit_across_replicas_is_refused_by_each(
    database: Database,
) -> None:
    clock = Clock()
    first, second = Replica(clock), Replica(clock)
    # Spread over the two replicas, each below the limit on its own.
    for _ in range(LIMIT // 2):
        first.addresses.record_failure(ADDRESS)
        second.addresses.record_failure(ADDRESS)
    second.addresses.record_failure(GATEWAY)
    assert first.addresses.retry_after(ADDRESS) == 0.0
    assert second.addresses.retry_after(ADDRESS) == 0.0

    await first.sharing.exchange(database)
    await second.sharing.exchange(database)
    await first.sharing.exchange(database)

    for replica in (first, second):
        wait = replica.addresses.retry_after(ADDRESS)
        assert 0 < wait <= WINDOW + BUCKET_SECONDS
        assert replica.addresses.retry_after(GATEWAY) == 0.0  # one failure: not blocked

    # Once the window has slid past, nobody is blocked and the rows are gone.
    clock.now += WINDOW + 2 * BUCKET_SECONDS
    await first.sharing.exchange(database)
    await second.sharing.exchange(database)
    assert first.addresses.retry_after(ADDRESS) == 0.0
    assert second.addresses.retry_after(ADDRESS) == 0.0
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(auth_failure_table))).all() == []


async def test_a_guessed_credential_is_shared_and_no_address_or_token_is_stored(
    database: Database,
) -> None:
    clock = Clock()
    first, second = Replica(clock), Replica(clock)
    credential = "0f" * 16  # already a hash of the token, as the middleware keys it
    for _ in range(LIMIT):
        first.credentials.record_failure(credential)
        first.addresses.record_failure(ADDRESS)

    await first.sharing.exchange(database)
    await second.sharing.exchange(database)

    assert second.credentials.retry_after(credential) > 0
    assert second.addresses.retry_after(ADDRESS) > 0
    async with database.engine.connect() as connection:
        keys = [row.key for row in await connection.execute(select(auth_failure_table))]
    assert len(keys) == 2
    assert not any(ADDRESS in key or credential in key for key in keys)


async def test_failures_that_could_not_be_shared_are_shared_at_the_next_exchange(
    database: Database,
) -> None:
    clock = Clock()
    first, second = Replica(clock), Replica(clock)
    for _ in range(LIMIT):
        first.addresses.record_failure(ADDRESS)
    # A database that cannot be reached: the exchange fails, and keeps the failures.
    unreachable = Database(
        "sqlite+aiosqlite:////nonexistent/directory/unit.db",
        service_metadata=MetaData(),
        event_source="/unit",
    )
    try:
        with pytest.raises(OperationalError):
            await first.sharing.exchange(unreachable)
    finally:
        await unreachable.dispose()

    await first.sharing.exchange(database)
    await second.sharing.exchange(database)
    assert second.addresses.retry_after(ADDRESS) > 0

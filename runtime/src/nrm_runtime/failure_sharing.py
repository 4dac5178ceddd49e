"""Failed authentications counted across a service's replicas, through its database.

Each replica checks every request against its own counts in memory (no database call on
the request path) and, every ``auth_failure_share_seconds``, exchanges them: it adds
the failures it saw since the last exchange to per-key, per-time-bucket rows, and reads
back the keys that all replicas together put over the limit within the window, which it
then refuses too. An attacker spreading guesses over the replicas behind a load
balancer gets the limit once, not once per replica, within one exchange period; a
replica restarted learns the blocked keys at its first exchange.

Keys are hashes (:func:`nrm_runtime.hardening.shared_key`): no address and no credential
reaches the database. Rows older than the window are deleted by the exchange.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from nrm_runtime.database import Database
from nrm_runtime.hardening import AuthFailureLimiter
from nrm_runtime.tables import auth_failure_table

log = logging.getLogger(__name__)

# The window is counted in buckets of this many seconds: a key's count is the sum of
# the buckets that the window reaches into.
BUCKET_SECONDS = 5.0


class SharedFailureCounts:
    """Exchanges the limiters' counts with the other replicas' (one limiter per kind of
    key: ``address``, ``credential``)."""

    def __init__(
        self,
        limiters: dict[str, AuthFailureLimiter],
        period_seconds: float,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.limiters = limiters
        self.period = period_seconds
        self._wall_clock = wall_clock

    async def run(self, database: Database) -> None:
        """Until cancelled: exchange, then wait a period; a failed exchange is retried."""
        while True:
            try:
                await self.exchange(database)
            except Exception:
                log.warning("failed authentications not shared this time", exc_info=True)
            await asyncio.sleep(self.period)

    async def exchange(self, database: Database) -> None:
        """Add this replica's new failures; learn the keys over the limit."""
        taken = {kind: limiter.take_unshared() for kind, limiter in self.limiters.items()}
        try:
            async with database.engine.begin() as connection:
                blocked = {
                    kind: await self._exchange_kind(connection, kind, limiter, taken[kind])
                    for kind, limiter in self.limiters.items()
                }
        except BaseException:
            for kind, limiter in self.limiters.items():
                limiter.give_back(taken[kind])
            raise
        for kind, limiter in self.limiters.items():
            limiter.share(blocked[kind])

    async def _exchange_kind(
        self,
        connection: AsyncConnection,
        kind: str,
        limiter: AuthFailureLimiter,
        failures: Counter[str],
    ) -> dict[str, float]:
        now = self._wall_clock()
        bucket = math.floor(now / BUCKET_SECONDS)
        for key, count in sorted(failures.items()):  # sorted: rows locked in one order
            await connection.execute(_add(connection, f"{kind}:{key}", bucket, count))
        first = math.floor((now - limiter.window) / BUCKET_SECONDS) + 1
        table = auth_failure_table
        prefix = f"{kind}:"
        await connection.execute(
            delete(table).where(table.c.key.startswith(prefix), table.c.bucket < first)
        )
        rows = await connection.execute(
            select(table.c.key, func.min(table.c.bucket))
            .where(table.c.key.startswith(prefix), table.c.bucket >= first)
            .group_by(table.c.key)
            .having(func.sum(table.c.failures) >= limiter.limit)
        )
        # Blocked until the oldest bucket counted leaves the window (then counted again).
        return {
            str(key).removeprefix(prefix): max(
                (oldest + 1) * BUCKET_SECONDS + limiter.window - now, 0.0
            )
            for key, oldest in rows.all()
        }


def _add(connection: AsyncConnection, key: str, bucket: int, count: int) -> Executable:
    """Insert the bucket's count, or add to it (one statement on either engine)."""
    table = auth_failure_table
    row = {"key": key, "bucket": bucket, "failures": count}
    if connection.dialect.name == "postgresql":
        on_postgres = postgresql.insert(table).values(**row)
        return on_postgres.on_conflict_do_update(
            index_elements=[table.c.key, table.c.bucket],
            set_={"failures": table.c.failures + on_postgres.excluded.failures},
        )
    on_sqlite = sqlite.insert(table).values(**row)
    return on_sqlite.on_conflict_do_update(
        index_elements=[table.c.key, table.c.bucket],
        set_={"failures": table.c.failures + on_sqlite.excluded.failures},
    )

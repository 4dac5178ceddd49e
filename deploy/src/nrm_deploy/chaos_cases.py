"""What the referral service holds, read from its PostgreSQL database: the referral
cases opened per identification case, and its processed-message record.

Read from the database rather than the API: the count of cases per identification
case is the very thing measured, and the database cannot paginate or filter it away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg  # type: ignore[import-untyped]

from nrm_deploy.postgres import SUPERUSER


@dataclass(frozen=True)
class Cases:
    """Per identification case id: how many referral cases, the first one's opening."""

    count: dict[str, int]
    opened_at: dict[str, float]


async def connect(port: int, database: str = "referral") -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=port, user=SUPERUSER, database=database)


async def referral_cases(port: int) -> Cases:
    connection = await connect(port)
    try:
        rows = await connection.fetch(
            "SELECT identification_case_id::text AS case_id, count(*) AS cases, "
            "min(opened_at) AS opened_at FROM referral_case "
            "WHERE identification_case_id IS NOT NULL GROUP BY identification_case_id"
        )
    finally:
        await connection.close()
    count = {row["case_id"]: int(row["cases"]) for row in rows}
    opened_at = {row["case_id"]: _timestamp(row["opened_at"]) for row in rows}
    return Cases(count, opened_at)


async def processed_identification_events(port: int) -> dict[str, int]:
    """Referral's record of the identification events it processed: rows, distinct
    events, and events recorded more than once (within its consumer group)."""
    connection = await connect(port)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT (consumer_group, event_source, event_id)) "
            "AS events FROM processed_message WHERE topic LIKE '%identification'"
        )
        doubled = await connection.fetchval(
            "SELECT count(*) FROM (SELECT event_id FROM processed_message "
            "WHERE topic LIKE '%identification' GROUP BY consumer_group, event_source, event_id "
            "HAVING count(*) > 1) AS repeated"
        )
    finally:
        await connection.close()
    assert row is not None
    return {"rows": int(row["rows"]), "events": int(row["events"]), "doubled": int(doubled)}


def _timestamp(value: datetime | str) -> float:
    # The column is text on some dialects' UtcDateTime, a timestamp on others.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp()

"""Linking a screening now, or later when a legacy import holds the person index.

A screening is matched in its own transaction when it can take the person index lock
shared at once (:func:`identification.person_index.arrival_lock.try_share_person_index`). While an
import holds it (minutes, for a large export), the screening is recorded without its
person ("linking pending": ``screening.linking_pending``, no ``person_record``) so that
the officer's request never waits for the import; later arrivals queue behind it, so
that the index links screenings in the order they arrived. The background linker, in
every replica, links the pending screenings oldest first, each in its own unit of work,
waiting for the import to commit: an arrival during an import is matched against what
the import wrote, never missed by it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.person_index.arrival_lock import (
    serialise_on_blocks,
    share_person_index,
    try_share_person_index,
)
from identification.person_index.domain.keys import record_keys
from identification.person_index.domain.matching import PersonFeatures
from identification.person_index.field_keys import digest_for
from identification.person_index.linking import MATCHER, features_of_screening, link_on_arrival
from identification.store import Screening
from identification.store.sealing import open_person
from nrm_runtime.audit import AuditAction, SystemActor, record_system_access
from nrm_runtime.clock import Clock
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.field_crypto import KeyRing

log = logging.getLogger(__name__)

BATCH = 200  # pending screenings per round; the next round takes the rest
LINKING_PURPOSE = "person_matching"


async def _pending_exist(session: AsyncSession) -> bool:
    found = await session.exec(select(exists().where(col(Screening.linking_pending))))
    return bool(found.one())


async def link_or_defer(
    uow: UnitOfWork,
    keys: KeyRing,
    screening: Screening,
    features: PersonFeatures,
    *,
    actor: str,
) -> int | None:
    """Link a screening being recorded, unless an import holds the person index or
    earlier screenings still wait: then mark it pending for the background linker. The
    number of known records compared, None when deferred."""
    session = uow.session
    if await try_share_person_index(session) and not await _pending_exist(session):
        return await link_on_arrival(uow, keys, screening, features, actor=actor)
    screening.linking_pending = True
    session.add(screening)
    return None


async def pending_screenings(database: Database, limit: int = BATCH) -> list[UUID]:
    """The screenings waiting to be linked, oldest first."""
    async with database.session() as session:
        found = await session.exec(
            select(Screening.id)
            .where(col(Screening.linking_pending))
            .order_by(col(Screening.recorded_at), col(Screening.id))
            .limit(limit)
        )
        return list(found.all())


async def link_pending_screening(
    database: Database, keys: KeyRing, system: SystemActor, screening_id: UUID, now: datetime
) -> bool:
    """Link one pending screening in its own unit of work, waiting for an import holding
    the person index to commit; False if it was linked already (by another replica)."""
    async with database.unit_of_work() as uow:
        session = uow.session
        await share_person_index(session)
        screening = await session.get(Screening, screening_id)
        if screening is None or not screening.linking_pending:
            return False
        features = features_of_screening(screening, open_person(keys, screening))
        # Another replica's linker links the same screening under the same block locks:
        # read the flag again once they are held.
        await serialise_on_blocks(session, record_keys(features, digest_for(keys)).blocks)
        await session.refresh(screening)
        if not screening.linking_pending:
            return False
        screening.linking_pending = False
        session.add(screening)
        compared = await link_on_arrival(uow, keys, screening, features, actor=MATCHER, now=now)
        if compared:
            # The matcher opened the names of the records in the screening's blocks.
            await record_system_access(
                session,
                system,
                action=AuditAction.READ,
                resource_type="person_match_candidates",
                resource_ids=str(screening.id),
                purpose=LINKING_PURPOSE,
            )
        await uow.commit()
    return True


async def link_pending(database: Database, keys: KeyRing, system: SystemActor, clock: Clock) -> int:
    """Link every screening pending now, oldest first; how many this round linked. A
    screening that fails is left pending (logged by id) and the next ones are linked:
    one bad record must not hold every later arrival back."""
    linked = 0
    more = True
    while more:
        pending = await pending_screenings(database)
        done = 0
        for screening_id in pending:
            try:
                if await link_pending_screening(database, keys, system, screening_id, clock()):
                    done += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "pending screening not linked",
                    extra={"screening_id": str(screening_id)},
                    exc_info=True,
                )
        linked += done
        # A full batch may have more behind it; a batch that linked nothing would only
        # fail the same way again.
        more = len(pending) == BATCH and done > 0
    return linked

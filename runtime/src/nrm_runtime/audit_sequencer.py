"""The audit log's sequencer: brings appended entries into the Merkle tree, in batches.

An access only inserts its entry (:func:`nrm_runtime.audit.record_access`): no position,
no shared row. The sequencer, a background loop of the service, then in one transaction:
locks the tree's state row, takes the entries not yet in the tree (oldest first, up to a
batch), gives them the next positions (``sequence``), stores the perfect subtrees they
complete, signs the new tree head (:mod:`nrm_runtime.audit_heads`), stores it and records
it in the outbox, which publishes it on the service's audit topic, ``nrm.<service>.audit``.
A crash anywhere rolls the whole batch back; the next round does it again.

Several replicas may each run one: on PostgreSQL the state row is locked ``FOR UPDATE
SKIP LOCKED`` (the one that finds it locked leaves the round to the other), and the
unique ``sequence`` refuses a position given twice. SQLite (one process) serialises the
round on its write lock. An entry whose transaction commits after a round began is
simply in the next round: positions are given to committed entries only, so they have no
gaps.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update

from nrm_contracts.events.audit import AuditTreeHeadSigned, audit_topic
from nrm_runtime import audit_tree, merkle
from nrm_runtime.audit_heads import HeadSigner, SignedTreeHead, TreeHead
from nrm_runtime.database import Database
from nrm_runtime.tables import (
    audit_entry_table,
    audit_tree_head_table,
    audit_tree_node_table,
    audit_tree_state_table,
)

log = logging.getLogger(__name__)

STATE_ID = 1
FAILURE_BACKOFF_MAX_SECONDS = 10.0


@dataclass(frozen=True)
class Integration:
    """What one round did: the entries it placed and the head it signed."""

    entries: int
    head: SignedTreeHead


class AuditSequencer:
    """Integrates one service's audit entries into its tree and publishes its heads."""

    def __init__(
        self,
        database: Database,
        signer: HeadSigner,
        *,
        log_id: str,
        head_event: type[AuditTreeHeadSigned] | None,
        batch_size: int = 1000,
        interval_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.signer = signer
        self.log_id = log_id
        self.head_event = head_event
        self.batch_size = batch_size
        self.interval_seconds = interval_seconds

    async def run(self) -> None:
        """Integrate until cancelled; a failure (database down...) is logged and retried."""
        backoff = self.interval_seconds
        while True:
            try:
                done = await self.integrate(wait=False) if await self.has_work() else None
                backoff = self.interval_seconds
            except Exception as failed:
                log.warning(
                    "audit sequencing failed; entries wait for the next round",
                    extra={"error": type(failed).__name__},
                    exc_info=True,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FAILURE_BACKOFF_MAX_SECONDS)
                continue
            if done is not None and done.entries >= self.batch_size:
                continue  # a full batch: there is probably more
            await asyncio.sleep(self.interval_seconds)

    async def has_work(self) -> bool:
        """Whether entries wait or the tree's size has no signed head (looked at without
        a lock: the round itself decides under the lock)."""
        entries, heads, state = audit_entry_table, audit_tree_head_table, audit_tree_state_table
        async with self.database.engine.connect() as connection:
            pending = (
                await connection.execute(
                    select(entries.c.id).where(entries.c.sequence.is_(None)).limit(1)
                )
            ).first()
            if pending is not None:
                return True
            size = (await connection.execute(select(state.c.tree_size))).scalar_one()
            signed = (await connection.execute(select(func.max(heads.c.tree_size)))).scalar()
        return bool(size) and signed != size

    async def integrate(self, *, wait: bool = True) -> Integration | None:
        """One round: place up to a batch of waiting entries and sign the new head.

        ``wait``: on PostgreSQL, wait for a round another replica is running (then do
        what it left); otherwise leave it the work and return None. Returns None when
        there was nothing to do.
        """
        entries, state = audit_entry_table, audit_tree_state_table
        async with self.database.unit_of_work() as uow:
            connection = await uow.session.connection()
            if connection.dialect.name == "postgresql":
                locked = select(state.c.tree_size).where(state.c.id == STATE_ID)
                row = (
                    await connection.execute(locked.with_for_update(skip_locked=not wait))
                ).first()
                if row is None:
                    return None  # another replica is sequencing
                size = int(row.tree_size)
            else:
                # SQLite: a write first takes the database's write lock for the round.
                await connection.execute(
                    update(state).where(state.c.id == STATE_ID).values(tree_size=state.c.tree_size)
                )
                size = int(
                    (
                        await connection.execute(
                            select(state.c.tree_size).where(state.c.id == STATE_ID)
                        )
                    ).scalar_one()
                )
            pending = (
                await connection.execute(
                    select(entries.c.id, entries.c.entry_hash)
                    .where(entries.c.sequence.is_(None))
                    .order_by(entries.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not pending and await audit_tree.head_at(connection, size):
                return None
            if not pending and size == 0:
                return None
            leaves = [bytes.fromhex(entry_hash) for _, entry_hash in pending]
            grown, completed = merkle.extend(
                await audit_tree.frontier(connection, size), size, leaves
            )
            if pending:
                await connection.execute(
                    update(entries)
                    .where(entries.c.id == bindparam("entry_id"))
                    .values(sequence=bindparam("position")),
                    [
                        {"entry_id": entry_id, "position": size + offset + 1}
                        for offset, (entry_id, _) in enumerate(pending)
                    ],
                )
            if completed:
                await connection.execute(
                    insert(audit_tree_node_table),
                    [
                        {"level": level, "position": index, "hash": node.hex()}
                        for level, index, node in completed
                    ],
                )
            size += len(pending)
            head = self.signer.sign(
                TreeHead(self.log_id, size, merkle.frontier_root(grown), int(time.time() * 1000))
            )
            await connection.execute(
                insert(audit_tree_head_table).values(
                    tree_size=size,
                    log_id=self.log_id,
                    root_hash=head.head.root_hash.hex(),
                    timestamp_ms=head.head.timestamp_ms,
                    signature=base64.b64encode(head.signature).decode(),
                    key_id=head.key_id,
                    public_key=base64.b64encode(head.public_key).decode(),
                )
            )
            await connection.execute(
                update(state).where(state.c.id == STATE_ID).values(tree_size=size)
            )
            if self.head_event is not None:
                uow.record(
                    self.head_event.model_validate(head.as_fields()),
                    topic=audit_topic(self.head_event.topic),
                )
            await uow.commit()
        return Integration(len(pending), head)

    async def integrate_all(self) -> SignedTreeHead | None:
        """Rounds until nothing waits (what was committed before the call is in the tree);
        the newest head."""
        head = None
        while (done := await self.integrate(wait=True)) is not None:
            head = done.head
            if done.entries < self.batch_size:
                break
        if head is None:
            async with self.database.engine.connect() as connection:
                head = await audit_tree.latest_head(connection)
        return head

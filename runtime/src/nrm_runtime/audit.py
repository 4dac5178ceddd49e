"""The audit log: who read, wrote, exported or disclosed whose record, when, and why.

A verifiable log, as Certificate Transparency's (RFC 9162): every entry is a leaf of a
Merkle tree, its hash (``entry_hash``) covering its content; each time the tree grows the
service signs its head (size and root) and publishes it on ``nrm.<service>.audit``. So an
entry changed, removed or cut from the end is detected against the heads (:func:`verify_chain`),
and a database rewritten as a whole is detected by anyone holding an earlier head
(``nrm audit verify``). Entries hold ids only, never personal data in clear.

An entry is written in the same transaction as the access it records
(:func:`record_access` takes the unit of work's session): a read whose audit entry
cannot be committed is not served, and a rolled-back write leaves no entry.

Appends take no shared lock: an access only inserts its entry, without a position. The
sequencer (:mod:`nrm_runtime.audit_sequencer`, a background task of every service) gives
committed entries their ``sequence`` in the tree later, in batches, and signs the heads;
until then an entry is listed with ``sequence`` null.

What a service does of its own accord (a consumer's handler, a deadline sweep) has no
user behind it: :func:`record_system_access` records it for the service itself
(subject ``system/<service>``, role ``system``, the organisation that operates it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Row, func, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime import audit_tree, merkle
from nrm_runtime.audit_heads import SignedTreeHead
from nrm_runtime.auth import SYSTEM_SUBJECT_PREFIX, Principal, Role, require_roles
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep, encode_cursor
from nrm_runtime.policy import Objects, policy
from nrm_runtime.settings import ServiceSettings
from nrm_runtime.tables import audit_entry_table, audit_tree_state_table, utc_now

LEAF_FORMAT = "nrm-audit-entry/1"
SYSTEM_ROLE = "system"
# Ids and codes, never text a person could be named in.
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"
_CODE_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"


class AuditAction(StrEnum):
    READ = "read"
    WRITE = "write"
    EXPORT = "export"
    DISCLOSE = "disclose"


class AuditEntry(BaseModel):
    """One recorded access, as auditors see it."""

    sequence: int | None = Field(
        description="Its position in the log's Merkle tree, from 1; null until the "
        "sequencer has placed it (within seconds)."
    )
    recorded_at: datetime
    subject: str = Field(description="The user who acted (the token's `sub`).")
    organisation: str
    role: str
    action: AuditAction
    resource_type: str = Field(pattern=_CODE_PATTERN)
    resource_id: str = Field(pattern=_ID_PATTERN)
    purpose: str = Field(pattern=_CODE_PATTERN, description="Why, as a code: `case_review`...")
    entry_hash: str = Field(description="Its leaf hash in the tree (RFC 9162), hex.")


def leaf_data(
    *,
    recorded_at: datetime,
    subject: str,
    organisation: str,
    role: str,
    action: str,
    resource_type: str,
    resource_id: str,
    purpose: str,
) -> bytes:
    """The bytes an entry's leaf hash covers: its whole content, canonical JSON."""
    content = [
        LEAF_FORMAT,
        recorded_at.isoformat(timespec="microseconds"),
        subject,
        organisation,
        role,
        action,
        resource_type,
        resource_id,
        purpose,
    ]
    return json.dumps(content, separators=(",", ":")).encode()


def _entry_hash(**content: object) -> str:
    return merkle.leaf_hash(leaf_data(**content)).hex()  # type: ignore[arg-type]


async def record_access(
    session: AsyncSession,
    principal: Principal,
    *,
    action: AuditAction,
    resource_type: str,
    resource_ids: str | Sequence[str],
    purpose: str,
) -> list[AuditEntry]:
    """Append one entry per resource id, in ``session``'s transaction (the caller commits).

    ``resource_type`` and ``purpose`` are codes (``person``, ``case_review``) and the ids
    are record ids: anything else is refused (``ValueError``), so that no name or free
    text reaches the log.
    """
    return await _record(
        session,
        subject=principal.subject,
        organisation=principal.organisation,
        role=principal.acting_role or ",".join(sorted(principal.roles)),
        action=action,
        resource_type=resource_type,
        resource_ids=resource_ids,
        purpose=purpose,
    )


@dataclass(frozen=True)
class SystemActor:
    """A service acting of its own accord: no user asked, the service itself answers."""

    service: str
    organisation: str

    @classmethod
    def of(cls, settings: ServiceSettings) -> SystemActor:
        """The service of ``settings``, on behalf of the organisation that operates it."""
        # Settings refuse to load without it outside dev and test, where it has a default.
        assert settings.operating_organisation is not None
        return cls(settings.service_name, settings.operating_organisation)

    @property
    def subject(self) -> str:
        return f"{SYSTEM_SUBJECT_PREFIX}{self.service}"


async def record_system_access(
    session: AsyncSession,
    system: SystemActor,
    *,
    action: AuditAction,
    resource_type: str,
    resource_ids: str | Sequence[str],
    purpose: str,
) -> list[AuditEntry]:
    """As :func:`record_access`, for an access by the service itself (``purpose`` says
    what made it act: ``referral_expiry_reroute``...)."""
    return await _record(
        session,
        subject=system.subject,
        organisation=system.organisation,
        role=SYSTEM_ROLE,
        action=action,
        resource_type=resource_type,
        resource_ids=resource_ids,
        purpose=purpose,
    )


async def record_accesses(
    session: AsyncSession,
    actor: Principal | SystemActor,
    *,
    action: AuditAction,
    resource_type: str,
    record_ids: UUID | Iterable[UUID],
    purpose: str,
) -> None:
    """One entry per record of a person's data read, written or disclosed, by a user or
    by the service itself; none for an empty list (nobody's data was served)."""
    ids = [str(record_ids)] if isinstance(record_ids, UUID) else [str(i) for i in record_ids]
    if not ids:
        return
    if isinstance(actor, SystemActor):
        await record_system_access(
            session,
            actor,
            action=action,
            resource_type=resource_type,
            resource_ids=ids,
            purpose=purpose,
        )
    else:
        await record_access(
            session,
            actor,
            action=action,
            resource_type=resource_type,
            resource_ids=ids,
            purpose=purpose,
        )


@dataclass(frozen=True)
class QueuedDisclosures:
    """Disclosures that leave later, without a caller: a notice to a provider, a message
    to a counterpart agency. The transaction that queues one notes it (:meth:`note`);
    before it commits, :meth:`record` writes one disclosure entry per noted record, by
    the user whose act queued it or by the service itself, so that what leaves the
    service later was audited in the transaction that decided it would leave."""

    resource_type: str
    purpose: str

    @property
    def _key(self) -> str:
        return f"audit.queued.{self.resource_type}"

    def note(self, session: AsyncSession, record_id: UUID) -> None:
        session.info.setdefault(self._key, []).append(record_id)

    async def record(
        self,
        session: AsyncSession,
        actor: Principal | SystemActor,
        purpose: str | None = None,
    ) -> None:
        """The noted disclosures' entries (each record once); ``purpose`` overrides the
        default one (a system act says what made it act)."""
        queued: list[UUID] = list(dict.fromkeys(session.info.pop(self._key, [])))
        await record_accesses(
            session,
            actor,
            action=AuditAction.DISCLOSE,
            resource_type=self.resource_type,
            record_ids=queued,
            purpose=purpose or self.purpose,
        )


async def _record(
    session: AsyncSession,
    *,
    subject: str,
    organisation: str,
    role: str,
    action: AuditAction,
    resource_type: str,
    resource_ids: str | Sequence[str],
    purpose: str,
) -> list[AuditEntry]:
    ids = [resource_ids] if isinstance(resource_ids, str) else list(resource_ids)
    recorded_at = utc_now()
    entries = []
    for resource_id in ids:
        values = {
            "recorded_at": recorded_at,
            "subject": subject,
            "organisation": organisation,
            "role": role,
            "action": str(action),
            "resource_type": resource_type,
            "resource_id": str(resource_id),
            "purpose": purpose,
        }
        draft = AuditEntry.model_validate({**values, "sequence": None, "entry_hash": ""})
        entries.append(draft.model_copy(update={"entry_hash": _entry_hash(**values)}))
    if entries:
        # One insert, no read, no shared row: concurrent accesses never wait on each other.
        connection = await session.connection()
        await connection.execute(
            insert(audit_entry_table),
            [entry.model_dump(exclude={"sequence"}) for entry in entries],
        )
    return entries


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of :func:`verify_chain`: ``intact``, or the first entry that breaks it."""

    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


def _entry_of(row: Row[tuple[object, ...]]) -> AuditEntry:
    return AuditEntry.model_validate({k: v for k, v in row._mapping.items() if k != "id"})


async def verify_chain(
    session: AsyncSession,
    *,
    heads: Sequence[SignedTreeHead] = (),
    trusted_key: bytes | None = None,
    batch_size: int = 1000,
) -> ChainVerification:
    """Check the log against its signed heads: the newest one it stored, and ``heads``
    (published ones, e.g. read back from Kafka), each signed by ``trusted_key`` when
    given. Every entry's hash is recomputed from its content, the tree rebuilt from them
    in ``sequence`` order, and its root compared with each head of that size; a head
    larger than the log means entries cut from the end. Reports the first break."""
    connection = await session.connection()
    checks: dict[int, list[SignedTreeHead]] = {}
    stored = await audit_tree.latest_head(connection)
    for head in [*([stored] if stored else []), *heads]:
        if not head.verify(trusted_key):
            return ChainVerification(
                False, 0, None, f"the head of size {head.head.tree_size} is not the log's signature"
            )
        checks.setdefault(head.head.tree_size, []).append(head)
    state_size = int(
        (await connection.execute(select(audit_tree_state_table.c.tree_size))).scalar_one()
    )
    table = audit_entry_table
    frontier: list[bytes] = []
    checked = 0  # the size of the last head found to match
    expected = 1
    while True:
        rows = (
            await connection.execute(
                select(table)
                .where(table.c.sequence >= expected)
                .order_by(table.c.sequence)
                .limit(batch_size)
            )
        ).all()
        for row in rows:
            entry = _entry_of(row)
            if entry.sequence != expected:
                return ChainVerification(False, expected - 1, expected, "entry missing")
            if _recomputed(entry) != entry.entry_hash:
                return ChainVerification(False, expected - 1, expected, "entry content was changed")
            frontier, _ = merkle.extend(frontier, expected - 1, [bytes.fromhex(entry.entry_hash)])
            heads_here = checks.get(expected, [])
            if any(merkle.frontier_root(frontier) != h.head.root_hash for h in heads_here):
                # Somewhere after the last head that matched: the tree cannot say where.
                return ChainVerification(
                    False, checked, checked + 1, "the tree does not match its signed head"
                )
            if heads_here:
                checked = expected
            expected += 1
        if len(rows) < batch_size:
            break
    count = expected - 1
    if count < max([state_size, *checks]):
        return ChainVerification(False, count, count + 1, "entries missing at the end")
    pending = await connection.execute(select(table).where(table.c.sequence.is_(None)))
    for row in pending:
        entry = _entry_of(row)
        if _recomputed(entry) != entry.entry_hash:
            return ChainVerification(False, count, None, "entry content was changed")
    return ChainVerification(True, count)


def _recomputed(entry: AuditEntry) -> str:
    return _entry_hash(**entry.model_dump(exclude={"sequence", "entry_hash"}))


class ChainStatus(BaseModel):
    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


class TreeHeadPublic(BaseModel):
    """A signed tree head, as it is published (nrm_contracts.events.audit)."""

    log_id: str
    tree_size: int
    root_hash: str
    timestamp_ms: int
    signature: str = Field(description="Ed25519 over RFC 9162's TreeHeadDataV2, base64.")
    key_id: str
    public_key: str


class InclusionProof(BaseModel):
    """RFC 9162 §2.1.3: the entry ``sequence`` is in the tree of ``tree_size`` entries."""

    sequence: int
    tree_size: int
    entry_hash: str
    audit_path: list[str] = Field(description="Hex hashes, the nearest sibling first.")


class ConsistencyProof(BaseModel):
    """RFC 9162 §2.1.4: the tree of ``first`` entries is a prefix of the tree of ``second``."""

    first: int
    second: int
    proof: list[str]


class AuditTree(BaseModel):
    """The log's newest signed head, and the proofs asked for against it."""

    head: TreeHeadPublic | None
    inclusion: InclusionProof | None = None
    consistency: ConsistencyProof | None = None


def audit_router(*, prefix: str = "/audit", tags: Sequence[str] = ("audit",)) -> APIRouter:
    """Routes for auditors (role ``auditor`` only): the entries about a resource, paged,
    whether the log is intact, and its signed head with inclusion and consistency
    proofs. A service includes it in its ``routers``."""
    # As a router dependency: a route's own parameters cannot name a local dependency
    # (annotations are resolved from the module, not this function).
    router = APIRouter(prefix=prefix, tags=list(tags), dependencies=[require_roles(Role.AUDITOR)])

    @router.get(
        "",
        summary="Audit entries, in the order they were recorded",
        responses=error_responses(401, 403, 422),
        openapi_extra=policy(Role.AUDITOR, objects=Objects.NONE),
    )
    async def list_entries(
        database: DatabaseDep,
        page: PageDep,
        resource_id: Annotated[str | None, Query(pattern=_ID_PATTERN)] = None,
        resource_type: Annotated[str | None, Query(pattern=_CODE_PATTERN)] = None,
        organisation: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Page[AuditEntry]:
        table = audit_entry_table
        after = _cursor_sequence(page.cursor)
        query = select(table).where(table.c.id > after)
        if resource_id is not None:
            query = query.where(table.c.resource_id == resource_id)
        if resource_type is not None:
            query = query.where(table.c.resource_type == resource_type)
        if organisation is not None:
            query = query.where(table.c.organisation == organisation)
        query = query.order_by(table.c.id).limit(page.limit + 1)
        async with database.session() as session:
            rows = (await (await session.connection()).execute(query)).all()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return Page(
            items=[_entry_of(row) for row in rows],
            next_cursor=encode_cursor({"after": rows[-1].id}) if more else None,
        )

    @router.get(
        "/chain",
        summary="Whether the audit log is intact (its entries against its signed heads)",
        responses=error_responses(401, 403),
        openapi_extra=policy(Role.AUDITOR, objects=Objects.NONE),
    )
    async def chain_status(request: Request, database: DatabaseDep) -> ChainStatus:
        # What was recorded before the question is in the tree before the answer.
        sequencer = getattr(request.app.state, "audit_sequencer", None)
        if sequencer is not None:
            await sequencer.integrate_all()
        async with database.session() as session:
            result = await verify_chain(session)
        return ChainStatus(
            intact=result.intact,
            entries=result.entries,
            broken_at=result.broken_at,
            reason=result.reason,
        )

    @router.get(
        "/tree",
        summary="The log's newest signed tree head, with inclusion and consistency proofs",
        responses=error_responses(401, 403, 404, 422),
        openapi_extra=policy(Role.AUDITOR, objects=Objects.NONE),
    )
    async def tree(
        request: Request,
        database: DatabaseDep,
        sequence: Annotated[
            int | None, Query(ge=1, description="Prove this entry is in the tree.")
        ] = None,
        since: Annotated[
            int | None,
            Query(ge=1, description="Prove the tree of this size (a head you hold) is its prefix."),
        ] = None,
    ) -> AuditTree:
        sequencer = getattr(request.app.state, "audit_sequencer", None)
        if sequencer is not None:
            await sequencer.integrate_all()
        async with database.session() as session:
            connection = await session.connection()
            head = await audit_tree.latest_head(connection)
            size = head.head.tree_size if head else 0
            for name, value in (("sequence", sequence), ("since", since)):
                if value is not None and value > size:
                    raise ProblemError(404, "not_found", f"the tree holds {size} entries", name)
            answer = AuditTree(
                head=TreeHeadPublic.model_validate(head.as_fields()) if head else None
            )
            if sequence is not None:
                entry_hash = (
                    await connection.execute(
                        select(audit_entry_table.c.entry_hash).where(
                            audit_entry_table.c.sequence == sequence
                        )
                    )
                ).scalar_one()
                path = await audit_tree.inclusion_proof(connection, sequence, size)
                answer.inclusion = InclusionProof(
                    sequence=sequence,
                    tree_size=size,
                    entry_hash=entry_hash,
                    audit_path=[node.hex() for node in path],
                )
            if since is not None:
                proof = await audit_tree.consistency_proof(connection, since, size)
                answer.consistency = ConsistencyProof(
                    first=since, second=size, proof=[node.hex() for node in proof]
                )
        return answer

    return router


def _cursor_sequence(cursor: dict[str, object] | None) -> int:
    if cursor is None:
        return 0
    after = cursor.get("after")
    if not isinstance(after, int) or after < 0:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return after


async def count_entries(session: AsyncSession) -> int:
    """How many entries the log holds."""
    connection = await session.connection()
    return int(
        (await connection.execute(select(func.count()).select_from(audit_entry_table))).one()[0]
    )

"""The audit log: who read, wrote, exported or disclosed whose record, when, and why.

Entries are append-only and chained: each entry's hash covers its content and the
previous entry's hash, and a one-row head holds the chain's length and last hash, so
:func:`verify_chain` detects an entry changed, removed from the middle or cut from the
end. Entries hold ids only, never personal data in clear.

An entry is written in the same transaction as the access it records
(:func:`record_access` takes the unit of work's session): a read whose audit entry
cannot be committed is not served, and a rolled-back write leaves no entry.

What a service does of its own accord (a consumer's handler, a deadline sweep) has no
user behind it: :func:`record_system_access` records it for the service itself
(subject ``system/<service>``, role ``system``, the organisation that operates it).

Appends are serialised on the head row: its ``UPDATE`` comes first, taking PostgreSQL's
row lock (a second writer waits, then sees the new head) or SQLite's write lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.auth import SYSTEM_SUBJECT_PREFIX, Principal, Role, require_roles
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep, encode_cursor
from nrm_runtime.policy import Objects, policy
from nrm_runtime.settings import ServiceSettings
from nrm_runtime.tables import (
    AUDIT_GENESIS_HASH,
    audit_chain_head_table,
    audit_entry_table,
    utc_now,
)

HEAD_ID = 1
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

    sequence: int
    recorded_at: datetime
    subject: str = Field(description="The user who acted (the token's `sub`).")
    organisation: str
    role: str
    action: AuditAction
    resource_type: str = Field(pattern=_CODE_PATTERN)
    resource_id: str = Field(pattern=_ID_PATTERN)
    purpose: str = Field(pattern=_CODE_PATTERN, description="Why, as a code: `case_review`...")
    previous_hash: str
    entry_hash: str


def _entry_hash(
    *,
    sequence: int,
    recorded_at: datetime,
    subject: str,
    organisation: str,
    role: str,
    action: str,
    resource_type: str,
    resource_id: str,
    purpose: str,
    previous_hash: str,
) -> str:
    content = [
        sequence,
        recorded_at.isoformat(timespec="microseconds"),
        subject,
        organisation,
        role,
        action,
        resource_type,
        resource_id,
        purpose,
        previous_hash,
    ]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


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
    connection = await session.connection()
    entries = []
    for resource_id in ids:
        entry = await _append(
            connection,
            subject=subject,
            organisation=organisation,
            role=role,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id),
            purpose=purpose,
        )
        entries.append(entry)
    return entries


async def _append(
    connection: AsyncConnection,
    *,
    subject: str,
    organisation: str,
    role: str,
    action: AuditAction,
    resource_type: str,
    resource_id: str,
    purpose: str,
) -> AuditEntry:
    head = audit_chain_head_table
    # First the write on the head row: it serialises appends (see the module docstring).
    locked = await connection.execute(
        update(head).where(head.c.id == HEAD_ID).values(length=head.c.length + 1)
    )
    if locked.rowcount != 1:
        raise RuntimeError("the audit chain head is missing: run the runtime migrations")
    length, previous_hash = (
        await connection.execute(
            select(head.c.length, head.c.last_hash).where(head.c.id == HEAD_ID)
        )
    ).one()
    values = {
        "sequence": int(length),
        "recorded_at": utc_now(),
        "subject": subject,
        "organisation": organisation,
        "role": role,
        "action": str(action),
        "resource_type": resource_type,
        "resource_id": resource_id,
        "purpose": purpose,
        "previous_hash": str(previous_hash),
    }
    draft = AuditEntry.model_validate({**values, "entry_hash": ""})  # refuses non-ids
    entry = draft.model_copy(update={"entry_hash": _entry_hash(**values)})  # type: ignore[arg-type]
    await connection.execute(insert(audit_entry_table).values(**entry.model_dump()))
    await connection.execute(
        update(head).where(head.c.id == HEAD_ID).values(last_hash=entry.entry_hash)
    )
    return entry


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of :func:`verify_chain`: ``intact``, or the first entry that breaks it."""

    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


def _entry_of(row: Row[tuple[object, ...]]) -> AuditEntry:
    return AuditEntry.model_validate(row._mapping)


async def verify_chain(session: AsyncSession, *, batch_size: int = 1000) -> ChainVerification:
    """Recompute the chain from the first entry; report the first entry that does not fit."""
    connection = await session.connection()
    table = audit_entry_table
    expected_previous = AUDIT_GENESIS_HASH
    expected_sequence = 1
    while True:
        rows = (
            await connection.execute(
                select(table)
                .where(table.c.sequence >= expected_sequence)
                .order_by(table.c.sequence)
                .limit(batch_size)
            )
        ).all()
        for row in rows:
            entry = _entry_of(row)
            if entry.sequence != expected_sequence:
                return ChainVerification(
                    False, expected_sequence - 1, expected_sequence, "entry missing"
                )
            if entry.previous_hash != expected_previous:
                return ChainVerification(
                    False, expected_sequence - 1, entry.sequence, "previous hash does not match"
                )
            values = entry.model_dump(exclude={"entry_hash"})
            if _entry_hash(**values) != entry.entry_hash:
                return ChainVerification(
                    False, expected_sequence - 1, entry.sequence, "entry content was changed"
                )
            expected_previous = entry.entry_hash
            expected_sequence += 1
        if len(rows) < batch_size:
            break
    count = expected_sequence - 1
    length, last_hash = (
        await connection.execute(
            select(audit_chain_head_table.c.length, audit_chain_head_table.c.last_hash)
        )
    ).one()
    if int(length) != count or last_hash != expected_previous:
        return ChainVerification(False, count, count + 1, "entries missing at the end")
    return ChainVerification(True, count)


class ChainStatus(BaseModel):
    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


def audit_router(*, prefix: str = "/audit", tags: Sequence[str] = ("audit",)) -> APIRouter:
    """Routes for auditors (role ``auditor`` only): the entries about a resource, paged,
    and whether the chain is intact. A service includes it in its ``routers``."""
    # As a router dependency: a route's own parameters cannot name a local dependency
    # (annotations are resolved from the module, not this function).
    router = APIRouter(prefix=prefix, tags=list(tags), dependencies=[require_roles(Role.AUDITOR)])

    @router.get(
        "",
        summary="Audit entries, oldest first",
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
        query = select(table).where(table.c.sequence > after)
        if resource_id is not None:
            query = query.where(table.c.resource_id == resource_id)
        if resource_type is not None:
            query = query.where(table.c.resource_type == resource_type)
        if organisation is not None:
            query = query.where(table.c.organisation == organisation)
        query = query.order_by(table.c.sequence).limit(page.limit + 1)
        async with database.session() as session:
            rows = (await (await session.connection()).execute(query)).all()
        items = [_entry_of(row) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        return Page(
            items=items,
            next_cursor=encode_cursor({"after": items[-1].sequence}) if more else None,
        )

    @router.get(
        "/chain",
        summary="Whether the audit chain is intact",
        responses=error_responses(401, 403),
        openapi_extra=policy(Role.AUDITOR, objects=Objects.NONE),
    )
    async def chain_status(database: DatabaseDep) -> ChainStatus:
        async with database.session() as session:
            result = await verify_chain(session)
        return ChainStatus(
            intact=result.intact,
            entries=result.entries,
            broken_at=result.broken_at,
            reason=result.reason,
        )

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

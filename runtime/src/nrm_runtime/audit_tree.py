"""The audit log's Merkle tree as stored in the service's database.

The leaves are the entries' hashes (``audit_entry.entry_hash``, by ``sequence``); the
perfect subtrees above them are ``audit_tree_node`` rows; the signed heads are
``audit_tree_head`` rows. A proof fetches the few nodes it needs in one query each
(:func:`nrm_runtime.merkle.nodes_needed`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from nrm_runtime import merkle
from nrm_runtime.audit_heads import SignedTreeHead, TreeHead
from nrm_runtime.tables import audit_entry_table, audit_tree_head_table, audit_tree_node_table

T = TypeVar("T")


async def load_nodes(
    connection: AsyncConnection, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the ``(level, index)`` nodes (leaves are level 0)."""
    wanted = set(wanted)
    found: dict[tuple[int, int], bytes] = {}
    leaves = sorted(index + 1 for level, index in wanted if level == 0)
    if leaves:
        entries = audit_entry_table
        rows = await connection.execute(
            select(entries.c.sequence, entries.c.entry_hash).where(entries.c.sequence.in_(leaves))
        )
        found.update({(0, int(s) - 1): bytes.fromhex(h) for s, h in rows})
    inner = sorted((level, index) for level, index in wanted if level > 0)
    if inner:
        nodes = audit_tree_node_table
        stored = await connection.execute(
            select(nodes.c.level, nodes.c.position, nodes.c.hash).where(
                or_(
                    *(
                        and_(nodes.c.level == level, nodes.c.position == index)
                        for level, index in inner
                    )
                )
            )
        )
        found.update({(int(lv), int(ix)): bytes.fromhex(h) for lv, ix, h in stored})
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"the tree lacks {len(missing)} node(s), e.g. {min(missing)}")
    return found


async def _prove(connection: AsyncConnection, prove: Callable[[merkle.NodeSource], T]) -> T:
    nodes = await load_nodes(connection, merkle.nodes_needed(prove))
    return prove(lambda level, index: nodes[(level, index)])


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees that make up a tree of ``size`` leaves, largest first."""
    coordinates = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            coordinates.append((level, start >> level))
            start += 1 << level
    return coordinates


async def frontier(connection: AsyncConnection, size: int) -> list[bytes]:
    """The roots of the perfect subtrees of the stored tree of ``size`` leaves."""
    coordinates = frontier_nodes(size)
    nodes = await load_nodes(connection, coordinates)
    return [nodes[c] for c in coordinates]


async def root(connection: AsyncConnection, size: int) -> bytes:
    """The root of the stored tree's first ``size`` entries."""
    return await _prove(connection, lambda node: merkle.tree_root(node, size))


async def inclusion_proof(connection: AsyncConnection, sequence: int, size: int) -> list[bytes]:
    """The audit path of the entry ``sequence`` (from 1) in the tree of ``size`` entries."""
    return await _prove(connection, lambda node: merkle.inclusion_proof(node, sequence - 1, size))


async def consistency_proof(connection: AsyncConnection, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
    return await _prove(connection, lambda node: merkle.consistency_proof(node, first, second))


async def latest_head(connection: AsyncConnection) -> SignedTreeHead | None:
    """The newest head the log signed, or None before its first."""
    heads = audit_tree_head_table
    row = (
        await connection.execute(
            select(heads).where(
                heads.c.tree_size == select(func.max(heads.c.tree_size)).scalar_subquery()
            )
        )
    ).first()
    return None if row is None else stored_head(row)


async def head_at(connection: AsyncConnection, size: int) -> SignedTreeHead | None:
    """The head the log signed at ``size`` entries, if it signed one."""
    heads = audit_tree_head_table
    row = (await connection.execute(select(heads).where(heads.c.tree_size == size))).first()
    return None if row is None else stored_head(row)


def stored_head(row: object) -> SignedTreeHead:
    """A row of ``audit_tree_head`` as a signed head."""
    mapping = row._mapping  # type: ignore[attr-defined]
    return SignedTreeHead(
        TreeHead(
            str(mapping["log_id"]),
            int(mapping["tree_size"]),
            bytes.fromhex(mapping["root_hash"]),
            int(mapping["timestamp_ms"]),
        ),
        base64.b64decode(mapping["signature"]),
        base64.b64decode(mapping["public_key"]),
    )

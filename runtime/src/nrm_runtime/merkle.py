"""Merkle trees of a verifiable log, as RFC 9162 (Certificate Transparency 2.0) defines them.

Pure functions, no database: the hashes (§2.1.1), the root of a list of leaves, the
inclusion proof of a leaf and the consistency proof between two tree sizes (§2.1.3,
§2.1.4), and the verification of both by a reader who holds only the roots.

A tree of ``n`` leaves is built from perfect subtrees: the node at ``(level, index)``
covers the leaves ``[index * 2**level, (index + 1) * 2**level)``. A log stores those
nodes as it grows (:func:`extend`); the proofs read them through a :data:`NodeSource`
(``level, index -> hash``), so that a proof of a tree of millions of entries reads a few
dozen nodes. :func:`nodes_needed` tells which, so that a store can fetch them in one
query before the proof is computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]
"""``(level, index)`` -> the hash of that perfect subtree of the tree being proved."""


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof exists for."""


def leaf_hash(data: bytes) -> bytes:
    """``HASH(0x00 || data)``: a leaf's hash (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``HASH(0x01 || left || right)``: an interior node's hash (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]): the root of a tree whose leaves have these hashes."""
    frontier, _ = extend([], 0, leaf_hashes)
    return frontier_root(frontier)


def _subtree(node: NodeSource, start: int, size: int) -> bytes:
    """MTH of the ``size`` leaves from ``start``: perfect nodes, split as RFC 9162 does.

    Every range a proof asks for starts at a multiple of its left part's size, so its
    left part is one stored node and only the right part recurses.
    """
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = _split(size)
    return node_hash(_subtree(node, start, k), _subtree(node, start + k, size - k))


def tree_root(node: NodeSource, size: int) -> bytes:
    """The root of the first ``size`` leaves of a stored tree."""
    return EMPTY_ROOT if size == 0 else _subtree(node, 0, size)


def inclusion_proof(node: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1): the audit path of leaf ``index`` in a tree of
    ``size`` leaves, nearest sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    return _path(node, index, 0, size)


def _path(node: NodeSource, m: int, start: int, n: int) -> list[bytes]:
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(node, m, start, k), _subtree(node, start + k, n - k)]
    return [*_path(node, m - k, start + k, n - k), _subtree(node, start, k)]


def consistency_proof(node: NodeSource, first: int, second: int) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1): shows the tree of ``first`` leaves is a
    prefix of the tree of ``second``."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} to {second}")
    if first == second:
        return []
    return _subproof(node, first, 0, second, True)


def _subproof(node: NodeSource, m: int, start: int, n: int, whole: bool) -> list[bytes]:
    if m == n:
        return [] if whole else [_subtree(node, start, n)]
    k = _split(n)
    if m <= k:
        return [*_subproof(node, m, start, k, whole), _subtree(node, start + k, n - k)]
    return [*_subproof(node, m - k, start + k, n - k, False), _subtree(node, start, k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`ProofError` unless ``proof`` shows the leaf of
    hash ``leaf`` at ``index`` in the tree of ``size`` leaves whose root is ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`ProofError` unless ``proof`` shows the tree of
    ``first`` leaves (root ``first_root``) is a prefix of the tree of ``second``."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} to {second}")
    if first == second:
        if proof:
            raise ProofError("a tree is consistent with itself by an empty proof")
        if first_root != second_root:
            raise ProofError("same size, different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof too short")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the second root")


def nodes_needed(prove: Callable[[NodeSource], object]) -> set[tuple[int, int]]:
    """The ``(level, index)`` nodes ``prove`` reads (it is run on placeholder hashes):
    what a store fetches before it runs ``prove`` on the real ones."""
    asked: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        asked.add((level, index))
        return bytes(HASH_SIZE)

    prove(record)
    return asked


def extend(
    frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append ``leaves`` (leaf hashes) to a tree of ``size`` leaves.

    ``frontier`` holds the roots of the perfect subtrees that make up the tree, largest
    first (one per bit set in ``size``). Returns the new frontier and every perfect node
    of level 1 and above completed by the append, as ``(level, index, hash)``; the level
    0 nodes are the leaves themselves.
    """
    stack = list(frontier)
    if len(stack) != size.bit_count():
        raise ValueError(f"a frontier of {len(stack)} roots does not fit a tree of {size}")
    completed: list[tuple[int, int, bytes]] = []
    for leaf in leaves:
        current, level, position = leaf, 0, size
        while position & 1:
            current = node_hash(stack.pop(), current)
            level += 1
            position >>= 1
            completed.append((level, position, current))
        stack.append(current)
        size += 1
    return stack, completed


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose frontier (largest subtree first) is ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root

"""The Merkle tree of the audit log: RFC 9162's hashes, proofs and their verification."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nrm_runtime.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    extend,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_needed,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"entry-{i}".encode()) for i in range(n)]


def reference_root(hashes: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, on the leaf hashes."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


def stored(hashes: list[bytes]):
    """The node source of a log that stored every perfect subtree of ``hashes``."""
    _, completed = extend([], 0, hashes)
    nodes = {(0, i): h for i, h in enumerate(hashes)}
    nodes.update({(level, index): h for level, index, h in completed})
    return lambda level, index: nodes[(level, index)]


def test_leaves_and_nodes_are_hashed_apart() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert root_of([]) == hashlib.sha256(b"").digest()


# RFC 6962's test vectors (the same tree hashing as RFC 9162): the roots of the trees of
# the first n of these eight leaves, as published with the Certificate Transparency code.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
RFC6962_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


@pytest.mark.parametrize(("size", "root"), sorted(RFC6962_ROOTS.items()))
def test_the_roots_of_the_published_test_vectors(size: int, root: str) -> None:
    hashes = [leaf_hash(data) for data in RFC6962_LEAVES[:size]]

    assert root_of(hashes).hex() == root
    assert tree_root(stored(hashes), size).hex() == root


# RFC 9162 §2.1.3's example tree of seven leaves a..g: the path of d and the proofs
# between its subtrees, as the RFC's figures spell them out.
@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, ["b", "h(c,d)", "h(h(e,f),g)"]),  # a
        (3, ["c", "h(a,b)", "h(h(e,f),g)"]),  # d
        (4, ["f", "g", "h(h(a,b),h(c,d))"]),  # e
        (6, ["h(e,f)", "h(h(a,b),h(c,d))"]),  # g
    ],
)
def test_the_inclusion_paths_of_the_rfcs_example_tree(index: int, expected: list[str]) -> None:
    names = {name: h for name, h in zip("abcdefg", leaves(7), strict=True)}

    def named(expression: str) -> bytes:
        if expression in names:
            return names[expression]
        inner = expression[2:-1]
        depth = 0
        for position, char in enumerate(inner):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                return node_hash(named(inner[:position]), named(inner[position + 1 :]))
        raise AssertionError(expression)

    assert inclusion_proof(stored(leaves(7)), index, 7) == [named(e) for e in expected]


@pytest.mark.parametrize(
    ("first", "second", "length"),
    [(3, 7, 4), (4, 7, 1), (6, 7, 3), (1, 2, 1), (2, 5, 2), (7, 8, 4), (8, 8, 0)],
)
def test_the_consistency_proofs_of_the_rfcs_examples(first: int, second: int, length: int) -> None:
    hashes = leaves(second)
    proof = consistency_proof(stored(hashes), first, second)

    assert len(proof) == length
    verify_consistency(first, second, root_of(hashes[:first]), root_of(hashes), proof)


@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_leaf_proves_its_inclusion(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = root_of(hashes)

    proof = inclusion_proof(stored(hashes), index, size)

    assert root == reference_root(hashes)
    verify_inclusion(hashes[index], index, size, proof, root)


@given(st.integers(min_value=1, max_value=300), st.data())
def test_a_changed_leaf_or_path_fails_the_inclusion_proof(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(stored(hashes), index, size)
    root = root_of(hashes)

    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"modified"), index, size, proof, root)
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bent = [*proof[:position], leaf_hash(b"x"), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, bent, root)
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, proof[:-1], root)
    if size > 1:
        other = (index + 1) % size
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], other, size, proof, root)


@given(st.integers(min_value=1, max_value=300), st.data())
def test_a_prefix_proves_its_consistency_with_the_grown_tree(
    second: int, data: st.DataObject
) -> None:
    first = data.draw(st.integers(min_value=1, max_value=second))
    hashes = leaves(second)

    proof = consistency_proof(stored(hashes), first, second)

    verify_consistency(first, second, root_of(hashes[:first]), root_of(hashes), proof)


@given(st.integers(min_value=2, max_value=300), st.data())
def test_a_rewritten_history_fails_the_consistency_proof(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=1, max_value=second - 1))
    changed = data.draw(st.integers(min_value=0, max_value=first - 1))
    hashes = leaves(second)
    rewritten = [*hashes[:changed], leaf_hash(b"rewritten"), *hashes[changed + 1 :]]

    proof = consistency_proof(stored(rewritten), first, second)

    with pytest.raises(ProofError):
        verify_consistency(first, second, root_of(hashes[:first]), root_of(rewritten), proof)


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_appending_in_batches_builds_the_same_tree(batches: list[int]) -> None:
    frontier: list[bytes] = []
    size = 0
    for count in batches:
        frontier, _ = extend(frontier, size, leaves(size + count)[size:])
        size += count

    assert frontier_root(frontier) == root_of(leaves(size))


def test_a_proof_reads_few_stored_nodes() -> None:
    size = 1_000_000
    needed = nodes_needed(lambda node: inclusion_proof(node, 123_457, size))
    needed |= nodes_needed(lambda node: consistency_proof(node, 654_321, size))

    assert len(needed) <= 4 * size.bit_length()


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_no_inclusion_proof_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        inclusion_proof(stored(leaves(3)), index, size)


@pytest.mark.parametrize(("first", "second"), [(0, 3), (4, 3)])
def test_no_consistency_proof_backwards_or_from_nothing(first: int, second: int) -> None:
    with pytest.raises(ProofError):
        consistency_proof(stored(leaves(3)), first, second)

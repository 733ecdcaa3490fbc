"""RFC 6962 Merkle trees (as restated in RFC 9162 §2.1): hashes, tree heads, inclusion and
consistency proofs.

The one implementation of certificate-transparency hashing in Slate. Leaves are hashed
with a 0x00 prefix and interior nodes with 0x01, so an interior node can never pose as a
leaf. Verification answers True or False and never raises on malformed proofs; proof
generation raises ``ValueError`` for sizes or indexes the tree does not have.

Pure Python and standard library only, and it imports nothing from ``governance``: an
auditor can copy this file next to a kept checkpoint and check a proof with it alone.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, NamedTuple, Sequence

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(leaf_input: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(_LEAF_PREFIX + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def tree_head(leaf_inputs: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the leaves' input bytes."""
    return root_of_leaf_hashes([leaf_hash(d) for d in leaf_inputs])


def root_of_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaves that are already hashed (``leaf_hash`` applied)."""
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


class Frontier(NamedTuple):
    """The roots of the perfect subtrees a log of ``size`` leaves splits into, largest
    first (one per bit set in ``size``): enough to give the log's root and to extend it by
    new leaves without reading the old ones. RFC 6962's tree is left-balanced, so its root
    is these roots folded from the right."""

    size: int = 0
    #: (height, root) of each perfect subtree, left to right
    subtrees: tuple[tuple[int, bytes], ...] = ()

    def extended(self, leaf_hashes: Iterable[bytes]) -> Frontier:
        stack, size = list(self.subtrees), self.size
        for leaf in leaf_hashes:
            height, node = 0, leaf
            while stack and stack[-1][0] == height:
                node = node_hash(stack.pop()[1], node)
                height += 1
            stack.append((height, node))
            size += 1
        return Frontier(size, tuple(stack))

    def root(self) -> bytes:
        """MTH(D[size]); the empty tree's is SHA-256 of nothing."""
        if not self.subtrees:
            return EMPTY_ROOT
        node = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            node = node_hash(left, node)
        return node

    def to_text(self) -> str:
        """``height:hex`` per subtree, left to right, comma-separated: what a checkpoint
        stores beside its root so the next one extends it without reading the log."""
        return ",".join(f"{height}:{node.hex()}" for height, node in self.subtrees)

    @classmethod
    def from_text(cls, size: int, text: str) -> Frontier:
        """The frontier ``to_text`` wrote for a tree of ``size`` leaves; ``ValueError`` for
        anything that is not exactly one subtree per bit of ``size``, largest first. The
        caller still compares ``root()`` with the root it trusts: shape is not content."""
        if not isinstance(text, str) or not isinstance(size, int) or size < 0 or len(text) > 80 * 64:
            raise ValueError("not a frontier")
        subtrees: list[tuple[int, bytes]] = []
        for part in text.split(",") if text else []:
            height_text, _, node_hex = part.partition(":")
            if not (height_text.isascii() and height_text.isdigit() and len(height_text) <= 2
                    and node_hex.isascii() and len(node_hex) == 2 * HASH_SIZE
                    and all(c in "0123456789abcdef" for c in node_hex)):
                raise ValueError("not a frontier")
            subtrees.append((int(height_text), bytes.fromhex(node_hex)))
        heights = [height for height, _ in subtrees]
        wanted = [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
        if heights != wanted:
            raise ValueError(f"a frontier of {size} leaves has subtrees of heights {wanted}, not {heights}")
        return cls(size, tuple(subtrees))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for the tree of all ``leaf_hashes`` (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf index {index} is not in a tree of {len(leaf_hashes)} leaves")
    return _path(leaf_hashes, index, 0, len(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) for the tree of all ``leaf_hashes`` (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from {old_size} leaves to {len(leaf_hashes)}: "
                         "the older size must be between 1 and the newer one")
    return _subproof(leaf_hashes, old_size, 0, len(leaf_hashes), True)


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: is ``leaf`` (a leaf hash) at ``index`` of the tree with ``root``?"""
    if not 0 <= index < tree_size or not _all_hashes(leaf, root, *proof):
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``new_size`` leaves an append-only extension of
    the tree of ``old_size`` leaves? A proof from the empty tree proves nothing, so it
    is refused, as transparency-dev/merkle does."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof or not _all_hashes(old_root, new_root, *proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a complete subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# -- internals: subtrees are (start, end) ranges of one list, never copies --------------

def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    if start == end:
        return EMPTY_ROOT
    # level by level, carrying a lone last node up unchanged: exactly RFC 6962's MTH,
    # without recursion (a log of millions of entries stays flat on the stack)
    level = list(leaves[start:end])
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _path(leaves: Sequence[bytes], index: int, start: int, end: int) -> list[bytes]:
    if end - start == 1:
        return []
    k = _split(end - start)
    if index < k:
        return _path(leaves, index, start, start + k) + [_subtree_root(leaves, start + k, end)]
    return _path(leaves, index - k, start + k, end) + [_subtree_root(leaves, start, start + k)]


def _subproof(leaves: Sequence[bytes], m: int, start: int, end: int, whole_old_tree: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole_old_tree else [_subtree_root(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(leaves, m, start, start + k, whole_old_tree) + [_subtree_root(leaves, start + k, end)]
    return _subproof(leaves, m - k, start + k, end, False) + [_subtree_root(leaves, start, start + k)]


def _all_hashes(*values: bytes) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)

"""The training-set Merkle tree: RFC 6962 (certificate transparency) hashing over sorted leaves.

A leaf is ``"<asset sha256>:<licence ref>"``. Leaves are sorted and unique, so the root
depends only on the set, never on insertion order, and neighbours in sorted order give
proofs of non-membership. Leaf and interior hashes carry distinct prefixes (0x00, 0x01)
so an interior node can never pose as a leaf.

Pure Python on purpose: an auditor verifies a proof with this module alone, without
Slate's database or the rest of the set.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..errors import InvalidInput

_LEAF = b"\x00"
_NODE = b"\x01"
HEX64 = frozenset("0123456789abcdef")


def leaf_key(asset_sha256: str, licence_ref: str) -> str:
    if len(asset_sha256) != 64 or not set(asset_sha256) <= HEX64:
        raise InvalidInput(f"'{asset_sha256[:80]}' is not a lowercase SHA-256 hex digest")
    if not licence_ref or ":" in licence_ref:
        raise InvalidInput("a licence reference must be non-empty and contain no ':'")
    return f"{asset_sha256}:{licence_ref}"


def hash_leaf(key: str) -> bytes:
    return hashlib.sha256(_LEAF + key.encode("utf-8")).digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class InclusionProof:
    leaf: str
    index: int
    tree_size: int
    path: tuple[str, ...]
    root: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "inclusion", "leaf": self.leaf, "index": self.index,
                "tree_size": self.tree_size, "path": list(self.path), "root": self.root}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InclusionProof":
        try:
            return cls(leaf=str(data["leaf"]), index=int(data["index"]),
                       tree_size=int(data["tree_size"]),
                       path=tuple(str(p) for p in data["path"]), root=str(data["root"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"not an inclusion proof: missing or malformed {exc}") from None


@dataclass(frozen=True)
class NonMembershipProof:
    """Proves no leaf of ``asset_sha256`` is in the tree: its sorted neighbours are adjacent."""

    asset_sha256: str
    tree_size: int
    root: str
    predecessor: InclusionProof | None
    successor: InclusionProof | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "non-membership", "asset_sha256": self.asset_sha256,
                "tree_size": self.tree_size, "root": self.root,
                "predecessor": self.predecessor.to_dict() if self.predecessor else None,
                "successor": self.successor.to_dict() if self.successor else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NonMembershipProof":
        try:
            pred, succ = data.get("predecessor"), data.get("successor")
            return cls(asset_sha256=str(data["asset_sha256"]), tree_size=int(data["tree_size"]),
                       root=str(data["root"]),
                       predecessor=InclusionProof.from_dict(pred) if pred else None,
                       successor=InclusionProof.from_dict(succ) if succ else None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not a non-membership proof: missing or malformed {exc}") from None


class MerkleTree:
    """All levels kept in memory so that any number of proofs cost O(log n) each."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.leaves: list[str] = sorted(set(keys))
        level = [hash_leaf(k) for k in self.leaves]
        self._levels: list[list[bytes]] = [level]
        while len(level) > 1:
            # a lone last node is carried up unchanged: this gives exactly RFC 6962's tree
            nxt = [hash_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            self._levels.append(nxt)
            level = nxt

    @property
    def size(self) -> int:
        return len(self.leaves)

    @property
    def root(self) -> str:
        return self._levels[-1][0].hex() if self.leaves else EMPTY_ROOT

    def index_of(self, key: str) -> int:
        i = bisect.bisect_left(self.leaves, key)
        if i == len(self.leaves) or self.leaves[i] != key:
            raise InvalidInput("that asset and licence are not in this training set")
        return i

    def _path(self, index: int) -> tuple[str, ...]:
        path: list[str] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling].hex())
            index //= 2
        return tuple(path)

    def prove(self, key: str) -> InclusionProof:
        index = self.index_of(key)
        return InclusionProof(key, index, self.size, self._path(index), self.root)

    def prove_absent(self, asset_sha256: str) -> NonMembershipProof:
        i = bisect.bisect_left(self.leaves, asset_sha256 + ":")
        if i < self.size and self.leaves[i].startswith(asset_sha256 + ":"):
            raise InvalidInput("that asset is in this training set; ask for an inclusion proof")
        pred = InclusionProof(self.leaves[i - 1], i - 1, self.size, self._path(i - 1), self.root) if i > 0 else None
        succ = InclusionProof(self.leaves[i], i, self.size, self._path(i), self.root) if i < self.size else None
        return NonMembershipProof(asset_sha256, self.size, self.root, pred, succ)


def root_of(keys: Iterable[str]) -> str:
    return MerkleTree(keys).root


def verify_inclusion(proof: InclusionProof, expected_root: str | None = None) -> bool:
    """RFC 9162 section 2.1.3.2; False on any malformed input rather than an exception."""
    root = expected_root if expected_root is not None else proof.root
    if root != proof.root or not 0 <= proof.index < proof.tree_size:
        return False
    try:
        r = hash_leaf(proof.leaf)
        fn, sn = proof.index, proof.tree_size - 1
        for hex_sibling in proof.path:
            sibling = bytes.fromhex(hex_sibling)
            if len(sibling) != 32 or sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = hash_node(sibling, r)
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
            else:
                r = hash_node(r, sibling)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r.hex() == root
    except (ValueError, UnicodeEncodeError):
        return False


def _asset_of(leaf: str) -> str:
    return leaf.split(":", 1)[0]


def verify_absence(proof: NonMembershipProof, expected_root: str | None = None) -> bool:
    root = expected_root if expected_root is not None else proof.root
    if root != proof.root:
        return False
    if proof.tree_size == 0:
        return proof.root == EMPTY_ROOT and proof.predecessor is None and proof.successor is None
    pred, succ, target = proof.predecessor, proof.successor, proof.asset_sha256
    for part in (pred, succ):
        if part is not None and (part.tree_size != proof.tree_size or not verify_inclusion(part, root)):
            return False
    if pred is None and succ is None:
        return False
    if pred is not None and not _asset_of(pred.leaf) < target:
        return False
    if succ is not None and not target < _asset_of(succ.leaf):
        return False
    if pred is None:
        return succ is not None and succ.index == 0
    if succ is None:
        return pred.index == proof.tree_size - 1
    return succ.index == pred.index + 1


def verify_proof(data: dict[str, Any], expected_root: str | None = None) -> bool:
    """Verify either kind of proof given as the JSON dict Slate hands out."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "inclusion":
        return verify_inclusion(InclusionProof.from_dict(data), expected_root)
    if kind == "non-membership":
        return verify_absence(NonMembershipProof.from_dict(data), expected_root)
    raise InvalidInput("a proof must have kind 'inclusion' or 'non-membership'")


def reference_root(keys: Sequence[str]) -> str:
    """RFC 6962's recursive definition, kept for tests that pin the fast tree to it."""
    leaves = sorted(set(keys))

    def mth(items: Sequence[str]) -> bytes:
        if len(items) == 1:
            return hash_leaf(items[0])
        k = 1
        while k * 2 < len(items):
            k *= 2
        return hash_node(mth(items[:k]), mth(items[k:]))

    return mth(leaves).hex() if leaves else EMPTY_ROOT

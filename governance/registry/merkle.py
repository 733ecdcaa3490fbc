"""The training-set Merkle tree: RFC 6962 (certificate transparency) over sorted leaves.

A leaf is ``"<asset sha256>:<licence ref>"``. Leaves are sorted and unique, so the root
depends only on the set, never on insertion order, and neighbours in sorted order give
proofs of non-membership, which are Slate's own. Hashes, roots and inclusion proofs are
``governance.rfc6962``'s, the one implementation Slate has (the audit log uses it too).

Pure Python on purpose: an auditor verifies a proof with this module and ``rfc6962`` alone,
without Slate's database or the rest of the set.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Iterable

from .. import rfc6962
from ..errors import InvalidInput

HEX64 = frozenset("0123456789abcdef")
EMPTY_ROOT = rfc6962.EMPTY_ROOT.hex()


def leaf_key(asset_sha256: str, licence_ref: str) -> str:
    if len(asset_sha256) != 64 or not set(asset_sha256) <= HEX64:
        raise InvalidInput(f"'{asset_sha256[:80]}' is not a lowercase SHA-256 hex digest")
    if not licence_ref or ":" in licence_ref:
        raise InvalidInput("a licence reference must be non-empty and contain no ':'")
    return f"{asset_sha256}:{licence_ref}"


def hash_leaf(key: str) -> bytes:
    return rfc6962.leaf_hash(key.encode("utf-8"))


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
    def from_dict(cls, data: dict[str, Any]) -> InclusionProof:
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
    def from_dict(cls, data: dict[str, Any]) -> NonMembershipProof:
        try:
            pred, succ = data.get("predecessor"), data.get("successor")
            return cls(asset_sha256=str(data["asset_sha256"]), tree_size=int(data["tree_size"]),
                       root=str(data["root"]),
                       predecessor=InclusionProof.from_dict(pred) if pred else None,
                       successor=InclusionProof.from_dict(succ) if succ else None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not a non-membership proof: missing or malformed {exc}") from None


#: leaves (then block roots) per block; a power of two, so RFC 6962's splits fall between blocks
_FANOUT = 16


class MerkleTree:
    """The leaves' hashes, and above them tiers of block roots, so that a proof costs O(log n).

    A tree of more than ``_FANOUT`` leaves is split by RFC 6962 only at multiples of
    ``_FANOUT``, so it is the tree over the roots of its aligned blocks of ``_FANOUT`` leaves
    with each block's own tree beneath; the same holds again one tier up. The root is the
    root over the top tier, and a proof is the leaf's path inside its block followed by its
    block's path inside the next tier's block, and so on up.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self.leaves: list[str] = sorted(set(keys))
        self._tiers: list[list[bytes]] = [[hash_leaf(k) for k in self.leaves]]
        while len(self._tiers[-1]) > _FANOUT:
            below = self._tiers[-1]
            self._tiers.append([rfc6962.root_of_leaf_hashes(below[i:i + _FANOUT])
                                for i in range(0, len(below), _FANOUT)])
        self._root = rfc6962.root_of_leaf_hashes(self._tiers[-1]).hex()

    @property
    def size(self) -> int:
        return len(self.leaves)

    @property
    def root(self) -> str:
        return self._root

    def index_of(self, key: str) -> int:
        i = bisect.bisect_left(self.leaves, key)
        if i == len(self.leaves) or self.leaves[i] != key:
            raise InvalidInput("that asset and licence are not in this training set")
        return i

    def _path(self, index: int) -> tuple[str, ...]:
        path: list[bytes] = []
        for tier in self._tiers[:-1]:
            block, offset = divmod(index, _FANOUT)
            path += rfc6962.inclusion_proof(tier[block * _FANOUT:(block + 1) * _FANOUT], offset)
            index = block
        path += rfc6962.inclusion_proof(self._tiers[-1], index)
        return tuple(h.hex() for h in path)

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
    """RFC 9162 section 2.1.3.2 (``rfc6962.verify_inclusion``); False on any malformed input
    rather than an exception."""
    root = expected_root if expected_root is not None else proof.root
    if root != proof.root or len(root) != 64 or not set(root) <= HEX64:
        return False
    try:
        path = [bytes.fromhex(p) for p in proof.path]
        return rfc6962.verify_inclusion(hash_leaf(proof.leaf), proof.index, proof.tree_size, path,
                                        bytes.fromhex(root))
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

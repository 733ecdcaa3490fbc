"""Consistency between a checkpoint someone kept and the log as it is now.

An auditor who keeps a signed checkpoint (or a whole export) outside Slate can later
prove that the log only grew since: an RFC 6962 consistency proof links the kept root to
the newest signed checkpoint. A log truncated below the kept size, or rewritten anywhere
in the kept prefix, cannot produce one, even when its hash chain, head and stored
checkpoints were all recomputed or deleted by someone with database access.

Plain data in, findings out: the database, an export and the API all use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .. import rfc6962
from ..canonical import json_default
from ..errors import Conflict, InvalidInput
from .checkpoints import SignedCheckpoint, is_checkpoint_document
from .trust import TrustAnchors

#: (first bad entry if known, the reason in plain words)
Finding = tuple[int | None, str]

EXPORT_FORMAT = "slate-audit-export/1"


def log_leaves(entry_hashes: Sequence[str]) -> list[bytes]:
    """The log's RFC 6962 leaf hashes: each entry hash (32 bytes) is one leaf's input."""
    return [rfc6962.leaf_hash(bytes.fromhex(h)) for h in entry_hashes]


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the first ``old_size`` entries are unchanged in ``checkpoint``'s tree."""

    old_size: int
    checkpoint: SignedCheckpoint
    proof: tuple[str, ...]

    @property
    def new_size(self) -> int:
        return self.checkpoint.tree_size

    def verify(self, old_root_hash: str) -> bool:
        """Check with rfc6962 alone; the caller checks ``checkpoint``'s signature."""
        try:
            old_root, path = bytes.fromhex(old_root_hash), [bytes.fromhex(p) for p in self.proof]
        except ValueError:
            return False
        return rfc6962.verify_consistency(self.old_size, self.new_size, old_root, self.checkpoint.root, path)

    def to_dict(self) -> dict[str, Any]:
        return {"old_size": self.old_size, "new_size": self.new_size, "new_root": self.checkpoint.root_hash,
                "proof": list(self.proof), "checkpoint": self.checkpoint.to_dict()}


def newest(checkpoints: Sequence[SignedCheckpoint]) -> SignedCheckpoint | None:
    return max(checkpoints, key=lambda c: c.tree_size, default=None)


def prove_consistency(leaves: Sequence[bytes], checkpoint: SignedCheckpoint, old_size: int) -> ConsistencyProof:
    """The proof from ``old_size`` entries to ``checkpoint``, over the log's ``leaves``."""
    if old_size < 1:
        raise InvalidInput("a consistency proof starts from a tree of at least 1 entry")
    if old_size > checkpoint.tree_size:
        raise Conflict(f"the newest signed checkpoint covers {checkpoint.tree_size} entries, fewer than {old_size}",
                       hint="if you hold a signed checkpoint of more entries, the log was truncated: "
                            "run slate audit verify --since-checkpoint FILE")
    if len(leaves) < checkpoint.tree_size:
        raise Conflict(f"the log holds {len(leaves)} entries, fewer than its newest checkpoint's "
                       f"{checkpoint.tree_size}", hint="run slate audit verify")
    path = rfc6962.consistency_proof(leaves[:checkpoint.tree_size], old_size)
    return ConsistencyProof(old_size, checkpoint, tuple(p.hex() for p in path))


@dataclass(frozen=True)
class KeptEvidence:
    """What an auditor kept outside Slate: a signed checkpoint, and an export's head."""

    checkpoint: SignedCheckpoint | None
    head: tuple[int, str] | None
    what: str

    @classmethod
    def from_document(cls, data: Any) -> KeptEvidence:
        """A kept checkpoint file, or a kept export (its newest checkpoint and its head)."""
        if is_checkpoint_document(data):
            return cls(SignedCheckpoint.from_dict(data), None, "the checkpoint you kept")
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise InvalidInput("this is neither a kept checkpoint (slate audit checkpoint --out) nor a "
                               f"Slate audit export ({EXPORT_FORMAT})")
        try:
            head = (int(data["head"]["seq"]), str(data["head"]["hash"]))
            kept = [SignedCheckpoint.from_dict(c) for c in data["checkpoints"]]
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("the kept export is missing its head or checkpoints") from None
        return cls(newest(kept), head, "the export you kept")

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        if self.checkpoint is not None:
            facts["kept_checkpoint"] = {"tree_size": self.checkpoint.tree_size,
                                        "root_hash": self.checkpoint.root_hash}
        if self.head is not None:
            facts["kept_head"] = {"seq": self.head[0], "hash": self.head[1]}
        return facts


def kept_problem(leaves: Sequence[bytes], entry_hashes: Sequence[str], stored: Sequence[SignedCheckpoint],
                 kept: KeptEvidence, anchors: TrustAnchors | None) -> tuple[Finding | None, dict[str, Any]]:
    """Is the log (``leaves``, already checked against its ``stored`` checkpoints) still
    what the auditor kept? A finding when not, and the facts checked either way."""
    facts = kept.facts()
    if kept.checkpoint is not None:
        finding = _kept_checkpoint_problem(leaves, stored, kept.what, kept.checkpoint, anchors, facts)
        if finding:
            return finding, facts
    if kept.head is not None:
        return _kept_head_problem(entry_hashes, kept.what, kept.head), facts
    return None, facts


def _kept_checkpoint_problem(leaves: Sequence[bytes], stored: Sequence[SignedCheckpoint], what: str,
                             cp: SignedCheckpoint, anchors: TrustAnchors | None,
                             facts: dict[str, Any]) -> Finding | None:
    problem = cp.problem(anchors)
    if problem:
        return None, f"{what} ({cp.describe()}) cannot be relied on: {problem}"
    signed = f"signed at {json_default(cp.at)}"
    if len(leaves) < cp.tree_size:
        return len(leaves) + 1, (f"the log holds {len(leaves)} entries, but {what} ({signed}) covers "
                                 f"{cp.tree_size}: entries {len(leaves) + 1} to {cp.tree_size} were deleted "
                                 "(the log was truncated)")
    target = newest(stored)
    if target is None or target.tree_size < cp.tree_size:
        # Slate never deletes a checkpoint, so one covering the kept one must still be there
        if rfc6962.root_of_leaf_hashes(leaves[:cp.tree_size]) != cp.root:
            return None, (f"the first {cp.tree_size} entries no longer match {what} ({signed}): "
                          "the log was rewritten")
        return None, (f"the log no longer holds a signed checkpoint covering the {cp.tree_size} entries of "
                      f"{what} ({signed}): signed checkpoints were deleted")
    proof = prove_consistency(leaves, target, cp.tree_size)
    verified = proof.verify(cp.root_hash)
    facts["consistency"] = {k: v for k, v in proof.to_dict().items() if k != "checkpoint"} | {"verified": verified}
    if not verified:
        return None, (f"the log is not consistent with {what} ({cp.tree_size} entries, {signed}): the "
                      f"consistency proof to the newest signed checkpoint ({target.tree_size} entries) does not "
                      f"verify, so entries among the first {cp.tree_size} were rewritten")
    return None


def _kept_head_problem(entry_hashes: Sequence[str], what: str, head: tuple[int, str]) -> Finding | None:
    seq, head_hash = head
    if seq <= 0:
        return None
    if len(entry_hashes) < seq:
        return len(entry_hashes) + 1, (f"{what} ends at entry {seq}, but the log now holds only "
                                       f"{len(entry_hashes)} entries: entries were deleted (the log was truncated)")
    if entry_hashes[seq - 1] != head_hash:
        return None, (f"entry {seq}, the newest in {what}, no longer has the hash kept for it: "
                      f"the log was rewritten at or before entry {seq}")
    return None

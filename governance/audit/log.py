"""Appending to the audit log, checkpointing it, and verifying it (from the database or
from an export)."""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..canonical import canonical_json, digest, json_default
from ..clock import as_utc, utcnow
from ..errors import InvalidInput
from ..registry.merkle import EMPTY_ROOT, hash_node
from .tables import AuditCheckpoint, AuditEntry, AuditHead

GENESIS = "0" * 64
#: Who is acting, set once per API request or CLI invocation.
current_actor: contextvars.ContextVar[str] = contextvars.ContextVar("slate_actor", default="system")
#: A checkpoint is signed automatically after this many new entries.
CHECKPOINT_EVERY = 256


class CheckpointSigner(Protocol):
    algorithm: str

    @property
    def certificate_chain_pem(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def entry_body(seq: int, at: datetime, actor: str, action: str, subject: str, data: Any,
               prev_hash: str) -> dict[str, Any]:
    return {"seq": seq, "at": json_default(as_utc(at)), "actor": actor, "action": action,
            "subject": subject, "data": data, "prev_hash": prev_hash}


def record(action: str, subject: str, data: dict[str, Any] | None = None, actor: str | None = None) -> int:
    """Append one entry; call inside the transaction of the change it records.

    ``data`` must hold no secrets and no prompt text: hashes and ids only.
    """
    # take the head row's write lock before reading it (SQLite: the database write lock;
    # PostgreSQL: the row lock), so two appenders can never both extend the same head
    updated = AuditHead.update(seq=AuditHead.seq + 1).where(AuditHead.id == 1).execute()
    if not updated:
        AuditHead.insert(id=1, seq=1, head_hash=GENESIS).execute()
    head = AuditHead.get_by_id(1)
    prev = head.head_hash
    at = utcnow()
    body = entry_body(head.seq, at, actor or current_actor.get(), action, subject, data or {}, prev)
    # round-trip through JSON so what is hashed is exactly what is stored
    body["data"] = json.loads(canonical_json(body["data"]))
    entry_hash = digest(body)
    AuditEntry.create(seq=head.seq, at=at, actor=body["actor"], action=action, subject=subject,
                      data=body["data"], prev_hash=prev, entry_hash=entry_hash)
    AuditHead.update(head_hash=entry_hash).where(AuditHead.id == 1).execute()
    return int(head.seq)


def merkle_root(hashes_hex: list[str]) -> str:
    """RFC 6962 root over entry hashes (already hashes: used as leaves after the leaf prefix)."""
    import hashlib
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes_hex]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [hash_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def checkpoint_body(tree_size: int, root_hash: str, at: datetime) -> bytes:
    return canonical_json({"log": "slate-audit", "tree_size": tree_size, "root_hash": root_hash,
                           "at": json_default(as_utc(at))})


def checkpoint(signer: CheckpointSigner) -> dict[str, Any] | None:
    """Sign the current head. None when nothing was logged since the last checkpoint."""
    hashes = [e.entry_hash for e in AuditEntry.select(AuditEntry.entry_hash).order_by(AuditEntry.seq)]
    last = AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()).first()
    if not hashes or (last and last.tree_size >= len(hashes)):
        return None
    at = utcnow().replace(microsecond=0)
    root = merkle_root(hashes)
    signature = signer.sign(checkpoint_body(len(hashes), root, at))
    row = AuditCheckpoint.create(tree_size=len(hashes), root_hash=root, at=at,
                                 key_fingerprint=signer.fingerprint,
                                 certificate_chain_pem=signer.certificate_chain_pem, signature=signature.hex())
    return checkpoint_dict(row)


def checkpoint_if_due(signer: CheckpointSigner) -> dict[str, Any] | None:
    last = AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()).first()
    head = AuditHead.get_or_none(AuditHead.id == 1)
    size = head.seq if head else 0
    if size - (last.tree_size if last else 0) >= CHECKPOINT_EVERY:
        return checkpoint(signer)
    return None


def checkpoint_dict(c: AuditCheckpoint) -> dict[str, Any]:
    return {"tree_size": c.tree_size, "root_hash": c.root_hash, "at": json_default(as_utc(c.at)),
            "key_fingerprint": c.key_fingerprint, "certificate_chain_pem": c.certificate_chain_pem,
            "signature": c.signature}


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {**entry_body(e.seq, e.at, e.actor, e.action, e.subject, e.data, e.prev_hash),
            "entry_hash": e.entry_hash}


# -- verification -----------------------------------------------------------------------

@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem, "notes": list(self.notes)}


def _verify_checkpoint_signature(cp: dict[str, Any], trusted_fingerprints: set[str] | None) -> str | None:
    try:
        cert = x509.load_pem_x509_certificates(cp["certificate_chain_pem"].encode())[0]
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return "checkpoint certificate is not an EC key"
        size = (key.curve.key_size + 7) // 8
        raw = bytes.fromhex(cp["signature"])
        der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
        algorithm = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
        at = datetime.fromisoformat(cp["at"].replace("Z", "+00:00"))
        key.verify(der, checkpoint_body(cp["tree_size"], cp["root_hash"], at), ec.ECDSA(algorithm))
    except InvalidSignature:
        return "its signature does not verify"
    except (ValueError, KeyError, TypeError, IndexError):
        return "it is malformed"
    from cryptography.hazmat.primitives import hashes as h
    fingerprint = cert.fingerprint(h.SHA256()).hex()
    if trusted_fingerprints is not None and fingerprint not in trusted_fingerprints:
        return "it is signed by a certificate that is not one of Slate's signing certificates"
    return None


def verify_entries(entries: Iterable[dict[str, Any]], checkpoints: list[dict[str, Any]],
                   head: tuple[int, str] | None = None,
                   trusted_fingerprints: set[str] | None = None) -> AuditVerdict:
    """The whole check, on plain dicts: the same code runs on the database and on an export."""
    prev, expected_seq, hashes = GENESIS, 1, []
    for entry in entries:
        seq = entry.get("seq")
        if seq != expected_seq:
            kind = "missing (deleted?)" if isinstance(seq, int) and seq > expected_seq else "out of order or inserted"
            return AuditVerdict(False, len(hashes), len(checkpoints), expected_seq,
                                f"entry {expected_seq} is {kind}: found entry {seq} in its place")
        body = {k: entry[k] for k in ("seq", "at", "actor", "action", "subject", "data", "prev_hash")}
        if entry["prev_hash"] != prev:
            return AuditVerdict(False, len(hashes), len(checkpoints), seq,
                                f"entry {seq} does not follow entry {seq - 1}: the chain is broken")
        if digest(body) != entry["entry_hash"]:
            return AuditVerdict(False, len(hashes), len(checkpoints), seq,
                                f"entry {seq} was edited: its content no longer matches its hash")
        prev = entry["entry_hash"]
        hashes.append(prev)
        expected_seq += 1
    if head is not None and (head[0] != len(hashes) or (hashes and head[1] != hashes[-1])):
        bad = min(head[0], len(hashes)) + 1 if head[0] != len(hashes) else len(hashes)
        return AuditVerdict(False, len(hashes), len(checkpoints), bad,
                            f"the log holds {len(hashes)} entries but its head says {head[0]}: "
                            "entries were deleted or appended outside Slate")
    for cp in sorted(checkpoints, key=lambda c: c["tree_size"]):
        size = cp["tree_size"]
        if size > len(hashes):
            return AuditVerdict(False, len(hashes), len(checkpoints), len(hashes) + 1,
                                f"a signed checkpoint covers {size} entries but only {len(hashes)} remain: "
                                "entries were deleted")
        problem = _verify_checkpoint_signature(cp, trusted_fingerprints)
        if problem:
            return AuditVerdict(False, len(hashes), len(checkpoints), None,
                                f"the checkpoint at {size} entries is not valid: {problem}")
        if merkle_root(hashes[:size]) != cp["root_hash"]:
            # a chain rewritten from some entry on is self-consistent: the signed root says
            # only that the first `size` entries changed, so name the checkpoint instead
            return AuditVerdict(False, len(hashes), len(checkpoints), None,
                                f"the first {size} entries no longer match the checkpoint signed at "
                                f"{cp['at']}: the log was rewritten")
    notes = () if checkpoints else ("no signed checkpoint yet: run slate audit checkpoint",)
    return AuditVerdict(True, len(hashes), len(checkpoints), notes=notes)


def iter_entries() -> Iterator[dict[str, Any]]:
    for e in AuditEntry.select().order_by(AuditEntry.seq).iterator():
        yield {"seq": e.seq, "at": json_default(as_utc(e.at)), "actor": e.actor, "action": e.action,
               "subject": e.subject, "data": e.data, "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def verify_database(trusted_fingerprints: set[str] | None = None,
                    extra_checkpoints: list[dict[str, Any]] | None = None) -> AuditVerdict:
    """The whole check on the database; ``extra_checkpoints`` are ones kept outside it
    (an earlier export), which catch a rewrite that also removed the stored checkpoints."""
    head_row = AuditHead.get_or_none(AuditHead.id == 1)
    head = (head_row.seq, head_row.head_hash) if head_row else (0, GENESIS)
    checkpoints = [checkpoint_dict(c) for c in AuditCheckpoint.select()]
    stored = {(c["tree_size"], c["root_hash"]) for c in checkpoints}
    checkpoints += [c for c in extra_checkpoints or [] if (c.get("tree_size"), c.get("root_hash")) not in stored]
    try:
        return verify_entries(iter_entries(), checkpoints, head, trusted_fingerprints)
    except (KeyError, TypeError, AttributeError) as exc:
        return AuditVerdict(False, 0, len(checkpoints), None, f"a kept checkpoint is malformed ({exc})")


def export() -> dict[str, Any]:
    head_row = AuditHead.get_or_none(AuditHead.id == 1)
    return {"format": "slate-audit-export/1",
            "head": {"seq": head_row.seq if head_row else 0, "hash": head_row.head_hash if head_row else GENESIS},
            "entries": list(iter_entries()),
            "checkpoints": [checkpoint_dict(c) for c in AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size)]}


def verify_export(data: Any, trusted_fingerprints: set[str] | None = None) -> AuditVerdict:
    if not isinstance(data, dict) or data.get("format") != "slate-audit-export/1":
        raise InvalidInput("this is not a Slate audit export (format slate-audit-export/1)")
    try:
        head = (int(data["head"]["seq"]), str(data["head"]["hash"]))
        entries, checkpoints = list(data["entries"]), list(data["checkpoints"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the audit export is missing its head, entries or checkpoints") from None
    try:
        return verify_entries(entries, checkpoints, head, trusted_fingerprints)
    except (KeyError, TypeError, AttributeError) as exc:
        return AuditVerdict(False, 0, len(checkpoints), None, f"an entry is malformed ({exc})")

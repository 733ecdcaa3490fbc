"""Appending to the audit log, checkpointing it, and verifying it (from the database or
from an export, with checkpoint signers trusted only through trust anchors)."""

from __future__ import annotations

import contextvars
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Protocol, Sequence

from .. import rfc6962
from ..canonical import canonical_json, digest, json_default
from ..clock import as_utc, utcnow
from ..db import HotInsert, at_commit, database, first, lock_row, run_at_commit_work_now, transaction, tuples
from ..errors import Conflict, InvalidInput, NotFound
from .checkpoints import SignedCheckpoint, checkpoint_body, signature_problem
from .consistency import (
    EXPORT_FORMAT,
    ConsistencyProof,
    Finding,
    KeptEvidence,
    kept_problem,
    log_leaves,
    prove_consistency,
)
from .tables import AuditCheckpoint, AuditEntry, AuditHead
from .trust import TrustAnchors

GENESIS = "0" * 64
#: Who is acting, set once per API request or CLI invocation.
current_actor: contextvars.ContextVar[str] = contextvars.ContextVar("slate_actor", default="system")
#: A checkpoint is signed automatically after this many new entries.
CHECKPOINT_EVERY = 256
_log = logging.getLogger("slate.audit")


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


def record(action: str, subject: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
    """Append one entry; call inside the transaction of the change it records.

    ``data`` must hold no secrets and no prompt text: hashes and ids only.

    Inside a ``transaction`` the entry is written just before it commits (``db.at_commit``),
    with the transaction's other entries in the order they were recorded: the log's head row
    is then locked for the commit only, so on PostgreSQL two transactions that change
    different things do not wait for each other's work, only for each other's appends. What
    is recorded is fixed now (the actor, the data as canonical JSON); only the number, the
    time and the chain link are taken when it is written. Outside a transaction it is
    written at once.
    """
    who = actor or current_actor.get()
    # round-trip through JSON so what is hashed is exactly what is stored
    kept = json.loads(canonical_json(data or {}))
    if not at_commit(lambda: _append(who, action, subject, kept)):
        _append(who, action, subject, kept)


def _append(actor: str, action: str, subject: str, data: Any) -> int:
    seq, prev = _advance_head()
    at = utcnow()
    body = entry_body(seq, at, actor, action, subject, data, prev)
    entry_hash = digest(body)
    _insert_entry(seq=seq, at=at, actor=actor, action=action, subject=subject,
                  data=data, prev_hash=prev, entry_hash=entry_hash)
    database.execute_sql(f'UPDATE "audit_head" SET "head_hash" = {database.param} WHERE "id" = 1', [entry_hash])
    return seq


#: every change writes an entry: its insert's SQL is written once (``db.HotInsert``)
_insert_entry = HotInsert(AuditEntry)


def _advance_head() -> tuple[int, str]:
    """Move the head on by one and read it in the same statement: (the new entry's number,
    the hash it follows). The update takes the head row's write lock before anything is read
    (SQLite: the database write lock; PostgreSQL: the row lock), so two appenders can never
    both extend the same head; RETURNING (SQLite 3.35+, PostgreSQL) saves the read after it."""
    rows = database.execute_sql('UPDATE "audit_head" SET "seq" = "seq" + 1 WHERE "id" = 1 '
                                'RETURNING "seq", "head_hash"').fetchall()
    if not rows:
        AuditHead.insert(id=1, seq=1, head_hash=GENESIS).execute()
        return 1, GENESIS
    return int(rows[0][0]), str(rows[0][1])


def merkle_root(hashes_hex: list[str]) -> str:
    """RFC 6962 root over entry hashes (each entry hash is a leaf's input)."""
    return rfc6962.root_of_leaf_hashes(log_leaves(hashes_hex)).hex()


def checkpoint(signer: CheckpointSigner) -> dict[str, Any] | None:
    """Sign the current head. None when nothing was logged since the last checkpoint.

    Inside a transaction, the entries it recorded are appended first: a checkpoint covers
    everything recorded before it.

    The root is the newest checkpoint's ``rfc6962.Frontier`` (stored with it) extended by
    the entries after it, read and hashed alone: neither a checkpoint every 256 entries nor
    the first one a freshly started process signs reads the whole log inside the
    transaction that signs an output (seconds at millions of entries). See
    ``_trusted_frontier`` for when the stored frontier is used; otherwise, as before, the
    root is made from every entry."""
    run_at_commit_work_now()
    with transaction():
        # two checkpoints at once (housekeeping's, an auditor's, a signing's) must not both
        # sign the same size: the head row's lock orders them (SQLite: the write lock)
        lock_row(AuditHead, 1)
        return _checkpoint_locked(signer)


def _checkpoint_locked(signer: CheckpointSigner) -> dict[str, Any] | None:
    last = first(AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()))
    start = _trusted_frontier(last, signer) if last is not None else rfc6962.Frontier()
    new = [e for (e,) in tuples(AuditEntry.select(AuditEntry.entry_hash).where(AuditEntry.seq > start.size)
                                 .order_by(AuditEntry.seq))]
    leaves = log_leaves(new)
    if last is not None and start.size < last.tree_size:
        # the whole log was read: it must still hold the tree the newest checkpoint signed
        covered = rfc6962.Frontier().extended(leaves[:last.tree_size])
        if covered.size != last.tree_size or covered.root().hex() != last.root_hash:
            raise Conflict(f"the audit log no longer holds the {last.tree_size} entries its newest checkpoint "
                           "signed (an entry was changed, removed or added among them, or that checkpoint was): "
                           "no checkpoint is signed over a changed history",
                           hint="run `slate audit verify` to find the first entry that differs")
        start, leaves = covered, leaves[last.tree_size:]
    frontier = start.extended(leaves)
    if not frontier.size or (last and last.tree_size >= frontier.size):
        return None
    at = utcnow().replace(microsecond=0)
    root = frontier.root().hex()
    signature = signer.sign(checkpoint_body(frontier.size, root, at))
    row = AuditCheckpoint.create(tree_size=frontier.size, root_hash=root, at=at,
                                 key_fingerprint=signer.fingerprint,
                                 certificate_chain_pem=signer.certificate_chain_pem, signature=signature.hex(),
                                 frontier=frontier.to_text())
    return checkpoint_dict(row)


def _trusted_frontier(last: AuditCheckpoint, signer: CheckpointSigner) -> rfc6962.Frontier:
    """The frontier stored with ``last`` where it can stand for the entries it covers, else
    the empty one (the whole log is read, and must still give ``last``'s root). It can where
    it folds to ``last``'s root, and that root is signed by the key signing now, checked with
    the certificate ``signer`` holds (the keys folder's, or an external signer's configured
    chain; never the row's): a frontier is then the one the signed root was made from (short
    of a SHA-256 collision). So a checkpoint always extends the previous one's signed tree:
    someone who rewrites covered entries, or the stored frontier, in the database cannot get
    the next checkpoint signed over the rewritten history. After a key rotation, or for rows
    from before step 34, the first checkpoint reads the whole log once. Anything unreadable
    in the row counts as no frontier: this is a shortcut, never a reason to fail signing."""
    try:
        if not isinstance(last.frontier, str) or not last.frontier or not isinstance(last.at, datetime):
            return rfc6962.Frontier()
        stored = rfc6962.Frontier.from_text(last.tree_size, last.frontier)
        if stored.root().hex() != last.root_hash or signature_problem(
                signer.certificate_chain_pem, checkpoint_body(last.tree_size, last.root_hash, last.at),
                str(last.signature)) is not None:
            return rfc6962.Frontier()
        return stored
    except (ValueError, TypeError, AttributeError):
        return rfc6962.Frontier()


def checkpoint_if_due(signer: CheckpointSigner) -> None:
    """Sign a checkpoint once ``CHECKPOINT_EVERY`` entries are uncovered; inside a transaction,
    as it commits, after its entries (the head row stays unlocked until then)."""
    if not at_commit(lambda: _checkpoint_if_due(signer)):
        _checkpoint_if_due(signer)


def _checkpoint_if_due(signer: CheckpointSigner) -> None:
    if entries_since_checkpoint() >= CHECKPOINT_EVERY:
        try:
            checkpoint(signer)
        except Conflict as refused:
            # the log disagrees with its newest signed checkpoint: the work that fell due is
            # kept (its entries are in the chain), no checkpoint blesses the change, and the
            # operator is told on every due checkpoint until it is investigated
            _log.error("audit checkpoint refused: %s", refused.message)


def entries_since_checkpoint() -> int:
    """How many entries the newest signed checkpoint does not cover yet."""
    last = first(AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()))
    head = AuditHead.get_or_none(AuditHead.id == 1)
    return (head.seq if head else 0) - (last.tree_size if last else 0)


def checkpoint_dict(c: AuditCheckpoint) -> dict[str, Any]:
    return {"tree_size": c.tree_size, "root_hash": c.root_hash, "at": json_default(as_utc(c.at)),
            "key_fingerprint": c.key_fingerprint, "certificate_chain_pem": c.certificate_chain_pem,
            "signature": c.signature}


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {**entry_body(e.seq, e.at, e.actor, e.action, e.subject, e.data, e.prev_hash),
            "entry_hash": e.entry_hash}


def newest_checkpoint() -> SignedCheckpoint | None:
    row = first(AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()))
    return SignedCheckpoint.from_dict(checkpoint_dict(row)) if row else None


def consistency_from_database(old_size: int) -> ConsistencyProof:
    """The newest signed checkpoint and the proof that the log's first ``old_size`` entries
    are unchanged in it: what an auditor holding an older checkpoint asks for."""
    latest = newest_checkpoint()
    if latest is None:
        raise NotFound("the audit log has no signed checkpoint yet", hint="sign one with: slate audit checkpoint")
    hashes = [e.entry_hash for e in AuditEntry.select(AuditEntry.entry_hash).where(
        AuditEntry.seq <= latest.tree_size).order_by(AuditEntry.seq)]
    return prove_consistency(log_leaves(hashes), latest, old_size)


# -- verification -----------------------------------------------------------------------

@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: False when no trust anchors were given: checkpoint signatures were checked, not who made them
    signers_checked: bool = True
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem, "notes": list(self.notes),
                "signers_checked": self.signers_checked, "facts": self.facts}


UNCHECKED_SIGNERS = ("no trust anchors were given, so checkpoint signers were not checked: this does not rule "
                     "out a checkpoint forged with database access (slate audit verify checks them)")


def verify_entries(entries: Iterable[dict[str, Any]], checkpoints: list[dict[str, Any]],
                   head: tuple[int, str] | None = None, anchors: TrustAnchors | None = None,
                   kept: Sequence[KeptEvidence] = ()) -> AuditVerdict:
    """The whole check, on plain dicts: the same code runs on the database and on an export.

    1. each entry follows the one before and still matches its hash;
    2. the head names the last entry;
    3. each checkpoint is signed by a certificate chaining to ``anchors`` (only its
       signature when ``anchors`` is None) and its root matches the entries it covers;
    4. for each ``kept`` evidence (held outside Slate): the kept checkpoint verifies, the
       log still holds all it covered, and a consistency proof links it to the newest
       checkpoint; a kept head is still in the log with the same hash.
    """
    hashes, finding = _walk_chain(entries)
    facts: dict[str, Any] = {}
    if finding is None:
        finding = _head_problem(hashes, head)
    if finding is None:
        leaves = log_leaves(hashes)
        stored, finding = _checkpoints_problem(leaves, checkpoints, anchors)
        for evidence in kept:
            if finding is not None:
                break
            finding, checked = kept_problem(leaves, hashes, stored, evidence, anchors)
            facts.setdefault("kept", []).append(checked)
    return _verdict(finding, len(hashes), len(checkpoints), anchors is not None, facts)


def _verdict(finding: Finding | None, entries: int, checkpoints: int, signers_checked: bool,
             facts: dict[str, Any]) -> AuditVerdict:
    notes: tuple[str, ...] = () if signers_checked else (UNCHECKED_SIGNERS,)
    if finding is not None:
        return AuditVerdict(False, entries, checkpoints, finding[0], finding[1], notes, signers_checked, facts)
    if not checkpoints:
        notes = ("no signed checkpoint yet: run slate audit checkpoint",) + notes
    return AuditVerdict(True, entries, checkpoints, notes=notes, signers_checked=signers_checked, facts=facts)


def _walk_chain(entries: Iterable[dict[str, Any]]) -> tuple[list[str], Finding | None]:
    prev, expected_seq = GENESIS, 1
    hashes: list[str] = []
    for entry in entries:
        seq = entry.get("seq")
        if seq != expected_seq:
            kind = "missing (deleted?)" if isinstance(seq, int) and seq > expected_seq else "out of order or inserted"
            return hashes, (expected_seq, f"entry {expected_seq} is {kind}: found entry {seq} in its place")
        body = {k: entry[k] for k in ("seq", "at", "actor", "action", "subject", "data", "prev_hash")}
        if entry["prev_hash"] != prev:
            return hashes, (seq, f"entry {seq} does not follow entry {seq - 1}: the chain is broken")
        if digest(body) != entry["entry_hash"]:
            return hashes, (seq, f"entry {seq} was edited: its content no longer matches its hash")
        prev = entry["entry_hash"]
        hashes.append(prev)
        expected_seq += 1
    return hashes, None


def _head_problem(hashes: list[str], head: tuple[int, str] | None) -> Finding | None:
    if head is None or (head[0] == len(hashes) and (not hashes or head[1] == hashes[-1])):
        return None
    bad = min(head[0], len(hashes)) + 1 if head[0] != len(hashes) else len(hashes)
    return bad, (f"the log holds {len(hashes)} entries but its head says {head[0]}: "
                 "entries were deleted or appended outside Slate")


def _checkpoints_problem(leaves: list[bytes], checkpoints: list[dict[str, Any]],
                         anchors: TrustAnchors | None) -> tuple[list[SignedCheckpoint], Finding | None]:
    try:
        parsed = sorted((SignedCheckpoint.from_dict(data) for data in checkpoints), key=lambda c: c.tree_size)
    except InvalidInput as exc:
        return [], (None, f"a checkpoint is malformed: {exc.message}")
    checked: list[SignedCheckpoint] = []
    for cp in parsed:
        if cp.tree_size > len(leaves):
            return checked, (len(leaves) + 1, (f"a signed checkpoint covers {cp.tree_size} entries but only "
                                               f"{len(leaves)} remain: entries were deleted (the log was truncated)"))
        problem = cp.problem(anchors)
        if problem:
            return checked, (None, f"the checkpoint at {cp.tree_size} entries is not valid: {problem}")
        if rfc6962.root_of_leaf_hashes(leaves[:cp.tree_size]) != cp.root:
            # a chain rewritten from some entry on is self-consistent: the signed root says
            # only that the first `size` entries changed, so name the checkpoint instead
            return checked, (None, (f"the first {cp.tree_size} entries no longer match the checkpoint signed at "
                                    f"{json_default(cp.at)}: the log was rewritten"))
        checked.append(cp)
    return checked, None


def iter_entries() -> Iterator[dict[str, Any]]:
    for e in AuditEntry.select().order_by(AuditEntry.seq).iterator():
        yield {"seq": e.seq, "at": json_default(as_utc(e.at)), "actor": e.actor, "action": e.action,
               "subject": e.subject, "data": e.data, "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def verify_database(anchors: TrustAnchors | None = None,
                    extra_checkpoints: list[dict[str, Any]] | None = None,
                    kept: Sequence[KeptEvidence] = ()) -> AuditVerdict:
    """The whole check on the database.

    ``anchors`` are the roots checkpoint signers must chain to (from the keys folder or an
    auditor's file, never from the database). ``extra_checkpoints`` are ones kept outside
    the database (an earlier export) and ``kept`` kept checkpoints or export heads; both
    catch a rewrite or truncation that also removed the stored checkpoints.
    """
    head_row = AuditHead.get_or_none(AuditHead.id == 1)
    head = (head_row.seq, head_row.head_hash) if head_row else (0, GENESIS)
    checkpoints = [checkpoint_dict(c) for c in AuditCheckpoint.select()]
    stored = {(c["tree_size"], c["root_hash"]) for c in checkpoints}
    checkpoints += [c for c in extra_checkpoints or [] if _identity(c) not in stored]
    try:
        return verify_entries(iter_entries(), checkpoints, head, anchors, kept)
    except (KeyError, TypeError, AttributeError) as exc:
        return AuditVerdict(False, 0, len(checkpoints), None, f"an entry is malformed ({exc})")


def _identity(checkpoint: Any) -> tuple[int, str] | None:
    """(tree_size, root_hash) of a checkpoint dict; None for one too malformed to say."""
    if not isinstance(checkpoint, dict):
        return None
    size, root = checkpoint.get("tree_size"), checkpoint.get("root_hash")
    return (size, root) if isinstance(size, int) and isinstance(root, str) else None


def export() -> dict[str, Any]:
    head_row = AuditHead.get_or_none(AuditHead.id == 1)
    return {"format": EXPORT_FORMAT,
            "head": {"seq": head_row.seq if head_row else 0, "hash": head_row.head_hash if head_row else GENESIS},
            "entries": list(iter_entries()),
            "checkpoints": [checkpoint_dict(c) for c in AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size)]}


def verify_export(data: Any, anchors: TrustAnchors | None = None,
                  kept: Sequence[KeptEvidence] = ()) -> AuditVerdict:
    """The whole check on an export, with no database."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidInput(f"this is not a Slate audit export (format {EXPORT_FORMAT})")
    try:
        head = (int(data["head"]["seq"]), str(data["head"]["hash"]))
        entries, checkpoints = list(data["entries"]), list(data["checkpoints"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the audit export is missing its head, entries or checkpoints") from None
    try:
        return verify_entries(entries, checkpoints, head, anchors, kept)
    except (KeyError, TypeError, AttributeError) as exc:
        return AuditVerdict(False, 0, len(checkpoints), None, f"an entry is malformed ({exc})")

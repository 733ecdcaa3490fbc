"""``slate audit verify|export|checkpoint|list``.

Checkpoint signers are trusted only through trust anchors on disk: the keys folder's
``trust-anchors.pem`` or ``--trust-anchors FILE``; never through the database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..audit import log
from ..audit.checkpoints import SignedCheckpoint
from ..audit.consistency import KeptEvidence
from ..audit.trust import TrustAnchors
from ..credentials.keys import KeyStore
from ..db import transaction
from ..errors import Conflict, CredentialError, InvalidInput, NotFound
from . import Rendered, SlateContext, emits, exit_unless_ok, pass_slate


def _signer(slate: SlateContext) -> log.CheckpointSigner:
    store = KeyStore(slate.settings)
    store.ensure()
    return store.file_signer(store.active_key())


def _anchors(slate: SlateContext, anchors_file: str | None, pins: tuple[str, ...] = ()) -> TrustAnchors:
    """``--trust-anchors FILE``, else the keys folder's trust-anchors.pem; never the database."""
    if anchors_file:
        return TrustAnchors.from_file(Path(anchors_file), frozenset(pins))
    return TrustAnchors.in_keys_folder(slate.settings.keys_dir, frozenset(pins))


def _read_json(path: str, what: str = "a Slate audit export") -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(f"'{path}' is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"'{path}' is not {what}")
    return data


def _write_json(path: str, data: Any) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise InvalidInput(f"cannot write '{path}': {exc.strerror}") from None


def _render(verdict: log.AuditVerdict) -> str:
    if verdict.ok:
        trust = "against the trust anchors" if verdict.signers_checked else "(signature only)"
        lines = [f"OK: {verdict.entries} entries intact, {verdict.checkpoints} signed checkpoints verified {trust}"]
    else:
        where = f" (first bad entry: {verdict.first_bad_seq})" if verdict.first_bad_seq else ""
        lines = [f"TAMPERED{where}: {verdict.problem}"]
    if verdict.ok:
        for kept in verdict.facts.get("kept", []):
            lines += _render_kept(kept)
    return "\n".join(lines + [f"note: {n}" for n in verdict.notes])


def _render_kept(kept: dict[str, Any]) -> list[str]:
    lines = []
    if "consistency" in kept:
        proof = kept["consistency"]
        lines.append(f"kept checkpoint of {proof['old_size']} entries: consistent with the newest signed "
                     f"checkpoint ({proof['new_size']} entries, {len(proof['proof'])}-hash proof)")
    if "kept_head" in kept:
        lines.append(f"kept head: entry {kept['kept_head']['seq']} is still in the log with its hash")
    return lines


def _kept(kept_export: str | None, since: str | None) -> tuple[list[dict[str, Any]], list[KeptEvidence]]:
    extra: list[dict[str, Any]] = []
    evidence: list[KeptEvidence] = []
    if kept_export:
        data = _read_json(kept_export)
        evidence.append(KeptEvidence.from_document(data))
        extra = list(data.get("checkpoints") or [])
    if since:
        evidence.append(KeptEvidence.from_document(_read_json(since, "a kept checkpoint or export")))
    return extra, evidence


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.option("--export", "export_file", type=click.Path(dir_okay=False),
              help="Verify an exported log instead of the database (needs no database).")
@click.option("--checkpoints", "kept_export", type=click.Path(dir_okay=False),
              help="An earlier export kept outside Slate: its signed checkpoints and head must still hold.")
@click.option("--since-checkpoint", "since", type=click.Path(dir_okay=False),
              help="A checkpoint (slate audit checkpoint --out) or export kept outside Slate: the log must "
                   "still hold it and be consistent with it (an RFC 6962 consistency proof).")
@click.option("--trust-anchors", "anchors_file", type=click.Path(dir_okay=False),
              help="PEM roots that checkpoint signers must chain to (default: trust-anchors.pem in the keys folder).")
@click.option("--trust-fingerprint", "fingerprints", multiple=True,
              help="Also require checkpoints to be signed by this certificate (SHA-256 fingerprint): "
                   "a pin on top of the trust anchors, never trust on its own.")
@emits(_render, database=False, after=exit_unless_ok)
def audit_verify(slate: SlateContext, export_file: str | None, kept_export: str | None, since: str | None,
                 anchors_file: str | None, fingerprints: tuple[str, ...]) -> log.AuditVerdict:
    """Prove the log intact; exit 1 naming the first bad entry if not."""
    anchors = _anchors(slate, anchors_file, fingerprints)
    if export_file and kept_export:
        raise InvalidInput("--checkpoints checks the database against a kept export",
                           hint="to check an export against one kept earlier, use --since-checkpoint KEPT")
    extra, kept = _kept(kept_export, since)
    if export_file:
        return log.verify_export(_read_json(export_file), anchors, kept)
    slate.open()
    return log.verify_database(anchors, extra_checkpoints=extra, kept=kept)


@audit_group.command("checkpoint")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Write the newest signed checkpoint to FILE, to keep outside Slate.")
@emits()
def audit_checkpoint(slate: SlateContext, out_file: str | None) -> Any:
    """Sign the log's current Merkle root with Slate's signing key."""
    signer = _signer(slate)
    with transaction():
        result = log.checkpoint(signer)
    if out_file:
        kept = _keep_newest(slate, out_file)
        return Rendered(kept.to_dict(), f"kept {kept.describe()} (root {kept.root_hash[:16]}) in {out_file}: "
                                        f"store it outside Slate and check the log later with "
                                        f"slate audit verify --since-checkpoint {out_file}")
    return result or {"checkpoint": None, "reason": "nothing logged since the last checkpoint"}


def _keep_newest(slate: SlateContext, path: str) -> SignedCheckpoint:
    newest = log.newest_checkpoint()
    if newest is None:
        raise NotFound("the audit log is empty: there is no checkpoint to keep")
    problem = newest.problem(_anchors(slate, None))
    if problem:
        # never hand an auditor a checkpoint that would not verify later
        raise CredentialError(f"{newest.describe()} cannot be kept: {problem}", hint="run slate audit verify")
    _write_json(path, newest.to_dict())
    return newest


@audit_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_slate
def audit_export(slate: SlateContext, path: str) -> None:
    """Write entries and checkpoints to PATH for verification elsewhere.

    Signs a checkpoint first when entries were added since the last one, so the export's
    head is covered by a signature."""
    slate.open()
    if log.entries_since_checkpoint() > 0:
        _sign_before_export(slate)
    data = log.export()
    _write_json(path, data)
    click.echo(f"exported {len(data['entries'])} entries and {len(data['checkpoints'])} checkpoints to {path}")


def _sign_before_export(slate: SlateContext) -> None:
    try:
        signer = _signer(slate)
    except CredentialError as exc:
        # a key held outside Slate (KMS, HSM) cannot sign from here; the export's head
        # still binds its newest entries for whoever keeps it
        click.echo(f"warning: the newest entries are not covered by a signed checkpoint: {exc.message}", err=True)
        return
    try:
        with transaction():
            log.checkpoint(signer)
    except Conflict as refused:  # the export is what an auditor examines a changed log with
        click.echo(f"warning: the newest entries are not covered by a signed checkpoint: {refused.message}",
                   err=True)


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
@emits(lambda rs: "\n".join(f"{r['seq']:>6} {r['at']} {r['actor']:<20} {r['action']:<22} {r['subject']}"
                           for r in rs) or "(empty)")
def audit_list(slate: SlateContext, limit: int) -> Any:
    return list(log.iter_entries())[-limit:]


commands = [audit_group]

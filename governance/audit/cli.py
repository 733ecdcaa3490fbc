"""``slate audit verify|export|checkpoint|list``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli import SlateContext, emit, json_option, pass_slate
from ..db import transaction
from ..errors import InvalidInput
from . import log


def _signer(slate: SlateContext):  # type: ignore[no-untyped-def]
    from ..credentials.keys import KeyStore
    store = KeyStore(slate.settings)
    store.ensure()
    return store.file_signer(store.active_key())


def _trusted(slate: SlateContext) -> set[str]:
    from ..credentials.keys import KeyStore
    store = KeyStore(slate.settings)
    store.ensure()
    return {k.fingerprint for k in store.status().keys}


def _read_json(path: str) -> dict:  # type: ignore[type-arg]
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror}") from None
    except json.JSONDecodeError:
        raise InvalidInput(f"'{path}' is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"'{path}' is not a Slate audit export")
    return data


def _render(verdict: log.AuditVerdict) -> str:
    if verdict.ok:
        lines = [f"OK: {verdict.entries} entries intact, {verdict.checkpoints} signed checkpoints verified"]
    else:
        where = f" (first bad entry: {verdict.first_bad_seq})" if verdict.first_bad_seq else ""
        lines = [f"TAMPERED{where}: {verdict.problem}"]
    return "\n".join(lines + [f"note: {n}" for n in verdict.notes])


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.option("--export", "export_file", type=click.Path(dir_okay=False),
              help="Verify an exported log instead of the database (needs no database).")
@click.option("--checkpoints", "kept_file", type=click.Path(dir_okay=False),
              help="An earlier export kept outside Slate: its signed checkpoints must still hold.")
@click.option("--trust-fingerprint", "fingerprints", multiple=True,
              help="SHA-256 fingerprint of a signing certificate trusted for checkpoints (export mode).")
@json_option
@pass_slate
def audit_verify(slate: SlateContext, export_file: str | None, kept_file: str | None,
                 fingerprints: tuple[str, ...], as_json: bool) -> None:
    """Prove the log intact; exit 1 naming the first bad entry if not."""
    if export_file:
        verdict = log.verify_export(_read_json(export_file), set(fingerprints) or None)
    else:
        slate.open()
        kept = _read_json(kept_file).get("checkpoints", []) if kept_file else []
        verdict = log.verify_database(_trusted(slate), extra_checkpoints=kept)
    emit(verdict.to_dict(), as_json, lambda _: _render(verdict))
    if not verdict.ok:
        raise click.exceptions.Exit(1)


@audit_group.command("checkpoint")
@json_option
@pass_slate
def audit_checkpoint(slate: SlateContext, as_json: bool) -> None:
    """Sign the log's current Merkle root with Slate's signing key."""
    slate.open()
    with transaction():
        result = log.checkpoint(_signer(slate))
    emit(result or {"checkpoint": None, "reason": "nothing logged since the last checkpoint"}, as_json)


@audit_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_slate
def audit_export(slate: SlateContext, path: str) -> None:
    """Write entries and checkpoints to PATH for verification elsewhere."""
    slate.open()
    data = log.export()
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True))
    click.echo(f"exported {len(data['entries'])} entries and {len(data['checkpoints'])} checkpoints to {path}")


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
@json_option
@pass_slate
def audit_list(slate: SlateContext, limit: int, as_json: bool) -> None:
    slate.open()
    rows = list(log.iter_entries())[-limit:]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['seq']:>6} {r['at']} {r['actor']:<20} {r['action']:<22} {r['subject']}"
                                             for r in rs) or "(empty)")


commands = [audit_group]

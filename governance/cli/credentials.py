"""``slate keys ...`` and ``slate verify FILE``: thin adapters over ``keys`` and ``verification``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from ..credentials.keys import KeyInfo, KeysStatus, KeyStore
from ..credentials.verdict import CHECKS, Verdict
from ..credentials.verification import Verifier
from ..errors import InvalidInput
from . import Rendered, SlateContext, emits, exit_unless_ok, pass_slate


def _keys(slate: SlateContext) -> KeyStore:
    slate.open()
    store = KeyStore(slate.settings)
    store.ensure()
    return store


@click.group("keys")
def keys_group() -> None:
    """Signing keys and trust anchors (development PKI on first run)."""


@keys_group.command("status")
@emits(lambda status: _render_status(status))
def keys_status(slate: SlateContext) -> KeysStatus:
    """List signing certificates, which one is active, and the trust anchors."""
    return _keys(slate).status()


@keys_group.command("rotate")
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True,
              help="Lifetime of the new signing certificate.")
@emits(lambda key: f"active signing key is now {key.fingerprint}\n{_render_key(key)}")
def keys_rotate(slate: SlateContext, days: int) -> KeyInfo:
    """Issue a new signing certificate; the old one retires and its outputs still verify."""
    return _keys(slate).rotate(timedelta(days=days))


@keys_group.command("revoke")
@click.argument("fingerprint")
@click.option("--reason", required=True, help="Why; auditors read this in every affected verdict.")
@click.option("--at", "at", default=None, help="Revocation time, ISO 8601 UTC (default: now). "
                                               "Outputs signed with the key from then on verify as revoked.")
@emits()
def keys_revoke(slate: SlateContext, fingerprint: str, reason: str, at: str | None) -> Rendered:
    """Revoke a signing key by (a prefix of) its fingerprint."""
    key = _keys(slate).revoke(fingerprint, reason, parse_time(at) if at else None)
    hint = "\nno active signing key now: run slate keys rotate" if key.status == "revoked" and \
        KeyStore(slate.settings).status().active is None else ""
    return Rendered(key.to_dict(), f"revoked {key.fingerprint}\n{_render_key(key)}{hint}")


@keys_group.command("export-anchors")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@pass_slate
def keys_export_anchors(slate: SlateContext, output: Path | None) -> None:
    """Print the trust anchors (PEM) verifiers need to trust Slate's credentials."""
    pem = _keys(slate).trust_anchors_pem()
    if output is None:
        click.echo(pem, nl=False)
    else:
        output.write_text(pem)
        click.echo(f"wrote trust anchors to {output}")


@click.command("verify")
@click.argument("file", type=click.Path(path_type=Path))
@emits(lambda verdict: render_verdict(verdict), after=exit_unless_ok)
def verify_command(slate: SlateContext, file: Path) -> Verdict:
    """Verify FILE's content credentials: integrity, trust, issuance, standing.

    Exits 0 only when the file is intact, signed by Slate, recorded in the ledger and in
    good standing; else 1.
    """
    KeyStore(slate.settings).ensure()
    return Verifier(slate.settings).verify_file(file)


def render_verdict(verdict: Verdict) -> str:
    lines = [f"{verdict.subject}: {verdict.outcome.upper().replace('_', ' ')}", f"  {verdict.summary}"]
    for name in CHECKS:
        check = getattr(verdict, name)
        lines.append(f"  {name:<9} {check.status}")
        lines.extend(f"            - {reason}" for reason in check.reasons)
    governance: dict[str, Any] = verdict.facts.get("governance") or {}
    if governance:
        model = governance.get("model") or {}
        policy = governance.get("policy") or {}
        lines.append(f"  model     {model.get('name')}:{model.get('version')}  policy {policy.get('uid')} "
                     f"v{policy.get('version')}  decision {(governance.get('decision') or {}).get('id')}")
        lines.append(f"  approver  {governance.get('approver') or '(none: allowed without review)'}")
        if "receipt_sha256" in governance:  # schema 3 on; older credentials have no receipt
            lines.append(f"  receipt   {governance['receipt_sha256'] or '(none)'}")
    if verdict.sha256:
        lines.append(f"  sha256    {verdict.sha256}")
    return "\n".join(lines)


def _render_status(status: KeysStatus) -> str:
    lines = [f"keys folder   {status.keys_dir}", "trust anchors " + "; ".join(status.trust_anchors)]
    lines += [_render_key(k) for k in status.keys] or ["(no signing keys)"]
    return "\n".join(lines)


def _render_key(key: KeyInfo) -> str:
    line = (f"  {key.status:<8} {key.fingerprint[:16]}  {key.custody:<8} valid "
            f"{key.not_before:%Y-%m-%d} .. {key.not_after:%Y-%m-%d}  {key.subject}")
    if key.revoked_at:
        line += f"\n           revoked {key.revoked_at:%Y-%m-%d %H:%M:%S}Z: {key.revocation_reason}"
    return line


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"'{text}' is not a time; write it as 2026-01-31T12:00:00Z") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


commands = [keys_group, verify_command]

"""``slate keys ...``, ``slate verify FILE`` and ``slate export verification-kit DIR``: thin adapters
over ``keys``, ``verification`` and ``kit``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from ..audit.trust import TrustAnchors
from ..credentials.evidence import Evidence, NoRecords, StudioEvidence, anchors_from_file
from ..credentials.keys import KeyInfo, KeysStatus, KeyStore
from ..credentials.kit import ExportedKit, KitEvidence, export_kit
from ..credentials.verdict import CHECKS, FAIL, NOT_CHECKED, RECOVERED, Verdict
from ..credentials.verification import Verifier
from ..db import database_exists, reading_database
from ..errors import ConfigurationError, InvalidInput, NotFound
from ..migrations import STEPS, current_version
from ..provenance.standing import WITHHELD, standing_checks
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
@click.option("--trust-anchors", "anchors_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PEM roots to trust, instead of the keys folder's (or the kit's own): pin the studio's roots.")
@click.option("--kit", "kit", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A verification kit (slate export verification-kit): verify without the studio's database.")
@click.option("--c2pa-trust-list", "trust_list", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A C2PA trust list (PEM roots): also report whether FILE's signer chains to one of them "
                   "(default: SLATE_C2PA_TRUST_LIST).")
@emits(lambda verdict: render_verdict(verdict), database=False, after=lambda verdict: exit_for(verdict))
def verify_command(slate: SlateContext, file: Path, anchors_file: Path | None, kit: Path | None,
                   trust_list: Path | None) -> Verdict:
    """Verify FILE's content credentials: integrity, trust, issuance, standing.

    Writes nothing, anywhere. The evidence is the kit when --kit is given; else the
    studio's database, opened read-only, when there is one; else none, and what cannot be
    checked without it is said so. Exits 0 only when the file is intact, signed by Slate,
    recorded as issued and in good standing; 3 when it carries no credentials but is
    RECOVERED as a copy of an output in good standing (its watermark or fingerprint names
    it); else 1 (a recovered copy of an output no longer in good standing included).
    Whether a C2PA trust list trusts the signer is reported apart and does not change the
    exit code.
    """
    settings = replace(slate.settings, c2pa_trust_list=trust_list.resolve()) if trust_list else slate.settings
    anchors = anchors_from_file(anchors_file) if anchors_file else None
    if kit is not None:
        return Verifier(settings, evidence=KitEvidence.open(kit, anchors)).verify_file(file)
    with reading_database(settings.database_url) as opened:
        if not opened:
            anchors = anchors or TrustAnchors.in_keys_folder(settings.keys_dir)
            evidence: Evidence = NoRecords(anchors if anchors.roots else None)
        else:
            _check_schema()
            evidence = StudioEvidence(settings, standing_checks(), anchors=anchors)
        return Verifier(settings, evidence=evidence).verify_file(file)


def _check_schema() -> None:
    have, want = current_version(), max(step.version for step in STEPS)
    if have != want:
        raise ConfigurationError(f"the studio's database is at schema version {have}, this Slate reads {want}; "
                                 "slate verify never migrates it",
                                 hint="run a studio command (slate keys status) to bring it up to date, "
                                      "or verify with --kit DIR")


@click.group("export")
def export_group() -> None:
    """Material for verification elsewhere."""


@export_group.command("verification-kit")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--withhold-reasons", is_flag=True,
              help="Say only that an output lost its standing, not why (the reasons can name a person and "
                   "legal's reason): for a kit going to someone who may not read them.")
@emits(lambda kit: _render_kit(kit), database=False)
def export_verification_kit(slate: SlateContext, folder: Path, withhold_reasons: bool) -> ExportedKit:
    """Write a verification kit to FOLDER (new or empty): what an auditor outside the studio
    needs to verify Slate's outputs offline with slate verify --kit FOLDER. Signed by the
    active signing key; the export is audit-logged."""
    if not database_exists(slate.settings.database_url):
        # a studio made here and now would export an empty kit signed by a brand-new PKI
        raise NotFound(f"there is no studio database at {slate.settings.describe_database()}",
                       hint="run this where the studio's data is (SLATE_HOME, SLATE_DATABASE_URL)")
    slate.open()
    return export_kit(slate.settings, folder, standing_checks(), withheld=WITHHELD if withhold_reasons else None)


def _render_kit(kit: ExportedKit) -> str:
    return "\n".join([
        f"wrote a verification kit to {kit.folder}",
        f"  as of      {kit.exported_at:%Y-%m-%d %H:%M:%S}Z",
        f"  outputs    {kit.outputs} ({kit.not_in_good_standing} not in good standing)",
        f"  keys       {kit.keys} signing certificates, revoked ones included",
        f"  checkpoint audit log of {kit.checkpoint_tree_size} entries, signed",
        f"  signed by  {kit.signed_by[:16]}; kit.json SHA-256 {kit.manifest_sha256}",
        f"an auditor verifies with: slate verify --kit {kit.folder} --trust-anchors STUDIO-ROOTS.pem FILE",
    ])


#: ``slate verify``'s exit status for a copy recovered from its soft bindings, original in good standing
EXIT_RECOVERED = 3


def exit_for(verdict: Verdict) -> None:
    """0 verified, 3 recovered (original in good standing), 1 anything else."""
    if verdict.outcome == RECOVERED and verdict.standing.ok and verdict.approval.status != FAIL:
        raise click.exceptions.Exit(EXIT_RECOVERED)
    exit_unless_ok(verdict)


def render_verdict(verdict: Verdict) -> str:
    lines = [f"{verdict.subject}: {verdict.outcome.upper().replace('_', ' ')}", f"  {verdict.summary}"]
    recovered: dict[str, Any] = verdict.facts.get("recovered") or {}
    if recovered:
        lines.append(f"  original  {recovered.get('sha256')}  (by {recovered.get('method')})")
        lines.append(f"  credential {recovered.get('manifest_label')}")
    for name in CHECKS:
        check = getattr(verdict, name)
        lines.append(f"  {name:<9} {check.status}")
        lines.extend(f"            - {reason}" for reason in check.reasons)
    if verdict.c2pa_trust_list.status != NOT_CHECKED:
        lines.append(f"  c2pa list {verdict.c2pa_trust_list.status}")
        lines.extend(f"            - {reason}" for reason in verdict.c2pa_trust_list.reasons)
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
    lines.extend(_render_evidence(verdict.facts.get("evidence") or {}))
    return "\n".join(lines)


def _render_evidence(evidence: dict[str, Any]) -> list[str]:
    """Where the verdict's evidence came from, when it is not the studio's own records."""
    if evidence.get("kind") == "kit":
        return [f"  evidence  verification kit {evidence['location']}, as of {evidence['as_of']}",
                f"  anchors   {evidence['trust_anchors']}", *(f"  note      {n}" for n in evidence["notes"])]
    if evidence.get("kind") == "none":
        return [f"  evidence  none: no studio database here; trust anchors: {evidence['trust_anchors']}"]
    return []


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


commands = [keys_group, verify_command, export_group]

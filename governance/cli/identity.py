"""``slate identity ...``: people's identity certificates, the keys their approvals are signed with."""

from __future__ import annotations

from pathlib import Path

import click

from ..credentials.identities import IdentityInfo, IdentityStore
from . import Rendered, SlateContext, emits
from .credentials import parse_time


@click.group("identity")
def identity_group() -> None:
    """Approvers' and legal reviewers' identity certificates (studio identity CA)."""


def _render(info: IdentityInfo) -> str:
    line = (f"  {info.status:<7} {info.user_name:<20} {info.role:<15} serial {info.serial[:16]}  valid "
            f"{info.not_before:%Y-%m-%d} .. {info.not_after:%Y-%m-%d}")
    if info.revoked_at:
        line += f"\n          revoked {info.revoked_at:%Y-%m-%d %H:%M:%S}Z: {info.revocation_reason}"
    return line


def _public(info: IdentityInfo) -> dict[str, object]:
    return {k: v for k, v in info.to_dict().items() if k != "cert_pem"}


@identity_group.command("list")
@emits()
def identity_list(slate: SlateContext) -> Rendered:
    """Every identity certificate issued, valid and revoked."""
    found = IdentityStore(slate.settings).all()
    return Rendered([_public(i) for i in found], "\n".join(_render(i) for i in found) or "(no identity certificates)")


@identity_group.command("show")
@click.argument("user")
@emits()
def identity_show(slate: SlateContext, user: str) -> Rendered:
    """USER's certificates, newest first, with the certificate (PEM) of the current one."""
    found = IdentityStore(slate.settings).history(user)
    return Rendered({"user": user, "certificates": [i.to_dict() for i in found]},
                    "\n".join(_render(i) for i in found) + "\n" + found[0].cert_pem)


@identity_group.command("issue")
@click.argument("user")
@emits()
def identity_issue(slate: SlateContext, user: str) -> Rendered:
    """Issue USER (an approver or legal user) an identity certificate; an admin's act."""
    info = IdentityStore(slate.settings).enrol(user)
    return Rendered(_public(info), f"issued\n{_render(info)}")


@identity_group.command("revoke")
@click.argument("user")
@click.option("--reason", required=True, help="Why; auditors read it in every affected verdict.")
@click.option("--at", "at", default=None, help="Revocation time, ISO 8601 UTC (default: now). Approvals "
                                               "signed with the certificate from then on verify as revoked.")
@emits()
def identity_revoke(slate: SlateContext, user: str, reason: str, at: str | None) -> Rendered:
    """Revoke USER's identity certificate; its private key is destroyed."""
    info = IdentityStore(slate.settings).revoke(user, reason, parse_time(at) if at else None)
    return Rendered(_public(info), f"revoked\n{_render(info)}")


@identity_group.command("export-anchors")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@emits()
def identity_export_anchors(slate: SlateContext, output: Path | None) -> Rendered:
    """Print the identity CA (PEM): all a verifier needs to check approvers' signatures."""
    pem = IdentityStore(slate.settings).anchors_pem()
    if output is None:
        return Rendered({"identity_anchors": pem}, pem.rstrip("\n"))
    output.write_text(pem)
    return Rendered({"written": str(output)}, f"wrote the identity anchors to {output}")


commands = [identity_group]

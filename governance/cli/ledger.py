"""``slate ledger ...``: read the ledger of signed outputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import NotFound
from ..ledger.records import find_by_sha256, recent
from . import Rendered, SlateContext, emits

if TYPE_CHECKING:
    from ..ledger.sweep import Orphan


@click.group("ledger")
def ledger_group() -> None:
    """The outputs Slate signed."""


@ledger_group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@emits(lambda entries: "\n".join(f"{e.signed_at:%Y-%m-%d %H:%M:%S}Z  {e.sha256[:16]}  {e.model_ref}  "
                                   f"job {e.job_id}  decision {e.decision_id}" for e in entries) or "(none)")
def ledger_list(slate: SlateContext, limit: int) -> Any:
    """The most recent signed outputs."""
    return recent(limit)


@ledger_group.command("show")
@click.argument("sha256")
@emits()
def ledger_show(slate: SlateContext, sha256: str) -> Any:
    """One output by the SHA-256 of its signed file."""
    entry = find_by_sha256(sha256.lower())
    if entry is None:
        raise NotFound(f"the ledger holds no output with SHA-256 {sha256}")
    return entry.to_dict()


@ledger_group.command("sweep")
@click.option("--apply", "apply_", is_flag=True, help="Move the files found to outputs/orphaned/ (default: list them).")
@click.option("--grace-minutes", type=click.IntRange(1), default=10, show_default=True,
              help="Leave files younger than this: their signing may still be committing.")
@emits()
def ledger_sweep(slate: SlateContext, apply_: bool, grace_minutes: int) -> Any:
    """Signed files the ledger does not hold (left by a crash between writing and recording)."""
    from datetime import timedelta

    from ..clock import utcnow
    from ..ledger.sweep import find_orphans, quarantine
    outputs = slate.settings.outputs_dir
    orphans = find_orphans(outputs, utcnow(), timedelta(minutes=grace_minutes))
    moved = quarantine(outputs, orphans) if apply_ else []
    data = {"orphans": [o.to_dict() for o in orphans], "moved_to": str(outputs / "orphaned") if moved else None}
    return Rendered(data, _sweep_text(orphans, moved, outputs / "orphaned"))


def _sweep_text(orphans: list[Orphan], moved: list[Path], folder: Path) -> str:
    if not orphans:
        return "no orphan files"
    lines = [f"{o.kind:<10} {o.size:>10,} B  {o.modified:%Y-%m-%d %H:%M}Z  {o.path}" for o in orphans]
    lines.append(f"moved {len(moved)} file(s) to {folder}" if moved else
                 f"{len(orphans)} file(s); run with --apply to move them to {folder}")
    return "\n".join(lines)


commands = [ledger_group]

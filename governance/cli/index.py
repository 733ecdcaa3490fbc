"""``slate index status|rebuild``: the similarity index of registered assets' fingerprints.

The index file lives in the data folder and is made from the registry's fingerprint rows;
``rebuild`` makes it again from them (after damage, a lost file, or a registration made
without it) and is audit-logged. ``status`` exits 1 when the index cannot be used.
"""

from __future__ import annotations

from typing import Any

import click

from ..registry import fingerprints
from . import Rendered, SlateContext, emits
from .registry import _legal, by_option


@click.group("index")
def index_group() -> None:
    """The similarity index of registered assets (fingerprints)."""


def _render(report: dict[str, Any]) -> str:
    state = "ok" if report["ok"] else f"UNUSABLE: {report['problem']}"
    return (f"{state}\n{report['indexed']} assets indexed, {report['skipped']} skipped; file holds "
            f"{report['in_file']} ({report['fingerprint_version']}) in {report['folder']}")


def _exit_unless_usable(result: Rendered) -> None:
    if not result.to_dict()["ok"]:
        raise click.exceptions.Exit(1)


@index_group.command("status")
@emits(after=_exit_unless_usable)
def index_status(slate: SlateContext) -> Any:
    report = fingerprints.status(slate.settings.index_dir).to_dict()
    return Rendered(report, _render(report))


@index_group.command("rebuild")
@by_option
@emits()
def index_rebuild(slate: SlateContext, by_name: str | None) -> Any:
    """Make the index again from the registry's fingerprint rows (audit-logged)."""
    report = fingerprints.rebuild(slate.settings.index_dir, by=_legal(by_name)).to_dict()
    return Rendered(report, _render(report))


commands = [index_group]

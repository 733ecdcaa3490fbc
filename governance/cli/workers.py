"""``slate worker approve|revoke|list``: an admin's side of worker keys.

The worker's own side, ``slate worker enroll`` (make the key pair on the worker host and
send its public key), is the generator's command (``generator.cli``): it runs where the
key lives. These call the same functions as ``/api/v1/workers``; ``--by`` names the admin
who is accountable, as the API's token does.
"""

from __future__ import annotations

from typing import Any

import click

from ..auth.users import principal_named
from ..workers import enrolment
from ..workers.enrolment import WorkerKeyView
from . import Rendered, SlateContext, emits, table

COLUMNS = ["id", "key_id", "user", "label", "status", "approved_by", "revoked_at"]


def _render(view: WorkerKeyView) -> str:
    row = view.to_dict()
    return table([{**row, "key_id": view.key_id[:16] + "…"}], COLUMNS)


@click.command("approve")
@click.argument("key")
@click.option("--by", required=True, help="The admin approving it (never the key's own user).")
@emits(_render)
def worker_approve(slate: SlateContext, key: str, by: str) -> Any:
    """Approve an enrolled worker key (its id, or the start of its key id)."""
    return enrolment.approve(key, principal_named(by, "admin"))


@click.command("revoke")
@click.argument("key")
@click.option("--by", required=True, help="The admin revoking it.")
@click.option("--reason", required=True, help="Why, for the record (e.g. the host was compromised).")
@emits(_render)
def worker_revoke(slate: SlateContext, key: str, by: str, reason: str) -> Any:
    """Revoke a worker key for good: no receipt it signs is accepted from now on."""
    return enrolment.revoke(key, principal_named(by, "admin"), reason)


@click.command("list")
@click.option("--status", type=click.Choice(enrolment.STATUSES), default=None)
@emits()
def worker_list(slate: SlateContext, status: str | None) -> Any:
    """Every enrolled worker key and its status."""
    rows = [v.to_dict() for v in enrolment.list_all(status)]
    return Rendered(rows, table([{**r, "key_id": r["key_id"][:16] + "…"} for r in rows], COLUMNS))


subcommands = {"worker": [worker_approve, worker_revoke, worker_list]}

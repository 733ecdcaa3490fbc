"""``slate output reproduce SHA256``: the reproduction audit from the command line.

It calls the same function as ``POST /api/v1/outputs/{sha256}/reproduce``, on the generator
installed in this process; ``--by`` names the legal user or auditor who is accountable, as
the API's token does.
"""

from __future__ import annotations

from typing import Any

import click

from ..auth.users import principal_named
from ..lifecycle import reproduction
from . import Rendered, SlateContext, emits


@click.group("output")
def output_group() -> None:
    """Signed outputs: audit them."""


def _render(result: dict[str, Any]) -> str:
    distance = "" if result["distance"] is None else f" (distance {result['distance']})"
    return (f"{result['verdict']}{distance}: output {result['output'][:16]}… job {result['job_id']} "
            f"worker {result['worker'] or '?'}\n{result['reason']}")


def _exit_if_differs(result: Rendered) -> None:
    """A ``differs`` exits 1, as a failing verification does; ``close`` and ``reproduced`` 0."""
    if result.data["verdict"] == reproduction.DIFFERS:
        raise click.exceptions.Exit(1)


@output_group.command("reproduce")
@click.argument("sha256")
@click.option("--by", required=True, help="The legal user or auditor asking for the audit.")
@emits(after=_exit_if_differs)
def output_reproduce(slate: SlateContext, sha256: str, by: str) -> Any:
    """Make an output's recorded job again here and compare it with the ledger's pixels."""
    result = reproduction.reproduce_output(sha256, principal_named(by, reproduction.AUDITORS)).to_dict()
    return Rendered(result, _render(result))


commands = [output_group]

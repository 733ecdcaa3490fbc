"""``slate output reproduce SHA256``: the reproduction audit from the command line; and
``slate output reviews | review | purge``: output review (the decision on each generated
image before signing) for reviewers and operators.

Each calls the same function as its API route (``POST /api/v1/outputs/{sha256}/reproduce``,
``/api/v1/output-reviews``); ``--by`` names the accountable user, as the API's token does.
"""

from __future__ import annotations

from typing import Any

import click

from ..auth.users import principal_named
from ..lifecycle import output_review, reproduction, reviewing
from . import Rendered, SlateContext, emits


@click.group("output")
def output_group() -> None:
    """Signed outputs: audit them; review generated images policy held before signing."""


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


def _render_reviews(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no output reviews"
    return "\n".join(f"{r['id']}  {r['status']:<8} {r['outcome']:<14} job {r['job_id']}  "
                     f"{', '.join(f['rule'] for f in r['violations'] + r['approvals']) or '-'}" for r in rows)


@output_group.command("reviews")
@click.option("--status", type=click.Choice(["allowed", "held", "approved", "rejected", "refused", "purged"]),
              default=None, help="Only reviews in this status (held: waiting for a reviewer).")
@click.option("--by", required=True, help="The reviewer (legal or approver) or auditor asking.")
@emits(lambda rows: _render_reviews(rows))
def output_reviews(slate: SlateContext, status: str | None, by: str) -> Any:
    """Output reviews, oldest first: the images policy held for a person, refused, or let through."""
    who = principal_named(by, (*output_review.REVIEWERS, "auditor"))
    return [r.to_dict() for r in output_review.list_reviews(who, status)]


@output_group.command("review")
@click.argument("review_id")
@click.option("--verdict", type=click.Choice(["approved", "rejected"]), required=True)
@click.option("--comment", default="", help="Why (shown with the review and in the audit log).")
@click.option("--by", required=True, help="The reviewer: a role the held rules name to approve; anyone to reject.")
@emits(lambda row: f"{row['id']}: {row['status']}"
       + (f", signed as {row['output_sha256'][:16]}…" if row.get("output_sha256") else ""))
def output_review_decide(slate: SlateContext, review_id: str, verdict: str, comment: str, by: str) -> Any:
    """Approve (sign exactly the held image, naming you) or reject (quarantine) a held image."""
    from ..credentials.issuance import Issuer
    who = principal_named(by, output_review.REVIEWERS)
    return reviewing.decide(review_id, who, verdict, comment, Issuer(slate.settings),
                            retention=output_review.ReviewConfig.from_settings(slate.settings).retention).to_dict()


@output_group.command("purge")
@emits(lambda count: f"purged {count} quarantined image(s) past their retention")
def output_purge(slate: SlateContext) -> Any:
    """Delete refused and rejected images kept past SLATE_QUARANTINE_RETENTION_DAYS (for cron;
    ``slate serve`` does it every few minutes); their reviews stay, ``purged``."""
    return output_review.purge()


commands = [output_group]

"""``slate terms set``, ``slate budget set|show`` and ``slate report uses``: use caps,
compensation, GPU budgets and blackouts (legal), and the payables they produce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..auth.users import principal_named
from ..errors import InvalidInput
from ..policy import usage
from . import SlateContext, emits, pass_slate, table
from .registry import _legal, by_option


@click.group("terms")
def terms_group() -> None:
    """A consent's or licence's use cap and compensation per output (legal)."""


@terms_group.command("set")
@click.argument("kind", type=click.Choice([usage.CONSENT, usage.LICENCE]))
@click.argument("ref")
@click.option("--max-uses", type=click.IntRange(min=0), default=None, help="Most requests that may rely on it.")
@click.option("--amount", default=None, help="What each signed output owes, e.g. 250.00 (none: nothing).")
@click.option("--currency", default=None, help="ISO 4217 code, e.g. GBP.")
@by_option
@emits()
def terms_set(slate: SlateContext, kind: str, ref: str, max_uses: int | None, amount: str | None,
              currency: str | None, by_name: str | None) -> Any:
    compensation = {"amount": amount, "currency": currency or ""} if amount else None
    if currency and not amount:
        raise InvalidInput("a currency was given without an amount", hint="give --amount too")
    return usage.set_terms(kind, ref, max_uses=max_uses, compensation=compensation, by=_legal(by_name))


@click.group("budget")
def budget_group() -> None:
    """A production's GPU-seconds budget and blackout windows (legal)."""


def _window(text: str) -> dict[str, str]:
    dates, _, reason = text.partition(":")
    start, sep, until = dates.partition("..")
    if not sep:
        raise InvalidInput(f"'{text[:60]}' is not a window", hint="FROM..UNTIL[:REASON], e.g. "
                           "2026-07-01..2026-07-14:picture lock")
    return {"from": start.strip(), "until": until.strip(), "reason": reason.strip()}


@budget_group.command("set")
@click.argument("production")
@click.option("--gpu-seconds", type=click.FloatRange(min=0), default=None, help="The budget (none: no budget).")
@click.option("--blackout", "blackouts", multiple=True, help="FROM..UNTIL[:REASON]; no generation then.")
@by_option
@emits()
def budget_set(slate: SlateContext, production: str, gpu_seconds: float | None, blackouts: tuple[str, ...],
               by_name: str | None) -> Any:
    return usage.set_budget(production, gpu_seconds=gpu_seconds, blackouts=[_window(b) for b in blackouts],
                            by=_legal(by_name))


@budget_group.command("show")
@click.argument("production")
@emits()
def budget_show(slate: SlateContext, production: str) -> Any:
    return usage.budget_of(production)


@click.command("uses")
@click.option("--production", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "text"]), default="text", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--by", "by_name", default=None, help="Whose view (a producer sees only their productions).")
@pass_slate
def report_uses(slate: SlateContext, production: str, fmt: str, output: Path | None, by_name: str | None) -> None:
    """The production's use events: one per signed output and consent or licence with
    compensation terms, for payroll and royalties."""
    slate.open()
    rows = usage.uses_report(production, by=principal_named(by_name, None) if by_name else None)
    if fmt == "csv":
        text = usage.to_csv(rows)
    elif fmt == "json":
        import json
        text = json.dumps([r.to_dict() for r in rows], indent=2, sort_keys=True) + "\n"
    else:
        text = table([r.to_dict() for r in rows], ["created_at", "output_sha256", "kind", "record_ref", "payee",
                                                   "amount", "currency"]) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8", newline="")
    else:
        click.echo(text, nl=False)


commands = [terms_group, budget_group]
subcommands = {"report": [report_uses]}

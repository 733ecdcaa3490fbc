"""``slate base register|list|show|approve|restrict|retire``: the base models studio models start from."""

from __future__ import annotations

from typing import Any

import click

from ..registry import base_models
from . import SlateContext, emits, table
from .registry import _legal, by_option


@click.group("base")
def base_group() -> None:
    """Base models: register one by its weights identity, licence and training-data statement; approve,
    restrict (concept and previs only) or retire it (legal)."""


@base_group.command("register")
@click.argument("name")
@click.option("--weights-hash", required=True, help="The base's weights identity (SHA-256).")
@click.option("--licence", required=True, help='Its licence, e.g. "CreativeML OpenRAIL-M".')
@click.option("--licence-url")
@click.option("--training-data", required=True, help="The maker's statement of what the base was trained on.")
@click.option("--status", type=click.Choice(["restricted", "approved"]), default="restricted", show_default=True)
@click.option("--path", help="Where workers find its weights.")
@by_option
@emits()
def base_register(slate: SlateContext, name: str, weights_hash: str, licence: str, licence_url: str | None,
                  training_data: str, status: str, path: str | None, by_name: str | None) -> Any:
    return base_models.register_base(name, weights_hash, licence=licence, training_data=training_data,
                                     licence_url=licence_url, status=status, path=path, by=_legal(by_name))


@base_group.command("list")
@emits(lambda rows: table(rows, ["name", "status", "licence", "weights_hash"]))
def base_list(slate: SlateContext) -> Any:
    return base_models.list_bases()


@base_group.command("show")
@click.argument("base")
@emits()
def base_show(slate: SlateContext, base: str) -> Any:
    return base_models.show_base(base)


_VERBS = {"approved": "approve", "restricted": "restrict", "retired": "retire"}


def _status_command(status: str, help_text: str) -> None:
    @base_group.command(_VERBS[status], help=help_text)
    @click.argument("base")
    @click.option("--reason", required=status != "approved", help="Why (kept with the base and in the audit log).")
    @by_option
    @emits()
    def command(slate: SlateContext, base: str, reason: str | None, by_name: str | None) -> Any:
        return base_models.set_base_status(base, status, reason, by=_legal(by_name))


_status_command("approved", "Approve a base model for every use (legal).")
_status_command("restricted", "Restrict a base model to concept and previs (legal).")
_status_command("retired", "Retire a base model: final; models on it are refused (legal).")

commands = [base_group]

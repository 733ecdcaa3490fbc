"""``slate user`` and ``slate token``: admin commands for who may call the API."""

from __future__ import annotations

from datetime import timedelta

import click

from ..cli import SlateContext, emit, json_option, pass_slate
from ..registry.cli import _multi, _table
from . import users


@click.group("user")
def user_group() -> None:
    """Users and their roles (legal, producer, approver, generator, auditor, admin)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--production", "productions", multiple=True, help="A production the user belongs to.")
@json_option
@pass_slate
def user_add(slate: SlateContext, name: str, roles: tuple[str, ...], productions: tuple[str, ...],
             as_json: bool) -> None:
    slate.open()
    emit(users.add_user(name, _multi(roles), _multi(productions)), as_json)


@user_group.command("join")
@click.argument("name")
@click.argument("production")
@json_option
@pass_slate
def user_join(slate: SlateContext, name: str, production: str, as_json: bool) -> None:
    """Make a user a member of a production."""
    slate.open()
    emit(users.add_membership(name, production), as_json)


@user_group.command("list")
@json_option
@pass_slate
def user_list(slate: SlateContext, as_json: bool) -> None:
    slate.open()
    emit(users.list_users(), as_json, lambda rows: _table(rows, ["name", "roles", "productions"]))


@click.group("token")
def token_group() -> None:
    """API tokens: shown once at creation, stored only as hashes."""


@token_group.command("create")
@click.argument("user")
@click.option("--label", default="")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), help="Default: no expiry.")
@json_option
@pass_slate
def token_create(slate: SlateContext, user: str, label: str, expires_in_days: int | None, as_json: bool) -> None:
    slate.open()
    result = users.issue_token(user, label=label,
                               expires_in=timedelta(days=expires_in_days) if expires_in_days else None)
    emit(result, as_json, lambda r: f"{r['token']}\n(token #{r['id']} for {r['user']}; "
                                    "it is shown only now: store it safely)")


@token_group.command("list")
@click.option("--user")
@json_option
@pass_slate
def token_list(slate: SlateContext, user: str | None, as_json: bool) -> None:
    slate.open()
    emit(users.list_tokens(user), as_json,
         lambda rows: _table(rows, ["id", "user", "prefix", "label", "expires_at", "revoked_at"]))


@token_group.command("revoke")
@click.argument("token_id")
@json_option
@pass_slate
def token_revoke(slate: SlateContext, token_id: str, as_json: bool) -> None:
    slate.open()
    emit(users.revoke_token(token_id), as_json)


commands = [user_group, token_group]

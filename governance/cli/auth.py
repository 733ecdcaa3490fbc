"""``slate user`` and ``slate token``: admin commands for who may call the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from ..auth import users
from ..credentials.identities import IdentityStore
from ..errors import InvalidInput
from . import SlateContext, emits, multi, table
from .catalogue import parse_assignments


@click.group("user")
def user_group() -> None:
    """Users and their roles (legal, producer, approver, generator, auditor, admin)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--production", "productions", multiple=True, help="A production the user belongs to.")
@emits()
def user_add(slate: SlateContext, name: str, roles: tuple[str, ...], productions: tuple[str, ...]) -> Any:
    user = users.add_user(name, multi(roles), multi(productions))
    return {**user, "identity_certificate": _enrol(slate, name)}


def _enrol(slate: SlateContext, name: str) -> str | None:
    """An approver's or legal user's identity certificate, issued at enrolment; its serial."""
    info = IdentityStore(slate.settings).enrol_if_eligible(name)
    return info.serial if info else None


@user_group.command("join")
@click.argument("name")
@click.argument("production")
@emits()
def user_join(slate: SlateContext, name: str, production: str) -> Any:
    """Make a user a member of a production."""
    return users.add_membership(name, production)


@user_group.command("set")
@click.argument("name")
@click.option("--department", default=None, help="The user's department (who the policy sees asking).")
@click.option("--no-department", is_flag=True, help="Clear the user's department.")
@click.option("--attr", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A catalogue user attribute (VALUE null unsets it); may be repeated.")
@emits()
def user_set(slate: SlateContext, name: str, department: str | None, no_department: bool,
             assignments: tuple[str, ...]) -> Any:
    """Set a user's department and catalogue attributes."""
    if department is not None and no_department:
        raise InvalidInput("give --department or --no-department, not both")
    chosen = None if no_department else department if department is not None else users.UNCHANGED
    return users.set_profile(name, department=chosen, attributes=parse_assignments(assignments))


@user_group.command("list")
@emits(lambda rows: table(rows, ["name", "roles", "productions", "department"]))
def user_list(slate: SlateContext) -> Any:
    return users.list_users()


@click.group("token")
def token_group() -> None:
    """API tokens: shown once at creation, stored only as hashes."""


@token_group.command("create")
@click.argument("user")
@click.option("--label", default="")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), help="Default: no expiry.")
@emits(lambda r: f"{r['token']}\n(token #{r['id']} for {r['user']}; it is shown only now: store it safely)")
def token_create(slate: SlateContext, user: str, label: str, expires_in_days: int | None) -> Any:
    return users.issue_token(user, label=label,
                             expires_in=timedelta(days=expires_in_days) if expires_in_days else None)


@token_group.command("list")
@click.option("--user")
@emits(lambda rows: table(rows, ["id", "user", "prefix", "label", "expires_at", "revoked_at"]))
def token_list(slate: SlateContext, user: str | None) -> Any:
    return users.list_tokens(user)


@token_group.command("revoke")
@click.argument("token_id")
@emits()
def token_revoke(slate: SlateContext, token_id: str) -> Any:
    return users.revoke_token(token_id)


commands = [user_group, token_group]

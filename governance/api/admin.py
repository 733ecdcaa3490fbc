"""``/api/v1`` users and tokens (admin), and ``/me`` for any signed-in caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import users
from ..auth.users import ROLES
from .access import admits
from .schemas import Attributes, Timestamp

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="Users, roles and API tokens")

ALL_ROLES = ROLES


class UserIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    productions = fields.List(fields.String(), load_default=list)


class UserOut(Schema):
    id = fields.Integer()
    name = fields.String()
    roles = fields.List(fields.String())
    productions = fields.List(fields.String())
    created_at = Timestamp()
    disabled = fields.Boolean()
    department = fields.String(allow_none=True)
    attributes = fields.Dict()


class UserProfileIn(Schema):
    department = fields.String(allow_none=True, validate=validate.Length(min=1, max=120),
                               metadata={"description": "who the policy sees asking (requester.department); "
                                                        "null clears it; left out: unchanged"})
    attributes = Attributes(load_default=dict)


class TokenIn(Schema):
    user = fields.String(required=True)
    label = fields.String(load_default="", validate=validate.Length(max=200))
    expires_in_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))


class TokenOut(Schema):
    id = fields.Integer()
    user = fields.String()
    prefix = fields.String()
    label = fields.String()
    created_at = Timestamp()
    expires_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    last_used_at = Timestamp(allow_none=True)


class NewTokenOut(Schema):
    id = fields.Integer()
    user = fields.String()
    token = fields.String(metadata={"description": "shown only in this response"})
    label = fields.String()
    expires_at = Timestamp(allow_none=True)


class MeOut(Schema):
    name = fields.String()
    roles = fields.List(fields.String())
    productions = fields.List(fields.String())


@blp.route("/me", methods=["GET"])
@admits(*ALL_ROLES)
@blp.response(200, MeOut)
def me() -> Any:
    p = g.principal
    return {"name": p.name, "roles": sorted(p.roles), "productions": sorted(p.productions)}


@blp.route("/users", methods=["GET"])
@admits("admin")
@blp.response(200, UserOut(many=True))
def list_users() -> Any:
    return users.list_users()


@blp.route("/users", methods=["POST"])
@admits("admin")
@blp.arguments(UserIn)
@blp.response(201, UserOut)
def add_user(body: dict[str, Any]) -> Any:
    return users.add_user(body["name"], body["roles"], body["productions"])


@blp.route("/users/<string:name>/profile", methods=["POST"])
@admits("admin")
@blp.arguments(UserProfileIn)
@blp.response(200, UserOut)
def set_user_profile(body: dict[str, Any], name: str) -> Any:
    """Set a user's department and catalogue user attributes (checked like a record's)."""
    return users.set_profile(name, department=body.get("department", users.UNCHANGED),
                             attributes=body["attributes"])


@blp.route("/tokens", methods=["GET"])
@admits("admin")
@blp.response(200, TokenOut(many=True))
def list_tokens() -> Any:
    return users.list_tokens()


@blp.route("/tokens", methods=["POST"])
@admits("admin")
@blp.arguments(TokenIn)
@blp.response(201, NewTokenOut)
def create_token(body: dict[str, Any]) -> Any:
    days = body["expires_in_days"]
    return users.issue_token(body["user"], label=body["label"], expires_in=timedelta(days=days) if days else None)


@blp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admits("admin")
@blp.response(200, TokenOut)
def revoke_token(token_id: int) -> Any:
    return users.revoke_token(token_id)


blueprints = [blp]

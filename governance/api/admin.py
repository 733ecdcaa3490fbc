"""``/api/v1`` users and tokens (admin), and ``/me`` for any signed-in caller."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import users
from ..auth.users import ROLES
from ..credentials.identities import IdentityInfo, IdentityStore
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


class UserCreatedOut(UserOut):
    identity_certificate = fields.String(allow_none=True, metadata={
        "description": "serial of the identity certificate issued to an approver or legal user"})


class IdentityOut(Schema):
    user_name = fields.String()
    role = fields.String()
    serial = fields.String()
    fingerprint = fields.String()
    subject = fields.String()
    not_before = Timestamp()
    not_after = Timestamp()
    status = fields.String()
    created_at = Timestamp()
    revoked_at = Timestamp(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    certificate = fields.String(metadata={"description": "the public certificate, PEM"})


class IdentityRevokeIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)


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
@blp.response(201, UserCreatedOut)
def add_user(body: dict[str, Any]) -> Any:
    """Add a user; an approver or legal user is issued their identity certificate at once."""
    user = users.add_user(body["name"], body["roles"], body["productions"])
    info = _identities().enrol_if_eligible(user["name"])
    return {**user, "identity_certificate": info.serial if info else None}


def _identities() -> IdentityStore:
    return IdentityStore(current_app.config["SLATE_SETTINGS"])


def _identity_out(info: IdentityInfo) -> dict[str, Any]:
    return {k: v for k, v in info.to_dict().items() if k != "cert_pem"} | {"certificate": info.cert_pem}


@blp.route("/identities", methods=["GET"])
@admits("admin", "auditor")
@blp.response(200, IdentityOut(many=True))
def list_identities() -> Any:
    """Every identity certificate issued (public certificates only; keys never leave the keys folder)."""
    return [_identity_out(i) for i in _identities().all()]


@blp.route("/identities/<string:name>", methods=["POST"])
@admits("admin")
@blp.response(201, IdentityOut)
def issue_identity(name: str) -> Any:
    """Issue the named approver or legal user an identity certificate (only an admin does)."""
    return _identity_out(_identities().enrol(name))


@blp.route("/identities/<string:name>/revoke", methods=["POST"])
@admits("admin")
@blp.arguments(IdentityRevokeIn)
@blp.response(200, IdentityOut)
def revoke_identity(body: dict[str, Any], name: str) -> Any:
    """Revoke the user's identity certificate: approvals signed with it from ``at`` (default
    now) on verify as revoked, and its private key is destroyed."""
    return _identity_out(_identities().revoke(name, body["reason"], body.get("at")))


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

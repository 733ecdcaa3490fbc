"""``/api/v1/workers``: generator workers' keys. A generator enrols its worker's public key;
an admin (never the key's own user) approves or revokes it; both list what they may see.

Thin: each route calls ``governance.workers.enrolment``, the functions ``slate worker``
calls too.
"""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema, fields, validate

from ..workers import enrolment
from .access import admits
from .blueprint import SlateBlueprint as Blueprint
from .schemas import Timestamp

blp = Blueprint("workers", __name__, url_prefix="/api/v1", description="Generator workers' keys")


class EnrolIn(Schema):
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "the worker's Ed25519 public key, raw 32 bytes in base64"})
    label = fields.String(load_default="", validate=validate.Length(max=200),
                          metadata={"description": "which worker host this is, for people"})


class RevokeIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ListWorkersQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(enrolment.STATUSES))


class WorkerKeyOut(Schema):
    id = fields.Integer()
    key_id = fields.String(metadata={"description": "SHA-256 of the raw public key; receipts name it"})
    user = fields.String()
    public_key = fields.String()
    label = fields.String()
    status = fields.String(metadata={"description": "pending, approved or revoked"})
    enrolled_at = Timestamp()
    approved_by = fields.String(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    revoked_by = fields.String(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    revoked_reason = fields.String(allow_none=True)


@blp.route("/workers", methods=["POST"])
@admits("generator")
@blp.arguments(EnrolIn)
@blp.response(201, WorkerKeyOut)
def enrol(body: dict[str, Any]) -> Any:
    """Enrol this generator's worker key: pending until an admin approves it. The private key
    never leaves the worker; enrolling the same key again returns it as it stands."""
    return enrolment.enrol(g.principal, body["public_key"], body["label"]).to_dict(), 201


@blp.route("/workers", methods=["GET"])
@admits("admin", "generator")
@blp.arguments(ListWorkersQuery, location="query")
@blp.response(200, WorkerKeyOut(many=True))
def list_workers(query: dict[str, Any]) -> Any:
    """Every worker key for an admin; a generator's own keys for a generator."""
    return [k.to_dict() for k in enrolment.list_keys(g.principal, query["status"])]


@blp.route("/workers/<int:key>/approve", methods=["POST"])
@admits("admin")
@blp.response(200, WorkerKeyOut)
def approve(key: int) -> Any:
    """Approve a pending worker key (never one's own): its receipts are accepted from now."""
    return enrolment.approve(key, g.principal).to_dict()


@blp.route("/workers/<int:key>/revoke", methods=["POST"])
@admits("admin")
@blp.arguments(RevokeIn)
@blp.response(200, WorkerKeyOut)
def revoke(body: dict[str, Any], key: int) -> Any:
    """Revoke a worker key for good: no receipt it signs is accepted from now on."""
    return enrolment.revoke(key, g.principal, body["reason"]).to_dict()


blueprints = [blp]

"""``/api/v1`` keys, audit log, ledger and offline proof checks: what admins and auditors
do from the CLI (``slate keys``, ``slate audit``, ``slate ledger``, ``slate trainingset
verify-proof``), over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..audit import log
from ..audit.trust import TrustAnchors
from ..credentials.keys import KeyStore
from ..db import transaction
from ..errors import InvalidInput
from ..ledger.records import recent
from ..registry.merkle import verify_proof
from .access import admits

blp = Blueprint("oversight", __name__, url_prefix="/api/v1", description="Keys, audit log, ledger, proofs")


def _keys() -> KeyStore:
    store = KeyStore(current_app.config["SLATE_SETTINGS"])
    store.ensure()
    return store


def _anchors() -> TrustAnchors:
    """Checkpoint signers are trusted through the keys folder's roots, never the database."""
    return TrustAnchors.from_pem(_keys().trust_anchors_pem(), "the keys folder's trust-anchors.pem")


class RotateIn(Schema):
    days = fields.Integer(load_default=365, validate=validate.Range(min=1, max=3650))


class RevokeIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    at = fields.DateTime(load_default=None, allow_none=True)


class ProofIn(Schema):
    proof = fields.Dict(required=True)
    root = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ConsistencyQuery(Schema):
    from_ = fields.Integer(data_key="from", required=True,
                           validate=validate.Range(min=1, max=2**62),
                           metadata={"description": "The tree size of the checkpoint you kept."})


class LedgerQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


@blp.route("/keys", methods=["GET"])
@admits("admin", "auditor")
@blp.response(200)
def keys_status() -> Any:
    return _keys().status().to_dict()


@blp.route("/keys/rotate", methods=["POST"])
@admits("admin")
@blp.arguments(RotateIn)
@blp.response(201)
def rotate_key(body: dict[str, Any]) -> Any:
    from datetime import timedelta
    return _keys().rotate(timedelta(days=body["days"])).to_dict()


@blp.route("/keys/<string:fingerprint>/revoke", methods=["POST"])
@admits("admin")
@blp.arguments(RevokeIn)
@blp.response(200)
def revoke_key(body: dict[str, Any], fingerprint: str) -> Any:
    at: datetime | None = body["at"]
    return _keys().revoke(fingerprint, body["reason"], at).to_dict()


@blp.route("/keys/trust-anchors", methods=["GET"])
@admits("admin", "auditor", "legal", "producer", "approver", "generator")
def trust_anchors() -> Any:
    """The roots Slate's credentials chain to, for verifying outside Slate."""
    return Response(_keys().trust_anchors_pem(), mimetype="application/x-pem-file")


@blp.route("/audit/verify", methods=["GET"])
@admits("auditor", "admin")
@blp.response(200)
def audit_verify() -> Any:
    return log.verify_database(_anchors()).to_dict()


@blp.route("/audit/consistency", methods=["GET"])
@admits("auditor", "admin")
@blp.arguments(ConsistencyQuery, location="query")
@blp.response(200)
def audit_consistency(query: dict[str, Any]) -> Any:
    """The newest signed checkpoint and a consistency proof from tree size ``from`` to it.

    An RFC 6962 consistency proof: check the checkpoint's signature against the trust
    anchors and the proof against the root you kept (``governance/rfc6962.py`` suffices)."""
    return log.consistency_from_database(query["from_"]).to_dict()


@blp.route("/audit/export", methods=["GET"])
@admits("auditor", "admin")
@blp.response(200)
def audit_export() -> Any:
    return log.export()


@blp.route("/audit/checkpoint", methods=["POST"])
@admits("admin")
@blp.response(200)
def audit_checkpoint() -> Any:
    store = _keys()
    with transaction():
        result = log.checkpoint(store.file_signer(store.active_key()))
    return result or {"checkpoint": None, "reason": "nothing logged since the last checkpoint"}


@blp.route("/ledger", methods=["GET"])
@admits("auditor", "legal", "admin")
@blp.arguments(LedgerQuery, location="query")
@blp.response(200)
def ledger(query: dict[str, Any]) -> Any:
    return [entry.to_dict() for entry in recent(query["limit"])]


@blp.route("/proofs/verify", methods=["POST"])
@admits("auditor", "legal", "producer", "approver", "admin")
@blp.arguments(ProofIn)
@blp.response(200)
def check_proof(body: dict[str, Any]) -> Any:
    """Check an inclusion or non-membership proof against a root, with no database lookup."""
    proof = body["proof"]
    if proof.get("kind") not in ("inclusion", "non-membership"):
        raise InvalidInput("the proof's kind must be 'inclusion' or 'non-membership'")
    return {"valid": verify_proof(proof, body["root"]), "kind": proof["kind"],
            "root": body["root"] or proof.get("root")}


blueprints = [blp]

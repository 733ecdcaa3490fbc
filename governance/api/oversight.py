"""``/api/v1`` keys, audit log, ledger and offline proof checks: what admins and auditors
do from the CLI (``slate keys``, ``slate audit``, ``slate ledger``, ``slate trainingset
verify-proof``), over HTTP."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Response, current_app

from ..audit import browse, log
from ..audit.trust import TrustAnchors
from ..credentials.keys import KeyStore
from ..credentials.kit import export_kit
from ..db import transaction
from ..errors import InvalidInput
from ..ledger.records import recent
from ..provenance.standing import standing_checks
from ..registry.merkle import verify_proof
from . import schemas as s
from .access import admits
from .blueprint import SlateBlueprint as Blueprint
from .openapi import file_response

#: the folder a zipped verification kit unpacks to
KIT_FOLDER = "slate-verification-kit"

blp = Blueprint("oversight", __name__, url_prefix="/api/v1", description="Keys, audit log, ledger, proofs")


def _keys() -> KeyStore:
    store = KeyStore(current_app.config["SLATE_SETTINGS"])
    store.ensure()
    return store


def _anchors() -> TrustAnchors:
    """Checkpoint signers are trusted through the keys folder's roots, never the database."""
    return TrustAnchors.from_pem(_keys().trust_anchors_pem(), "the keys folder's trust-anchors.pem")


@blp.route("/keys", methods=["GET"])
@admits("admin", "auditor")
@blp.response(200, s.KeysStatusOut)
def keys_status() -> Any:
    return _keys().status().to_dict()


@blp.route("/keys/rotate", methods=["POST"])
@admits("admin")
@blp.arguments(s.RotateIn)
@blp.response(201, s.KeyOut)
def rotate_key(body: dict[str, Any]) -> Any:
    from datetime import timedelta
    return _keys().rotate(timedelta(days=body["days"])).to_dict()


@blp.route("/keys/<string:fingerprint>/revoke", methods=["POST"])
@admits("admin")
@blp.arguments(s.KeyRevokeIn)
@blp.response(200, s.KeyOut)
def revoke_key(body: dict[str, Any], fingerprint: str) -> Any:
    at: datetime | None = body["at"]
    return _keys().revoke(fingerprint, body["reason"], at).to_dict()


@blp.route("/keys/trust-anchors", methods=["GET"])
@admits("admin", "auditor", "legal", "producer", "approver", "generator")
@blp.doc(responses=file_response("application/x-pem-file", "the trust anchors, PEM certificates"))
def trust_anchors() -> Any:
    """The roots Slate's credentials chain to, for verifying outside Slate."""
    return Response(_keys().trust_anchors_pem(), mimetype="application/x-pem-file")


@blp.route("/verification-kit", methods=["POST"])
@admits("admin", "auditor")
@blp.doc(responses=file_response("application/zip", "a verification kit (slate export verification-kit), "
                                                    "zipped: unzip it and run slate verify --kit FOLDER"))
def verification_kit() -> Any:
    """Export a verification kit, signed by the active signing key and audit-logged: what an
    auditor outside the studio verifies outputs with, offline, without the studio's database."""
    with tempfile.TemporaryDirectory(prefix="slate-kit-") as scratch:
        folder = Path(scratch) / KIT_FOLDER
        kit = export_kit(current_app.config["SLATE_SETTINGS"], folder, standing_checks())
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{KIT_FOLDER}/{path.name}")
    stamp = f"{kit.exported_at:%Y%m%dT%H%M%SZ}"
    return Response(data.getvalue(), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{KIT_FOLDER}-{stamp}.zip"'})


@blp.route("/audit/verify", methods=["GET"])
@admits("auditor", "admin")
@blp.response(200, s.AuditVerdictOut)
def audit_verify() -> Any:
    return log.verify_database(_anchors()).to_dict()


@blp.route("/audit/consistency", methods=["GET"])
@admits("auditor", "admin")
@blp.arguments(s.ConsistencyQuery, location="query")
@blp.response(200, s.ConsistencyOut)
@blp.doc(**{"x-errors": ["409"]})
def audit_consistency(query: dict[str, Any]) -> Any:
    """The newest signed checkpoint and a consistency proof from tree size ``from`` to it.

    An RFC 6962 consistency proof: check the checkpoint's signature against the trust
    anchors and the proof against the root you kept (``governance/rfc6962.py`` suffices)."""
    return log.consistency_from_database(query["from_"]).to_dict()


@blp.route("/audit/export", methods=["GET"])
@admits("auditor", "admin")
@blp.response(200, s.AuditExportOut)
def audit_export() -> Any:
    return log.export()


@blp.route("/audit/entries", methods=["GET"])
@admits("auditor", "admin")
@blp.arguments(s.AuditEntriesQuery, location="query")
@blp.response(200, s.AuditEntriesOut)
def audit_entries(query: dict[str, Any]) -> Any:
    """Entries newest first, 50 a page, filtered by time, actor, action and subject (what the
    auditor's audit-log page shows); page on with ``before=<older>`` or ``after=<newer>``."""
    found = browse.EntryFilter.from_args(query)
    return browse.find_entries(found, before=query.get("before"), after=query.get("after")).to_dict()


@blp.route("/audit/entries/<int:seq>", methods=["GET"])
@admits("auditor", "admin")
@blp.response(200, s.AuditEntryDetailOut)
def audit_entry(seq: int) -> Any:
    """One entry, whether it still matches its hash and follows the one before, and the
    signed checkpoint that covers it."""
    return browse.entry_detail(seq).to_dict()


@blp.route("/audit/checkpoint", methods=["POST"])
@admits("admin")
@blp.response(200, s.CheckpointAnswerOut)
def audit_checkpoint() -> Any:
    store = _keys()
    with transaction():
        result = log.checkpoint(store.file_signer(store.active_key()))
    return result or {"checkpoint": None, "reason": "nothing logged since the last checkpoint"}


@blp.route("/ledger", methods=["GET"])
@admits("auditor", "legal", "admin")
@blp.arguments(s.LedgerQuery, location="query")
@blp.response(200, s.LedgerEntryOut(many=True))
def ledger(query: dict[str, Any]) -> Any:
    return [entry.to_dict() for entry in recent(query["limit"])]


@blp.route("/proofs/verify", methods=["POST"])
@admits("auditor", "legal", "producer", "approver", "admin")
@blp.arguments(s.ProofIn)
@blp.response(200, s.ProofCheckOut)
@blp.doc(**{"x-errors-none": ["404", "409"]})
def check_proof(body: dict[str, Any]) -> Any:
    """Check an inclusion or non-membership proof against a root, with no database lookup."""
    proof = body["proof"]
    if proof.get("kind") not in ("inclusion", "non-membership"):
        raise InvalidInput("the proof's kind must be 'inclusion' or 'non-membership'")
    return {"valid": verify_proof(proof, body["root"]), "kind": proof["kind"],
            "root": body["root"] or proof.get("root")}


blueprints = [blp]

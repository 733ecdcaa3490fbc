"""``/api/v1/training-runs``: training a model as a governed request, and the worker's side of it.

Thin: each route calls ``governance.lifecycle.training_runs``, the functions ``slate model
train`` and the pages call too. A producer asks for runs of their productions (legal for
any); legal approves; a generator worker claims, reports progress, fails or attests a run.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from ..credentials.keys import KeyStore
from ..lifecycle import training_runs as runs
from ..lifecycle.training_params import METHODS
from . import services
from .access import admits, principal
from .blueprint import SlateBlueprint as Blueprint
from .schemas import Timestamp

blp = Blueprint("training", __name__, url_prefix="/api/v1", description="Training runs: governed model making")

READERS = ("producer", "legal", "approver", "auditor", "admin")


class TrainingModelNameIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.String(required=True, validate=validate.Length(min=1, max=60))


class TrainingRunIn(Schema):
    production = fields.String(required=True, validate=validate.Length(min=1, max=120))
    training_set = fields.String(required=True, validate=validate.Length(min=1, max=200))
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    base = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "a registered base model's name; null trains from scratch"})
    territory = fields.String(load_default="WW", validate=validate.Length(min=2, max=2))
    model = fields.Nested(TrainingModelNameIn, required=True, metadata={"description": "the model version to register"})
    hyperparameters = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                                  values=fields.Raw(allow_none=False), load_default=dict,
                                  validate=validate.Length(max=20),
                                  metadata={"description": "steps, rank, learning_rate, batch_size, seed, "
                                                           "resolution, caption_dropout, autoencoder_steps, "
                                                           "autoencoder_learning_rate"})


class TrainingListQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(runs.STATUSES))


class TrainingApproveIn(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=500))


class TrainingProgressIn(Schema):
    step = fields.Integer(required=True, strict=True)
    total_steps = fields.Integer(required=True, strict=True)
    loss = fields.Float(required=True, allow_nan=False)


class TrainingFailIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=runs.MAX_REASON))


class TrainingAttestationIn(Schema):
    attestation = fields.Dict(required=True, metadata={"description": "the slate-training-attestation/1 body"})
    key_id = fields.String(required=True, validate=validate.Length(equal=64))
    signature = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "Ed25519 over the body's canonical JSON, base64"})


class TrainingProgressOut(Schema):
    step = fields.Integer(allow_none=True)
    total_steps = fields.Integer(allow_none=True)
    loss = fields.Float(allow_none=True)
    updated_at = Timestamp(allow_none=True)


class TrainingRunOut(Schema):
    uid = fields.String()
    origin = fields.String(metadata={"description": "request, or bundled (the studio's own build)"})
    production = fields.String()
    territory = fields.String()
    base = fields.Dict(allow_none=True, metadata={"description": "name, weights_hash, status; null: from scratch"})
    training_set = fields.Dict(metadata={"description": "name, merkle_root, size"})
    method = fields.String()
    hyperparameters = fields.Dict()
    model = fields.Dict(metadata={"description": "name, version, ref once registered"})
    requested_by = fields.String()
    status = fields.String(metadata={"description": ", ".join(runs.STATUSES)})
    decision = fields.Dict(metadata={"description": "outcome, policy, violations, approvals, duties, "
                                                    "inputs_digest, facts"})
    approved_by = fields.String(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    worker = fields.String(allow_none=True)
    lease_expires_at = Timestamp(allow_none=True)
    progress = fields.Nested(TrainingProgressOut)
    failure = fields.String(allow_none=True)
    attestation = fields.Dict(allow_none=True, metadata={"description": "sha256, worker_key_id, worker_signature, "
                                                                        "slate_signature, body"})
    created_at = Timestamp()
    updated_at = Timestamp()


class TrainingClaimOut(Schema):
    run = fields.String()
    lease_expires_at = Timestamp()
    spec = fields.Dict(metadata={"description": "production, method, hyperparameters, seed, base, "
                                                "training_set (with members: sha256, licence), model"})


class TrainingRegisteredOut(Schema):
    model = fields.String(metadata={"description": "NAME:VERSION as registered, attested"})
    weights_hash = fields.String()
    slate_signature = fields.String(metadata={"description": "Slate's ES256 countersignature, hex r|s"})
    slate_key = fields.String(metadata={"description": "the fingerprint of the Slate key that countersigned"})
    attestation_sha256 = fields.String()
    model_signature = fields.String(metadata={"description": "Slate's OpenSSF model signature over the attested "
                                                             "files (Sigstore bundle JSON), to keep as model.sig"})


def _keys() -> KeyStore:
    return KeyStore(current_app.config["SLATE_SETTINGS"])


@blp.route("/training-runs", methods=["POST"])
@admits("producer", "legal")
@blp.arguments(TrainingRunIn)
@blp.response(201, TrainingRunOut)
def request_run(body: dict[str, Any]) -> Any:
    """Ask for a training run: decided by the policy's training rules at once (denied with
    evidence, or waiting for legal's approval)."""
    asked = runs.TrainingRequest.from_dict(body)
    return runs.request_run(asked, principal(), dispatcher=services.queue()).to_dict(), 201


@blp.route("/training-runs", methods=["GET"])
@admits(*READERS)
@blp.arguments(TrainingListQuery, location="query")
@blp.response(200, TrainingRunOut(many=True))
def list_runs(query: dict[str, Any]) -> Any:
    """Training runs with their progress; a producer sees their productions' runs only."""
    return [r.to_dict() for r in runs.list_runs(principal(), query["status"])]


@blp.route("/training-runs/<uid>", methods=["GET"])
@admits(*READERS)
@blp.response(200, TrainingRunOut)
def show_run(uid: str) -> Any:
    """One training run: its decision, approval, progress and attestation."""
    return runs.show_run(uid, principal()).to_dict()


@blp.route("/training-runs/<uid>/approve", methods=["POST"])
@admits("legal", "approver")
@blp.arguments(TrainingApproveIn)
@blp.response(200, TrainingRunOut)
def approve(body: dict[str, Any], uid: str) -> Any:
    """Approve a run waiting for approval (never one's own request): it is queued."""
    return runs.approve(uid, principal(), body["comment"], dispatcher=services.queue()).to_dict()


@blp.route("/training-runs/<uid>/claim", methods=["POST"])
@admits("generator")
@blp.response(200, TrainingClaimOut)
def claim(uid: str) -> Any:
    """Claim a queued run under a lease; returns what the worker trains."""
    return runs.claim(uid, principal())


@blp.route("/training-runs/<uid>/progress", methods=["POST"])
@admits("generator")
@blp.arguments(TrainingProgressIn)
@blp.response(200, TrainingRunOut)
def progress(body: dict[str, Any], uid: str) -> Any:
    """Report step and loss of a run this worker holds; extends its lease."""
    return runs.progress(uid, principal(), body["step"], body["total_steps"], body["loss"]).to_dict()


@blp.route("/training-runs/<uid>/fail", methods=["POST"])
@admits("generator")
@blp.arguments(TrainingFailIn)
@blp.response(200, TrainingRunOut)
def fail(body: dict[str, Any], uid: str) -> Any:
    """End a run this worker holds without a model, saying why."""
    return runs.fail(uid, principal(), body["reason"]).to_dict()


@blp.route("/training-runs/<uid>/attestation", methods=["POST"])
@admits("generator")
@blp.arguments(TrainingAttestationIn)
@blp.response(200, TrainingRegisteredOut)
def attestation(body: dict[str, Any], uid: str) -> Any:
    """Post the signed attestation of a finished run: checked against the approved run,
    countersigned by Slate, and the model registered attested. A root that is not the set's
    fails the run and registers nothing (409)."""
    return runs.attest(uid, principal(), body["attestation"], body["key_id"], body["signature"], _keys()).to_dict()


@blp.route("/training-runs/<uid>/model-signature", methods=["GET"])
@admits("generator", "legal", "auditor")
@blp.response(200, TrainingRegisteredOut)
def model_signature(uid: str) -> Any:
    """A registered run's attest answer again, with Slate's kept OpenSSF model signature: for
    the worker that attested it (when the answer to its attestation was lost), legal and auditors."""
    return runs.model_signature(uid, principal()).to_dict()


blueprints = [blp]

"""``/api/v1`` requests, approvals, jobs, signing, outputs and verification: the path of
one image from a producer's request to a verified, signed file."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import current_app, g, request, send_file
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..errors import InvalidInput, NotFound
from ..jobs import flow
from ..ledger.tables import Output
from ..policy.tables import GenerationRequest
from ..registry import scope
from ..registry import vocabulary as vocab
from .access import admits
from .services import issuer, queue
from ..ids import is_id

blp = Blueprint("flow", __name__, url_prefix="/api/v1", description="Requests, approvals, jobs, signing, verification")

OVERSIGHT = ("legal", "approver", "auditor", "admin")


class ParamsIn(Schema):
    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**32 - 1))
    steps = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))
    guidance = fields.Float(load_default=7.5, validate=validate.Range(min=0, max=30))
    width = fields.Integer(load_default=128, validate=validate.Range(min=64, max=2048))
    height = fields.Integer(load_default=128, validate=validate.Range(min=64, max=2048))
    scheduler = fields.String(load_default="default", validate=validate.OneOf(flow.SCHEDULERS))


class RequestIn(Schema):
    production = fields.String(required=True, validate=validate.Length(min=1, max=120))
    use = fields.String(required=True, validate=validate.OneOf(vocab.OUTPUT_USES))
    territory = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$"))
    model = fields.String(required=True, validate=validate.Length(min=1, max=300))
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=4000),
                           metadata={"description": "confidential: stored, never returned; outputs carry its hash"})
    references = fields.List(fields.String(validate=validate.Length(min=8, max=64)), load_default=list,
                             validate=validate.Length(max=50))
    people = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                         validate=validate.Length(max=50))
    params = fields.Nested(ParamsIn, load_default=lambda: ParamsIn().load({}))


class RequestView(Schema):
    request = fields.Dict()
    decision = fields.Dict(allow_none=True)
    approval = fields.Dict(allow_none=True)
    job = fields.Dict(allow_none=True)
    status = fields.String()


class ListQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["undecided", "denied", "awaiting_approval", "rejected", "allowed", "queued", "running", "succeeded",
         "failed", "blocked"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class ApprovalIn(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(["approved", "rejected"]))
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class FailIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LeaseIn(Schema):
    lease_s = fields.Integer(load_default=None, validate=validate.Range(
        min=1, max=int(flow.MAX_LEASE.total_seconds())), metadata={
        "description": f"seconds the claim holds the job (default {int(flow.LEASE.total_seconds())})"})


def _lease(body: dict[str, Any]) -> timedelta:
    return flow.LEASE if body["lease_s"] is None else timedelta(seconds=body["lease_s"])


class SignForm(Schema):
    job_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    model_identity = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    environment = fields.String(load_default="{}", validate=validate.Length(max=20_000),
                                metadata={"description": "JSON: what affects pixels (threads, versions, ...)"})


class OutputOut(Schema):
    sha256 = fields.String()
    media_type = fields.String()
    manifest_label = fields.String()
    cert_fingerprint = fields.String()
    job_id = fields.String()
    request_id = fields.String()
    decision_id = fields.String()
    model_ref = fields.String()
    signed_at = fields.DateTime()
    timestamped = fields.Boolean()
    in_good_standing = fields.Boolean()
    standing_reason = fields.String(allow_none=True)
    download = fields.String()


def _enqueue(job_id: str | None) -> None:
    if job_id:
        queue().enqueue_generation(job_id)


@blp.route("/requests", methods=["POST"])
@admits("producer")
@blp.arguments(RequestIn)
@blp.response(201, RequestView)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
def submit_request(body: dict[str, Any]) -> Any:
    view, job_id = flow.submit_keyed(body, g.principal, request.headers.get("Idempotency-Key"))
    _enqueue(job_id)
    return view, 201


@blp.route("/requests", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.arguments(ListQuery, location="query")
@blp.response(200, RequestView(many=True))
def list_requests(query: dict[str, Any]) -> Any:
    return flow.list_requests(g.principal, status=query["status"], limit=query["limit"], offset=query["offset"])


@blp.route("/requests/<int:request_id>", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.response(200, RequestView)
def show_request(request_id: int) -> Any:
    return flow.request_view(flow.visible_request(request_id, g.principal))


@blp.route("/requests/<int:request_id>/approval", methods=["POST"])
@admits("approver")
@blp.arguments(ApprovalIn)
@blp.response(200, RequestView)
def decide(body: dict[str, Any], request_id: int) -> Any:
    view, job_id = flow.decide_approval(request_id, g.principal, body["verdict"], body["comment"])
    _enqueue(job_id)
    return view


@blp.route("/jobs/<string:job_id>", methods=["GET"])
@admits("producer", "generator", *OVERSIGHT)
@blp.response(200)
def show_job(job_id: str) -> Any:
    return flow.job_dict(flow.visible_job(job_id, g.principal))


@blp.route("/jobs/<string:job_id>/claim", methods=["POST"])
@admits("generator")
@blp.arguments(LeaseIn)
@blp.response(200)
def claim_job(body: dict[str, Any], job_id: str) -> Any:
    """Claim a job for this worker and get its specification, the confidential prompt included.

    One worker holds a job at a time, under a lease; claiming a job this worker holds extends
    its lease. 409 when another worker's lease is live or the job has finished."""
    return flow.claim_job(job_id, g.principal.name, _lease(body))


@blp.route("/jobs/<string:job_id>/spec", methods=["GET"])
@admits("generator")
@blp.response(200)
def job_spec(job_id: str) -> Any:
    """The specification (prompt included) of a job this worker has claimed; 409 for any other."""
    return flow.job_spec(job_id, g.principal.name)


@blp.route("/jobs/<string:job_id>/lease", methods=["POST"])
@admits("generator")
@blp.arguments(LeaseIn)
@blp.response(200)
def extend_lease(body: dict[str, Any], job_id: str) -> Any:
    """Extend this worker's lease on a job it holds (while it generates); never the prompt."""
    return flow.extend_lease(job_id, g.principal.name, _lease(body))


@blp.route("/jobs/<string:job_id>/fail", methods=["POST"])
@admits("generator")
@blp.arguments(FailIn)
@blp.response(200)
def fail_job(body: dict[str, Any], job_id: str) -> Any:
    """Report why this worker could not run a job it holds; 409 for a job it does not hold."""
    return flow.fail_job(job_id, body["reason"], g.principal.name)


def output_view(row: Output) -> dict[str, Any]:
    return {"sha256": row.sha256, "media_type": row.media_type, "manifest_label": row.manifest_label,
            "cert_fingerprint": row.cert_fingerprint, "job_id": row.job_id, "request_id": row.request_id,
            "decision_id": row.decision_id, "model_ref": row.model_ref, "signed_at": row.signed_at,
            "timestamped": row.timestamped, "in_good_standing": row.in_good_standing,
            "standing_reason": row.standing_reason, "download": f"/api/v1/outputs/{row.sha256}/image"}


def _upload(name: str) -> bytes:
    upload = request.files.get(name)
    if upload is None:
        raise InvalidInput(f"send the image as the multipart field '{name}'")
    data = upload.read()
    if not data:
        raise InvalidInput(f"the multipart field '{name}' is empty")
    return data


@blp.route("/sign", methods=["POST"])
@admits("generator")
@blp.arguments(SignForm, location="form")
@blp.response(201, OutputOut)
def sign(form: dict[str, Any]) -> Any:
    """Sign a worker's image for a job it holds. Its retries return the first output; another
    worker's call is 409."""
    from ..jobs.signing import sign_job
    try:
        environment = json.loads(form["environment"])
    except json.JSONDecodeError:
        raise InvalidInput("environment must be a JSON object", fields={"environment": "not JSON"}) from None
    if not isinstance(environment, dict):
        raise InvalidInput("environment must be a JSON object", fields={"environment": "not an object"})
    row, created = sign_job(issuer(), form["job_id"], _upload("image"), form["model_identity"],
                            environment, g.principal.name)
    return output_view(row), 201 if created else 200


def _visible_output(sha256: str) -> Output:
    """A signed output as the caller may see it; another production's answers like a missing one."""
    def lookup() -> Output:
        row = Output.get_or_none(Output.sha256 == sha256.lower()) if len(sha256) == 64 else None
        if row is None:
            raise NotFound(f"no signed output {sha256[:64]} exists")
        return row

    def visible(by: Any, row: Output) -> bool:
        request = GenerationRequest.get_or_none(GenerationRequest.id == int(row.request_id)) \
            if is_id(row.request_id) else None
        return by is None or (request is not None and by.may_see_production(request.production))

    return scope.seen(g.principal, "signed output", sha256[:64], lookup, visible)


@blp.route("/outputs/<string:sha256>", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.response(200, OutputOut)
def show_output(sha256: str) -> Any:
    return output_view(_visible_output(sha256))


@blp.route("/outputs/<string:sha256>/image", methods=["GET"])
@admits("producer", *OVERSIGHT)
def download_output(sha256: str) -> Any:
    row = _visible_output(sha256)
    if not row.file_path:
        raise NotFound("this output's signed file is not stored on this server")
    return send_file(row.file_path, mimetype=row.media_type, as_attachment=True,
                     download_name=f"{row.job_id}.{row.file_path.rsplit('.', 1)[-1]}")


@blp.route("/verify", methods=["POST"])
@admits("auditor", "legal", "producer", "approver", "admin")
@blp.response(200)
def verify() -> Any:
    """Verify any image: integrity, trust, issuance by Slate, good standing; each with reasons."""
    from ..credentials.verification import verify as verify_image
    from ..provenance.standing import as_seen_by, standing_checks
    verdict = verify_image(current_app.config["SLATE_SETTINGS"], _upload("file"), standing_checks=standing_checks())
    return as_seen_by(verdict, g.principal).to_dict()


blueprints = [blp]

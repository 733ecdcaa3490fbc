"""``/api/v1`` requests, approvals, jobs, signing, outputs and verification: the path of
one image from a producer's request to a verified, signed file.

Thin: each route loads its schema, calls ``governance.lifecycle`` (the same functions the
CLI and the pages call) and renders the frozen view it returns through its schema.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from flask import Response, current_app, g, request, send_file

from ..errors import InvalidInput, NotFound
from ..lifecycle import claims, output_review, reproduction, requests, reviewing, sampling, signing
from ..principal import Principal
from . import schemas as s
from .access import admits
from .blueprint import SlateBlueprint as Blueprint
from .openapi import file_response
from .services import issuer, queue

blp = Blueprint("flow", __name__, url_prefix="/api/v1", description="Requests, approvals, jobs, signing, verification")

OVERSIGHT = ("legal", "approver", "auditor", "admin")
#: who may call the sign-off: an approval rule may name any person's role; the lifecycle judges
SIGNERS = ("legal", "producer", "approver", "auditor", "admin")
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string", "maxLength": 200},
                   "description": "a retry with the same key answers with the first call's request"}


@blp.route("/requests", methods=["POST"])
@admits("producer")
@blp.arguments(s.RequestIn)
@blp.response(201, s.RequestViewOut)
@blp.doc(parameters=[IDEMPOTENCY_KEY])
def submit_request(body: dict[str, Any]) -> Any:
    """Submit a request: the policy decides it; if allowed, its job is queued at once."""
    view = requests.submit(requests.Submission.from_dict(body), g.principal, dispatcher=queue(),
                           key=request.headers.get("Idempotency-Key"))
    return view.to_dict(), 201


@blp.route("/requests", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.arguments(s.ListRequestsQuery, location="query")
@blp.response(200, s.RequestViewOut(many=True))
def list_requests(query: dict[str, Any]) -> Any:
    views = requests.list_requests(g.principal, status=query["status"], limit=query["limit"],
                                   offset=query["offset"])
    return [v.to_dict() for v in views]


@blp.route("/requests/<int:request_id>", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.response(200, s.RequestViewOut)
def show_request(request_id: int) -> Any:
    return requests.show_request(request_id, g.principal).to_dict()


@blp.route("/requests/<int:request_id>/approval", methods=["POST"])
@admits(*SIGNERS)
@blp.arguments(s.ApprovalIn)
@blp.response(200, s.RequestViewOut)
def decide(body: dict[str, Any], request_id: int) -> Any:
    """Sign off (approve) or reject a request policy routed to review (never one's own).

    The request proceeds when every approval rule's requirement is met by distinct people.
    A sign-off that fills no outstanding requirement is refused (403, saying what is
    needed); a person answers a request once (409)."""
    return requests.decide(request_id, g.principal, body["verdict"], body["comment"], dispatcher=queue()).to_dict()


@blp.route("/requests/<int:request_id>/redecision", methods=["POST"])
@admits(*SIGNERS)
@blp.response(200, s.RequestViewOut)
def decide_again(request_id: int) -> Any:
    """Decide a request awaiting sign-off again under the policy version published since it was
    decided (a sign-off of the old decision is refused, 409). Only someone who meets one of its
    approval requirements may; 409 when its decision is under the published version already."""
    return requests.decide_again(request_id, g.principal, dispatcher=queue()).to_dict()


@blp.route("/jobs/<string:job_id>", methods=["GET"])
@admits("producer", "generator", *OVERSIGHT)
@blp.response(200, s.JobOut)
def show_job(job_id: str) -> Any:
    return requests.show_job(job_id, g.principal).to_dict()


def _lease(body: dict[str, Any]) -> timedelta:
    return claims.LEASE if body["lease_s"] is None else timedelta(seconds=body["lease_s"])


@blp.route("/jobs/<string:job_id>/claim", methods=["POST"])
@admits("generator")
@blp.arguments(s.LeaseIn)
@blp.response(200, s.JobSpecOut)
def claim_job(body: dict[str, Any], job_id: str) -> Any:
    """Claim a job for this worker and get its specification, the confidential prompt included.

    One worker holds a job at a time, under a lease; claiming a job this worker holds extends
    its lease. 409 when another worker's lease is live or the job has finished."""
    return claims.claim_job(job_id, g.principal.name, _lease(body)).to_dict()


@blp.route("/jobs/<string:job_id>/spec", methods=["GET"])
@admits("generator")
@blp.response(200, s.JobSpecOut)
def job_spec(job_id: str) -> Any:
    """The specification (prompt included) of a job this worker has claimed; 409 for any other."""
    return claims.job_spec(job_id, g.principal.name).to_dict()


@blp.route("/jobs/<string:job_id>/lease", methods=["POST"])
@admits("generator")
@blp.arguments(s.LeaseIn)
@blp.response(200, s.LeaseOut)
def extend_lease(body: dict[str, Any], job_id: str) -> Any:
    """Extend this worker's lease on a job it holds (while it generates); never the prompt."""
    return claims.extend_lease(job_id, g.principal.name, _lease(body)).to_dict()


@blp.route("/jobs/<string:job_id>/fail", methods=["POST"])
@admits("generator")
@blp.arguments(s.FailIn)
@blp.response(200, s.JobOut)
def fail_job(body: dict[str, Any], job_id: str) -> Any:
    """Report why this worker could not run a job it holds; 409 for a job it does not hold."""
    return claims.fail_job(job_id, body["reason"], g.principal.name).to_dict()


def _upload(name: str) -> bytes:
    upload = request.files.get(name)
    if upload is None:
        raise InvalidInput(f"send the image as the multipart field '{name}'")
    data: bytes = upload.read()
    if not data:
        raise InvalidInput(f"the multipart field '{name}' is empty")
    return data


@blp.route("/sign", methods=["POST"])
@admits("generator")
@blp.arguments(s.SignForm, location="multipart")
@blp.response(201, s.OutputOut)
@blp.alt_response(202, schema=s.OutputReviewOut, description="output review did not allow the image at once: "
                                                              "it is held for a reviewer, or refused")
def sign(form: dict[str, Any]) -> Any:
    """Sign a worker's image for a job it holds, with the generation receipt its approved
    worker key signed for these bytes. Its retries return the first output (200); another
    worker's call is 409; a missing, unenrolled, pending, revoked, altered or mismatched
    receipt is refused (422 or 403, saying why) and nothing is recorded. Where the policy
    has rules about the output, the image is judged first: allowed, it is signed; otherwise
    the answer is the review (202): held for a person, or refused and never signed."""
    try:
        environment = json.loads(form["environment"])
    except json.JSONDecodeError:
        raise InvalidInput("environment must be a JSON object", fields={"environment": "not JSON"}) from None
    if not isinstance(environment, dict):
        raise InvalidInput("environment must be a JSON object", fields={"environment": "not an object"})
    settings = current_app.config["SLATE_SETTINGS"]
    view, created = signing.sign_job(issuer(), form["job_id"], _upload("image"), form["model_identity"],
                                     environment, g.principal.name, form["receipt"],
                                     sample_rate=settings.reproduction_sample_rate, dispatcher=queue(),
                                     review=output_review.ReviewConfig.from_settings(settings),
                                     gpu_seconds=form.get("gpu_seconds") or 0.0)
    if isinstance(view, output_review.ReviewView):
        # a Response of its own: the operation's main schema (OutputOut) must not re-shape it. The
        # worker learns what became of its image, not what review found (people, other works)
        answer = current_app.json.response(s.OutputReviewOut(only=("id", "job_id", "status", "outcome"))
                                           .dump(view.to_dict()))
        answer.status_code = 202
        return answer
    return view.to_dict(), 201 if created else 200


@blp.route("/outputs/<string:sha256>", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.response(200, s.OutputOut)
def show_output(sha256: str) -> Any:
    return requests.show_output(sha256, g.principal).to_dict()


@blp.route("/outputs/<string:sha256>/image", methods=["GET"])
@admits("producer", *OVERSIGHT)
@blp.doc(responses=file_response("image/png", "the signed file, as an attachment"))
def download_output(sha256: str) -> Any:
    row = requests.visible_output(sha256, g.principal)
    if not row.file_path:
        raise NotFound("this output's signed file is not stored on this server")
    return send_file(row.file_path, mimetype=row.media_type, as_attachment=True,
                     download_name=f"{row.job_id}.{row.file_path.rsplit('.', 1)[-1]}")


@blp.route("/outputs/<string:sha256>/reproduce", methods=["POST"])
@admits(*reproduction.AUDITORS)
@blp.response(200, s.ReproductionOut)
def reproduce_output(sha256: str) -> Any:
    """Reproduction audit: make the output's recorded job again on the generator in this process
    and compare with the ledger's pixels (reproduced, close or differs). A ``differs`` takes
    the output out of good standing. The prompt never appears in the answer."""
    return reproduction.reproduce_output(sha256, g.principal).to_dict()


@blp.route("/output-reviews", methods=["GET"])
@admits(*output_review.REVIEWERS, "auditor")
@blp.arguments(s.OutputReviewQuery, location="query")
@blp.response(200, s.OutputReviewOut(many=True))
def list_output_reviews(query: dict[str, Any]) -> Any:
    """Output reviews, oldest first: what waits for a reviewer (``status=held``) at the top.
    Refused and rejected images are listed to legal and auditors only."""
    return [r.to_dict() for r in output_review.list_reviews(g.principal, query["status"])]


@blp.route("/output-reviews/<string:review_id>", methods=["GET"])
@admits("producer", *output_review.REVIEWERS, "auditor")
@blp.response(200, s.OutputReviewOut)
def show_output_review(review_id: str) -> Any:
    """One output review with its evidence; a producer sees only their production's, and
    never a refused or rejected one."""
    return output_review.show_review(review_id, g.principal).to_dict()


@blp.route("/output-reviews/<string:review_id>/image", methods=["GET"])
@admits(*output_review.REVIEWERS, "auditor")
@blp.doc(responses=file_response("image/png", "the held (or, to legal, the quarantined) image"))
def output_review_image(review_id: str) -> Any:
    """The pixels under review, for the people who decide on them; never served to producers."""
    return review_image(review_id, g.principal)


def review_image(review_id: str, by: Principal) -> Any:
    """A review's kept image as an uncached response (the API's route and the pages' share it)."""
    path, _view = output_review.held_image(review_id, by)
    return uncached_file(path, "image/png", missing="this review's image is no longer kept")


def attachment(body: bytes | str | Iterator[str], mimetype: str, filename: str) -> Response:
    """``body`` as a download named ``filename``, made header-safe: record names (a
    production's) may hold quotes and any Unicode, which a header cannot carry as they are.
    A body given as an iterator is streamed as it is made (no Content-Length)."""
    stem, dot, suffix = filename.rpartition(".")
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in stem)[:80]
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{safe}{dot}{suffix}"'})


def uncached_file(path: Path, mimetype: str, *, missing: str) -> Any:
    """A kept file no cache may keep (review images, works' thumbnails); ``missing`` is the
    404's words when it is gone."""
    if not path.exists():
        raise NotFound(missing)
    response = send_file(path, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/output-reviews/<string:review_id>/decision", methods=["POST"])
@admits(*output_review.REVIEWERS)
@blp.arguments(s.OutputReviewDecisionIn)
@blp.response(200, s.OutputReviewOut)
def decide_output_review(body: dict[str, Any], review_id: str) -> Any:
    """Approve (sign exactly the held image, naming you in its credential) or reject
    (quarantine it) an image output review held; the requester may not review their own."""
    return decide_review(review_id, g.principal, body["verdict"], body["comment"]).to_dict()


def decide_review(review_id: str, by: Principal, verdict: str, comment: str) -> output_review.ReviewView:
    """A reviewer's verdict with this app's issuer, queue and settings (the API's route and the pages' share it)."""
    settings = current_app.config["SLATE_SETTINGS"]
    return reviewing.decide(review_id, by, verdict, comment, issuer(),
                            retention=output_review.ReviewConfig.from_settings(settings).retention,
                            sample_rate=settings.reproduction_sample_rate, dispatcher=queue())


@blp.route("/reproductions/claim", methods=["POST"])
@admits("generator")
@blp.arguments(s.SampleClaimIn)
@blp.response(200, s.SampleClaimOut)
def claim_reproduction(body: dict[str, Any]) -> Any:
    """Claim the oldest output sampled for a reproduction that this worker did not make, under a
    lease, with its recorded job (prompt included) and pixel environment; ``sample`` is null
    when none waits."""
    spec = sampling.claim_sample(g.principal.name, device=body["device"])
    return {"sample": spec.to_dict() if spec is not None else None}


@blp.route("/reproductions/<string:sample_id>/result", methods=["POST"])
@admits("generator")
@blp.arguments(s.SampleResultForm, location="multipart")
@blp.response(200, s.ReproductionOut)
def reproduction_result(_form: dict[str, Any], sample_id: str) -> Any:
    """The image this worker made for a sample it holds, with its receipt: compared with the
    ledger's pixels (reproduced, close or differs). A ``differs`` flags the output and the
    worker that made it. 409 for a sample this worker does not hold; a receipt that does not
    hold is refused as signing refuses it, and nothing is recorded."""
    return sampling.record_result(sample_id, _upload("image"), _form["receipt"], g.principal.name).to_dict()


@blp.route("/verify", methods=["POST"])
@admits("auditor", "legal", "producer", "approver", "admin")
@blp.arguments(s.FileUpload, location="multipart")
@blp.response(200, s.VerdictOut)
@blp.doc(**{"x-errors-none": ["404", "409"]})
def verify(_upload_form: dict[str, Any]) -> Any:
    """Verify any image: integrity, trust, issuance by Slate, good standing; each with reasons."""
    from ..credentials.verification import verify as verify_image
    from ..provenance.standing import as_seen_by, standing_checks
    verdict = verify_image(current_app.config["SLATE_SETTINGS"], _upload("file"), standing_checks=standing_checks())
    return as_seen_by(verdict, g.principal).to_dict()


blueprints = [blp]

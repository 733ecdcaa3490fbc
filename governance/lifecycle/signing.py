"""Signing a worker's image for its job: the credential's content from the records, then
identity check, credential, ledger, job state, provenance facets and audit entry, all in
one transaction, and idempotent per job.

Every call carries the worker's generation receipt, signed by an approved worker key
enrolled for the calling generator user and stating exactly this job's parameters and
these bytes (``check_receipt``); it is checked before anything else is touched, stored
with the output, and named by its SHA-256 in the credential. Only the worker holding the
job's claim signs it (``claims``), and only pixels laid out as the generator writes them
for that job (``credentials.pixels``); the c2pa signature is made before the write lock is
taken.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from ..audit.log import CheckpointSigner, checkpoint_if_due, record
from ..canonical import json_default
from ..clock import as_utc, utcnow
from ..credentials.pixels import GeneratedPng, check_layout, check_pixel_stream
from ..db import transaction, tuples
from ..errors import Conflict, Forbidden, ModelIdentityError
from ..jobs.statuses import JobStatus, Verdict
from ..jobs.tables import Approval, Job, OutputReview
from ..ledger.tables import Output
from ..policy import usage
from ..policy.tables import DecisionRecord, GenerationRequest
from ..principal import Principal
from ..provenance.index import index_output
from ..provenance.standing import revoked_rights
from ..registry.tables import Asset, AssetManifest, Model
from . import approvals, claims, output_review, sampling
from . import params as generation
from .dispatch import SampleDispatcher, dispatch_sample
from .receipts import check_receipt
from .views import OutputView


def signing_claim(job: Job, model_identity: str, receipt_sha256: str | None = None) -> dict[str, Any]:
    """The credential's content for a job, from the records; refuses a worker whose model differs."""
    request: GenerationRequest = job.request
    model: Model = request.model
    decision: DecisionRecord = job.decision
    if decision.outcome == "deny":
        raise Forbidden(f"job {job.id}: its request was denied")
    approval = job.approval
    if decision.outcome == "needs_approval" and (approval is None or approval.verdict != "approved"):
        raise Forbidden(f"job {job.id}: its request has not been approved")
    if model.status != "approved":
        raise Conflict(f"model {model.name}:{model.version} is {model.status}; outputs are no longer signed")
    if model_identity != model.weights_hash:
        raise ModelIdentityError(
            f"the worker's model identity does not match {model.name}:{model.version} as registered",
            hint="the worker must load exactly the approved weights; check its model directory")
    policy = decision.policy_version
    training = model.training_set
    mining = "notAllowed"
    titles = ({a.sha256: a.title for a in Asset.select(Asset.sha256, Asset.title)
               .where(Asset.sha256.in_(list(request.references)))} if request.references else {})
    # each reference's own manifest, as registration kept it, becomes its ingredient's
    kept = ({sha: bytes(store) for sha, store in tuples(AssetManifest.select(Asset.sha256, AssetManifest.store)
                                                         .join(Asset).where(Asset.sha256.in_(list(request.references))))}
            if request.references else {})
    references = [{"title": titles.get(sha, sha[:12]), "sha256": sha, "ingredient": kept.get(sha)}
                  for sha in request.references]
    return {
        "model_name": model.name, "model_version": model.version, "weights_sha256": model.weights_hash,
        "training_set_root": training.merkle_root if training else "0" * 64,
        "policy_uid": policy.uid, "policy_version": str(policy.version), "policy_sha256": policy.sha256,
        "decision_id": str(decision.id), "request_id": str(request.id), "job_id": job.id,
        "prompt_sha256": request.prompt_sha256, "training_mining": mining,
        "duties": list(dict.fromkeys(d["text"] for d in decision.duties if d.get("text"))),
        "approver": approval.approver if approval else None, "references": references,
        "signoffs": [{"approver": a.approver, "rules": list(a.rules or ()), "at": as_utc(a.at).isoformat()}
                     for a in _approved(job)],
        "receipt_sha256": receipt_sha256,
    }


def _approved(job: Job) -> list[Approval]:
    """Every approving sign-off of the job's decision, in the order given."""
    if job.approval_id is None:
        return []
    return [a for a in approvals.sign_offs(job.request, job.decision) if a.verdict == Verdict.APPROVED]


def complete_job(job: Job, output: dict[str, Any], environment: dict[str, Any] | None, worker: str,
                 checkpoint_signer: CheckpointSigner | None = None, gpu_seconds: float = 0.0) -> None:
    """Record a signed output against its job: job state, provenance facets, audit entry, one
    use event per consent or licence with compensation terms its decision relied on, and the
    GPU-seconds the worker reported against its production's budget, in the caller's
    (signing) transaction; then a signed audit checkpoint if one is due and the caller
    passed the signer."""
    job.status, job.output_sha256, job.updated_at = JobStatus.SUCCEEDED, output["sha256"], utcnow()
    job.environment = json.loads(json.dumps(environment or {}, default=json_default))
    job.worker, job.lease_expires_at = worker, None
    # only what signing changes: the claim taken in this transaction set attempts in SQL
    job.save(only=[Job.status, Job.output_sha256, Job.updated_at, Job.environment, Job.worker,
                   Job.lease_expires_at])
    record("output.signed", f"output:{output['sha256']}",
           {"job": job.id, "request": job.request_id, "decision": job.decision_id,
            "manifest_label": output["manifest_label"], "cert_fingerprint": output["cert_fingerprint"]},
           actor=worker)
    usage.record_use_events(output["sha256"], job.request, job.decision)
    usage.add_gpu_seconds(job.request.production, gpu_seconds)
    if output.get("ledger_id") is not None:
        index_output(int(output["ledger_id"]), output["signed_at"], job.request, job.decision,
                     [a.approver for a in _approved(job)])
    if checkpoint_signer is not None:
        checkpoint_if_due(checkpoint_signer)


def sign_job(issuer: Any, job_id: str, image: bytes, model_identity: str, environment: dict[str, Any],
             worker: str, receipt: str, *, sample_rate: float = 0.0,
             dispatcher: SampleDispatcher | None = None,
             review: output_review.ReviewConfig | None = None,
             gpu_seconds: float = 0.0) -> tuple[OutputView | output_review.ReviewView, bool]:
    """Returns (ledger row, created). A job that already has its output returns that output.

    With ``review`` (where the index and held images are) and a policy with rules about
    ``output``, the image is judged before anything is signed (``output_review``): allowed,
    it is signed with the measurements in its credential; otherwise it is held for a
    reviewer or refused, and the review is returned instead of an output (a retry gets
    the same review).

    With ``sample_rate`` above 0, a new output is drawn with that probability for a
    reproduction on another worker (``sampling``), in the same transaction; the queue hears
    of it once that commits.

    ``gpu_seconds``: what the worker reports the image took, added to its production's use
    (``policy.usage``) when the output is recorded; a retry adds nothing.

    The receipt is checked first (``check_receipt``), a retry's included: a refused receipt
    records nothing and leaves the job as it was, claimable.

    Only the worker holding the job's claim signs it (one that has not claimed it takes the
    claim here if no other worker holds it); any other worker is refused with ``Conflict``
    before anything is signed or recorded, a retry of its own finished job included. An
    image that does not fit the job (``fits_job``) is refused with ``InvalidInput`` before
    any key operation; nothing is recorded and the job stays with its worker.

    The c2pa signature is made before the write lock is taken; the lock covers only the
    re-check of the job and the ledger, job and audit writes, so concurrent signing of
    different jobs is not serialised behind each other's cryptography.
    """
    job = claims.get_job(job_id)
    signed_receipt = check_receipt(job, image, receipt, worker)
    existing = _existing_output(job, worker)
    if existing is not None:
        return OutputView.from_row(existing), False
    kept = _existing_review(job, worker)
    if kept is not None:
        return kept, False
    claims.hold_for_signing(job, worker)  # refused before any key operation
    png = fits_job(job, image)
    claim = signing_claim(job, model_identity, signed_receipt.sha256)
    judgement = output_review.judge(job, image, review) if review is not None else None
    if judgement is not None and judgement.decision.outcome != output_review.ALLOW:
        return output_review.hold(job, image, judgement, worker, model_identity, signed_receipt.text(),
                                  environment, review), True  # type: ignore[arg-type]
    if judgement is not None:
        claim["evaluation"] = judgement.evaluation()
    # the pixel stream (milliseconds of inflating) is checked beside c2pa, before the signature
    prepared = issuer.prepare(image, claim, check=partial(check_pixel_stream, image, png))
    signed_path: str | None = None
    sample_id: str | None = None
    try:
        with transaction():
            # lock the job (SQLite: the write lock; PostgreSQL: the row lock) so two retries of
            # one job can never both record: the second waits, then finds the first's output
            Job.update(updated_at=utcnow()).where(Job.id == job_id).execute()
            job = claims.get_job(job_id)
            existing = _existing_output(job, worker)
            if existing is not None:
                return OutputView.from_row(existing), False
            claims.claim_for_signing(job, worker)  # another worker may have claimed it while we signed
            signing_claim(job, model_identity)  # the job may have changed while we signed
            signed = issuer.record(prepared, store=True, receipt=signed_receipt.text())
            signed_path = signed.path
            complete_job(job, signed.to_dict(), environment, worker,
                         checkpoint_signer=issuer.active_signer(), gpu_seconds=gpu_seconds)
            if judgement is not None:
                output_review.record_allowed(job, judgement, worker, model_identity, signed_receipt.text(),
                                             environment, signed.sha256)
            if sample_rate and sampling.draw(sample_rate):
                sample_id = sampling.sample_output(signed.sha256, job, worker)
            view = OutputView.from_row(Output.get(Output.sha256 == signed.sha256))
    except BaseException:
        # the transaction rolled back: the ledger has no row, so no file may remain either
        if signed_path and not Output.select().where(Output.file_path == signed_path).exists():
            Path(signed_path).unlink(missing_ok=True)
        raise
    dispatch_sample(dispatcher, sample_id)
    _index_outputs(issuer)
    return view, True


def _index_outputs(issuer: Any) -> None:
    """Once the signing transaction committed: the new output into the outputs' similarity index."""
    index = getattr(issuer, "index_outputs", None)
    if callable(index):
        index()


def fits_job(job: Job, image: bytes) -> GeneratedPng:
    """``image`` laid out as the generator writes one for ``job``: its format, the job's
    size, no other chunks; refused with ``InvalidInput`` naming the mismatch. Its pixel
    stream is ``check_pixel_stream``'s, beside the signature."""
    params = generation.recorded(job.params)
    return check_layout(image, job.id, params["width"], params["height"])


def _existing_review(job: Job, worker: str) -> output_review.ReviewView | None:
    """A retry of a job whose image was held or refused gets that review again (its worker only)."""
    if job.status not in (JobStatus.AWAITING_OUTPUT_REVIEW, JobStatus.OUTPUT_REFUSED):
        return None
    row = output_review.existing(job)
    if row is None:
        return None
    if row.worker != worker:
        raise Conflict(f"job {job.id}'s image was made by another worker and is under review")
    return output_review.ReviewView.from_row(row)


def sign_reviewed(issuer: Any, row: OutputReview, image: bytes, by: Principal, comment: str, *,
                  sample_rate: float = 0.0, dispatcher: SampleDispatcher | None = None,
                  reviewers: list[str] | None = None) -> output_review.ReviewView:
    """Sign a held image its reviewer approved: exactly those bytes, with the reviewer named in
    the credential's ``evaluation``; the review is ``approved`` and the held file removed once
    the ledger has the output.

    Nothing stored is taken on trust: the worker's receipt is checked again as signing checks
    it (its key still approved, these bytes, the job as recorded), the bytes again fit the
    job, and the job must still be waiting for this review with every right its decision
    relied on in force (a revocation while it was held blocks it: ``Conflict``).
    """
    job = claims.get_job(row.job_id)
    _still_held(job)
    signed_receipt = check_receipt(job, image, row.receipt, row.worker)
    png = fits_job(job, image)
    claim = signing_claim(job, row.model_identity, signed_receipt.sha256)
    claim["evaluation"] = output_review.evaluation_of(row, reviewer=", ".join(reviewers or [by.name]))
    prepared = issuer.prepare(image, claim, check=partial(check_pixel_stream, image, png))
    signed_path: str | None = None
    sample_id: str | None = None
    try:
        with transaction():
            now = utcnow()
            changed = (OutputReview.update(status=output_review.APPROVED, reviewer=by.name, comment=comment,
                                           reviewed_at=now)
                       .where((OutputReview.id == row.id) & (OutputReview.status == output_review.HELD)).execute())
            if not changed:
                raise Conflict("this output review was decided meanwhile")
            job = claims.get_job(row.job_id)
            _still_held(job)  # a revocation may have blocked it while we signed
            signing_claim(job, row.model_identity)  # the request may have lost its approval meanwhile
            signed = issuer.record(prepared, store=True, receipt=signed_receipt.text())
            signed_path = signed.path
            record("output.review_approved", f"job:{job.id}",
                   {"review": row.id, "image_sha256": row.image_sha256, "output": signed.sha256}, actor=by.name)
            complete_job(job, signed.to_dict(), row.environment, row.worker,
                         checkpoint_signer=issuer.active_signer())
            OutputReview.update(output_sha256=signed.sha256, file_path=None).where(OutputReview.id == row.id).execute()
            if sample_rate and sampling.draw(sample_rate):
                sample_id = sampling.sample_output(signed.sha256, job, row.worker)
    except BaseException:
        if signed_path and not Output.select().where(Output.file_path == signed_path).exists():
            Path(signed_path).unlink(missing_ok=True)
        raise
    kept = output_review.kept_file(row)
    if kept is not None:
        kept.unlink(missing_ok=True)
    dispatch_sample(dispatcher, sample_id)
    _index_outputs(issuer)
    return output_review.ReviewView.from_row(output_review.get_review(row.id))


def _still_held(job: Job) -> None:
    """The job still waits for its output review, and no right its decision used was revoked."""
    if job.status != JobStatus.AWAITING_OUTPUT_REVIEW:
        raise Conflict(f"job {job.id} is {job.status}, no longer waiting for its output review"
                       + (f": {job.failure_reason}" if job.failure_reason else ""))
    revoked = revoked_rights(job.decision.records)
    if revoked:
        raise Conflict(f"job {job.id}'s image cannot be signed: {revoked[0]}",
                       hint="the request must be asked and decided again under the rights in force")


def _existing_output(job: Job, worker: str) -> Output | None:
    if job.status == JobStatus.SUCCEEDED and job.output_sha256:
        if job.worker != worker:
            raise Conflict(f"job {job.id} was completed by another worker",
                           hint="only the worker that claimed and signed it gets its output again")
        return Output.get(Output.sha256 == job.output_sha256)
    if job.status in (JobStatus.FAILED, JobStatus.BLOCKED):
        raise Conflict(f"job {job.id} is {job.status}: {job.failure_reason or 'no reason recorded'}")
    return None

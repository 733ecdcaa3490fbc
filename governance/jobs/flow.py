"""The path of one image after the policy: approval, job, signing, download.

Plain functions over the database; the API and the CLI call them. What leaves here
never contains the prompt, except the job specification handed to the generator worker
that has claimed the job, which needs it to generate.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee

from ..audit.log import CheckpointSigner, checkpoint_if_due, record
from ..auth.users import Principal
from ..canonical import json_default
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, Forbidden, InvalidInput, ModelIdentityError, NotFound
from ..policy.registry_facts import RequestSpec
from ..policy.requests import decision_dict, get_request, latest_decision, request_dict, submit_request
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyVersion
from ..provenance.index import index_output
from ..provenance.standing import revoked_rights
from ..registry import scope
from ..registry.tables import Asset, Model, TrainingSet
from .tables import Approval, Job, RequestParams

#: "default" keeps the model's own scheduler; the others are what the generator offers
SCHEDULERS = ("default", "ddim", "euler", "euler_a", "dpm++", "pndm", "unipc")


@dataclass(frozen=True)
class GenerationParams:
    """What the worker is asked to do besides the prompt; recorded with the job."""

    seed: int = 0
    steps: int = 25
    guidance: float = 7.5
    width: int = 128
    height: int = 128
    scheduler: str = "default"

    def __post_init__(self) -> None:
        problems = {}
        if not 0 <= self.seed < 2**32:
            problems["seed"] = "must be between 0 and 4294967295"
        if not 1 <= self.steps <= 200:
            problems["steps"] = "must be between 1 and 200"
        if not 0.0 <= self.guidance <= 30.0:
            problems["guidance"] = "must be between 0 and 30"
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 64 <= value <= 2048 or value % 8:
                problems[name] = "must be a multiple of 8 between 64 and 2048"
        if self.scheduler not in SCHEDULERS:
            problems["scheduler"] = f"must be one of {', '.join(SCHEDULERS)}"
        if problems:
            raise InvalidInput("the generation parameters are out of range", fields=problems)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NO = object()


def request_status(request: GenerationRequest, decision: Any = _NO, job: Any = _NO, approval: Any = _NO) -> str:
    """One word for where a request stands, as a producer would ask.

    Callers that already read the decision, job and approval pass them, so the status and
    the records shown beside it come from the same reads.
    """
    decision = latest_decision(request) if decision is _NO else decision
    if decision is None:
        return "undecided"
    job = request.jobs.order_by(Job.created_at.desc()).first() if job is _NO else job
    if job is not None:
        return str(job.status)
    if decision.outcome == "deny":
        return "denied"
    approval = request.approval_records.first() if approval is _NO else approval
    if decision.outcome == "needs_approval":
        if approval and approval.verdict == "rejected":
            return "rejected"
        # a right the decision relied on was revoked since: it can no longer be approved
        return "blocked" if revoked_rights(decision.records) else "awaiting_approval"
    return "allowed"


def job_dict(job: Job) -> dict[str, Any]:
    return {"id": job.id, "request": job.request_id, "decision": job.decision_id, "status": job.status,
            "params": job.params, "attempts": job.attempts, "failure_reason": job.failure_reason,
            "output_sha256": job.output_sha256, "worker": job.worker, "environment": job.environment,
            "created_at": job.created_at, "updated_at": job.updated_at, "lease_expires_at": job.lease_expires_at}


def approval_dict(a: Approval | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"approver": a.approver, "verdict": a.verdict, "comment": a.comment, "at": a.at}


def request_view(request: GenerationRequest) -> dict[str, Any]:
    decision = latest_decision(request)
    job = request.jobs.order_by(Job.created_at.desc()).first()
    approval = request.approval_records.first()
    return {"request": request_dict(request), "decision": decision_dict(decision) if decision else None,
            "approval": approval_dict(approval), "job": job_dict(job) if job else None,
            "status": request_status(request, decision, job, approval)}


def _new_job(request: GenerationRequest, decision: DecisionRecord, params: GenerationParams,
             approval: Approval | None = None) -> Job:
    now = utcnow()
    job = Job.create(id="job_" + uuid.uuid4().hex, request=request, decision=decision, approval=approval,
                     status="queued", params=params.to_dict(), created_at=now, updated_at=now)
    record("job.queued", f"job:{job.id}", {"request": request.id, "decision": decision.id,
                                            "approval": approval.id if approval else None})
    return job


def submit(spec: RequestSpec, params: GenerationParams, principal: Principal) -> tuple[dict[str, Any], str | None]:
    """Decide a request and, if allowed, create its job. Returns (view, job id to enqueue).

    Call inside a transaction; enqueue the job only after it commits.
    """
    if not principal.may_see_production(spec.production):
        raise Forbidden(f"you are not a member of production '{spec.production}'",
                        hint="an admin can add you: slate user join NAME PRODUCTION")
    with transaction():
        result = submit_request(spec, by=principal)
        request = GenerationRequest.get_by_id(result["request"]["id"])
        decision = latest_decision(request)
        RequestParams.create(request=request, params=params.to_dict())
        job = _new_job(request, decision, params) if decision.outcome == "allow" else None
    return request_view(request), job.id if job else None


def _pending_params(request: GenerationRequest) -> GenerationParams:
    row = request.params_records.first()
    return GenerationParams(**row.params) if row else GenerationParams()


def visible_request(request_id: int | str, principal: Principal) -> GenerationRequest:
    """A request as the caller may see it: another production's answers like a missing one."""
    return scope.seen(principal, "request", request_id, lambda: get_request(request_id),
                      lambda by, request: by is None or by.may_see_production(request.production))


def visible_job(job_id: str, principal: Principal) -> Job:
    """A job as the caller may see it (its request's production); never names the request."""
    return scope.seen(principal, "job", str(job_id)[:40], lambda: get_job(job_id),
                      lambda by, job: by is None or by.may_see_production(job.request.production))


def list_requests(principal: Principal, *, status: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    query = GenerationRequest.select().order_by(GenerationRequest.id.desc())
    if not principal.may_see_production("\0"):
        query = query.where(GenerationRequest.production.in_(sorted(principal.productions)))
    if status == "awaiting_approval":
        query = (query.join(DecisionRecord).where(DecisionRecord.outcome == "needs_approval")
                 .switch(GenerationRequest)
                 .where(~GenerationRequest.id.in_(Approval.select(Approval.request))))
    rows = [request_view(r) for r in query.offset(offset).limit(limit)]
    return [r for r in rows if status is None or r["status"] == status]


def decide_approval(request_id: int | str, principal: Principal, verdict: str,
                    comment: str = "") -> tuple[dict[str, Any], str | None]:
    """Record the accountable human's answer; an approval creates and returns the job to enqueue."""
    if verdict not in ("approved", "rejected"):
        raise InvalidInput("the verdict must be 'approved' or 'rejected'")
    if verdict == "rejected" and not comment.strip():
        raise InvalidInput("say why the request is rejected (comment)")
    with transaction():
        request = visible_request(request_id, principal)
        decision = latest_decision(request)
        if decision is None or decision.outcome != "needs_approval":
            raise Conflict(f"request #{request.id} does not await approval "
                           f"(its decision is {decision.outcome if decision else 'missing'})")
        if request.approval_records.exists():
            raise Conflict(f"request #{request.id} was already {request.approval_records.first().verdict}")
        if request.requester == principal.name:
            raise Forbidden("you cannot approve your own request", hint="another approver must decide it")
        revoked = revoked_rights(decision.records) if verdict == "approved" else []
        if revoked:
            raise Conflict(f"request #{request.id} can no longer be approved: " + "; ".join(revoked),
                           hint="reject it, or submit a new request that policy can decide afresh")
        approval = Approval.create(request=request, decision=decision, approver=principal.name, verdict=verdict,
                                   comment=comment.strip(), at=utcnow())
        record(f"request.{verdict}", f"request:{request.id}",
               {"decision": decision.id, "comment_present": bool(comment.strip())}, actor=principal.name)
        job = _new_job(request, decision, _pending_params(request), approval) if verdict == "approved" else None
    return request_view(request), job.id if job else None


def get_job(job_id: str) -> Job:
    """A job with its request, model, training set, decision, policy and approval, in one query."""
    job = None
    if isinstance(job_id, str) and len(job_id) <= 40:
        job = (Job.select(Job, GenerationRequest, Model, TrainingSet, DecisionRecord, PolicyVersion, Approval)
               .join(GenerationRequest).join(Model).join(TrainingSet, peewee.JOIN.LEFT_OUTER)
               .switch(Job).join(DecisionRecord).join(PolicyVersion)
               .switch(Job).join(Approval, peewee.JOIN.LEFT_OUTER)
               .where(Job.id == job_id).first())
    if job is None:
        raise NotFound(f"no job '{str(job_id)[:40]}' exists")
    return job


# -- claims: which worker may run a job ------------------------------------------------------
#
# A generator learns a job's prompt only by claiming the job: one conditional UPDATE takes
# it for one worker (by its user name) under a lease, so two workers racing for it cannot
# both win, on SQLite and PostgreSQL alike. While the lease is live only that worker may
# read the specification, extend the lease, sign or report a failure; once it lapses (the
# worker died) any worker may claim the job again.

#: How long a claim holds a job. A generation takes seconds on a GPU and up to a minute or
#: so on CPU; three minutes leaves room for the slowest, and the worker extends its lease
#: while it works, so only a dead worker's job waits this long. Shorter than ``slate
#: serve``'s ``--requeue-after`` (300 s), so a job re-enqueued because its worker died is
#: claimable when its message arrives.
LEASE = timedelta(minutes=3)
#: The longest lease a worker may ask for: longer would let a dead worker hold a job too long.
MAX_LEASE = timedelta(minutes=15)
FINISHED = ("succeeded", "failed", "blocked")


def _lapsed(now: datetime) -> peewee.Expression:
    # NULL: running since before leases existed (migration step 11), so nobody holds it
    return Job.lease_expires_at.is_null() | (Job.lease_expires_at < now)


def _claimable_by(worker: str, now: datetime) -> peewee.Expression:
    """Anyone may take a queued job or one whose lease has lapsed; its holder may take it again."""
    return (Job.status == "queued") | ((Job.status == "running") & (_lapsed(now) | (Job.worker == worker)))


def _holds(job: Job, worker: str) -> bool:
    """This worker claimed the job and no other worker has claimed it since."""
    return job.status == "running" and job.worker == worker


def _live(job: Job, now: datetime) -> bool:
    return job.lease_expires_at is not None and job.lease_expires_at >= now


def _refuse_finished(job: Job) -> None:
    if job.status in FINISHED:
        raise Conflict(f"job {job.id} is already {job.status}", hint="there is nothing left to do for it")


def _not_yours(job: Job, now: datetime) -> Conflict:
    """The refusal for a worker that does not hold the job's claim; never names the holder."""
    if job.status == "running" and _live(job, now):
        return Conflict(f"job {job.id} is claimed by another worker (its lease runs until "
                        f"{job.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC)",
                        hint="another worker is running it; skip it")
    return Conflict(f"job {job.id} is not claimed by this worker: claim it first",
                    hint=f"POST /api/v1/jobs/{job.id}/claim returns its specification")


def _take(job_id: str, worker: str, lease: timedelta, now: datetime) -> bool:
    """Claim or re-claim a job in one conditional UPDATE; True if this worker now holds it.

    A renewal of a live lease by its holder is not another attempt.
    """
    renewal = (Job.status == "running") & (Job.worker == worker) & ~_lapsed(now)
    attempts = peewee.Case(None, [(renewal, Job.attempts)], Job.attempts + 1)
    taken = (Job.update(status="running", worker=worker, lease_expires_at=now + lease, updated_at=now,
                        attempts=attempts)
             .where(Job.id == job_id, _claimable_by(worker, now)).execute())
    return bool(taken)


def _bounded(lease: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= lease <= MAX_LEASE:
        raise InvalidInput(f"a lease lasts between 1 and {int(MAX_LEASE.total_seconds())} seconds",
                           fields={"lease_s": "out of range"})
    return lease


def _spec(job: Job) -> dict[str, Any]:
    request: GenerationRequest = job.request
    model: Model = request.model
    expires: datetime | None = job.lease_expires_at  # None: claimed before leases existed
    return {"job_id": job.id, "prompt": request.prompt, "params": job.params,
            "model": {"ref": f"{model.name}:{model.version}", "name": model.name, "version": model.version,
                      "weights_hash": model.weights_hash, "path": model.path},
            "worker": job.worker, "attempt": job.attempts,
            "lease_expires_at": expires.isoformat() if expires else None,
            "lease_s": max(0, int((expires - utcnow()).total_seconds())) if expires else 0}


def claim_job(job_id: str, worker: str, lease: timedelta = LEASE) -> dict[str, Any]:
    """Claim a job for ``worker`` and return what it needs to run it, the prompt included.

    Claiming a job this worker holds extends its lease (not another attempt). Raises
    ``NotFound`` for no such job; ``Conflict`` when the job has finished, when another
    worker's lease on it is live, or when its model may no longer be used (the job is then
    failed, under this worker's claim); ``InvalidInput`` for a lease out of range.
    """
    lease = _bounded(lease)
    refusal: Conflict | None = None
    with transaction():
        job = get_job(job_id)
        _refuse_finished(job)
        now = utcnow()
        renewal = _holds(job, worker) and _live(job, now)
        if not _take(job.id, worker, lease, now):
            job = get_job(job_id)
            _refuse_finished(job)
            raise _not_yours(job, now)
        job = get_job(job_id)
        if not renewal:
            record("job.claimed", f"job:{job.id}", {"attempt": job.attempts,
                                                     "lease_expires_at": job.lease_expires_at.isoformat()},
                   actor=worker)
        model: Model = job.request.model
        if model.status != "approved":
            _fail(job, f"model {model.name}:{model.version} is {model.status}", worker)
            refusal = Conflict(f"job {job.id} cannot run: model {model.name}:{model.version} is {model.status}")
    if refusal is not None:  # raised after the commit, so the job stays failed
        raise refusal
    return _spec(job)


def job_spec(job_id: str, worker: str) -> dict[str, Any]:
    """The specification (prompt included) of a job ``worker`` holds; never anyone else's."""
    job = get_job(job_id)
    _refuse_finished(job)
    if not _holds(job, worker):
        raise _not_yours(job, utcnow())
    return _spec(job)


def extend_lease(job_id: str, worker: str, lease: timedelta = LEASE) -> dict[str, Any]:
    """Extend the lease of a job ``worker`` holds, from now; never the prompt, never a new claim."""
    lease = _bounded(lease)
    with transaction():
        job = get_job(job_id)
        _refuse_finished(job)
        now = utcnow()
        extended = (Job.update(lease_expires_at=now + lease, updated_at=now)
                    .where(Job.id == job.id, Job.status == "running", Job.worker == worker).execute())
        if not extended:
            raise _not_yours(get_job(job_id), now)
    expires = now + lease
    return {"job_id": job.id, "lease_expires_at": expires.isoformat(), "lease_s": int(lease.total_seconds())}


def hold_for_signing(job: Job, worker: str) -> None:
    """Refuse to sign for a worker that does not hold, and may not take, the job's claim."""
    now = utcnow()
    claimable = job.status == "queued" or (job.status == "running" and (job.worker == worker or not _live(job, now)))
    if not claimable:
        _refuse_finished(job)
        raise _not_yours(job, now)


def claim_for_signing(job: Job, worker: str) -> None:
    """Take (or keep) the claim of the job being signed, in the signing transaction.

    A worker that signs without having claimed takes the claim here if no other worker
    holds it, so whoever signs a job is its claimant; another worker's live lease refuses.
    """
    now = utcnow()
    renewal = _holds(job, worker) and _live(job, now)
    if not _take(job.id, worker, LEASE, now):
        raise _not_yours(get_job(job.id), now)
    if not renewal:
        record("job.claimed", f"job:{job.id}", {"at_signing": True}, actor=worker)


def _fail(job: Job, reason: str, worker: str) -> None:
    job.status, job.failure_reason, job.worker, job.updated_at = "failed", reason[:2000], worker, utcnow()
    job.lease_expires_at = None
    job.save()
    record("job.failed", f"job:{job.id}", {"reason": reason[:500]}, actor=worker)


def fail_job(job_id: str, reason: str, worker: str) -> dict[str, Any]:
    """Record why the worker holding a job could not run it. A retry of its own report
    returns the job as failed; any other worker is refused and nothing is recorded."""
    if not reason.strip():
        raise InvalidInput("say why the job failed")
    with transaction():
        job = get_job(job_id)
        if job.status == "failed" and job.worker == worker:
            return job_dict(job)
        _refuse_finished(job)
        now = utcnow()
        failed = (Job.update(status="failed", failure_reason=reason.strip()[:2000], lease_expires_at=None,
                             updated_at=now)
                  .where(Job.id == job.id, Job.status == "running", Job.worker == worker).execute())
        if not failed:
            raise _not_yours(job, now)
        record("job.failed", f"job:{job.id}", {"reason": reason.strip()[:500]}, actor=worker)
        job = get_job(job_id)
    return job_dict(job)


def requeue_candidates(older_than: timedelta = timedelta(minutes=2)) -> list[str]:
    """Jobs to enqueue again: queued, or running under a lapsed lease (their worker died),
    with no progress for ``older_than``. A job under a live lease is never one of them,
    however long it has run: its worker is still at it, and extends the lease as it goes."""
    now = utcnow()
    stuck = (Job.status == "queued") | ((Job.status == "running") & _lapsed(now))
    rows = Job.select(Job.id).where(stuck, Job.updated_at < now - older_than)
    return [r.id for r in rows]


def signing_claim(job: Job, model_identity: str) -> dict[str, Any]:
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
    references = [{"title": titles.get(sha, sha[:12]), "sha256": sha} for sha in request.references]
    return {
        "model_name": model.name, "model_version": model.version, "weights_sha256": model.weights_hash,
        "training_set_root": training.merkle_root if training else "0" * 64,
        "policy_uid": policy.uid, "policy_version": str(policy.version), "policy_sha256": policy.sha256,
        "decision_id": str(decision.id), "request_id": str(request.id), "job_id": job.id,
        "prompt_sha256": request.prompt_sha256, "training_mining": mining,
        "duties": list(dict.fromkeys(d["text"] for d in decision.duties if d.get("text"))),
        "approver": approval.approver if approval else None, "references": references,
    }


def complete_job(job: Job, output: dict[str, Any], environment: dict[str, Any] | None, worker: str,
                 checkpoint_signer: CheckpointSigner | None = None) -> None:
    """Record a signed output against its job: job state, provenance facets and audit entry,
    in the caller's (signing) transaction; then a signed audit checkpoint if one is due
    and the caller passed the signer."""
    job.status, job.output_sha256, job.updated_at = "succeeded", output["sha256"], utcnow()
    job.environment = json.loads(json.dumps(environment or {}, default=json_default))
    job.worker, job.lease_expires_at = worker, None
    # only what signing changes: the claim taken in this transaction set attempts in SQL
    job.save(only=[Job.status, Job.output_sha256, Job.updated_at, Job.environment, Job.worker,
                   Job.lease_expires_at])
    record("output.signed", f"output:{output['sha256']}",
           {"job": job.id, "request": job.request_id, "decision": job.decision_id,
            "manifest_label": output["manifest_label"], "cert_fingerprint": output["cert_fingerprint"]},
           actor=worker)
    if output.get("ledger_id") is not None:
        approval = job.approval
        index_output(int(output["ledger_id"]), output["signed_at"], job.request, job.decision,
                     approval.approver if approval and approval.verdict == "approved" else None)
    if checkpoint_signer is not None:
        checkpoint_if_due(checkpoint_signer)



def submit_keyed(body: dict[str, Any], principal: Principal, key: str | None,
                 scope: str = "requests") -> tuple[dict[str, Any], str | None]:
    """Submit a request body (as the API schema loads it) at most once per idempotency key.

    Returns (view, job id to enqueue): the job id only on the first call, so a retry never
    enqueues twice. The API and the web form both come through here.
    """
    from .idempotency import once
    params = GenerationParams(**body["params"])
    spec = RequestSpec(requester=principal.name, production=body["production"], use=body["use"],
                       territory=body["territory"], model=body["model"], prompt=body["prompt"],
                       references=tuple(body["references"]), people=tuple(body["people"]))

    def action() -> tuple[int, dict[str, Any]]:
        view, job_id = submit(spec, params, principal)
        return 201, json.loads(json.dumps({**view, "_job": job_id}, default=json_default))

    _, response, replayed = once(scope, principal.name, key, body, action)
    job_id = None if replayed else response.get("_job")
    return {k: v for k, v in response.items() if k != "_job"}, job_id

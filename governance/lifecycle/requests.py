"""Submit a request, approve or reject it, and read requests, jobs and outputs as the caller
may see them. The CLI, the API and the pages all come through here.

What leaves here never carries the prompt: views show its SHA-256 only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..audit.log import record
from ..clock import utcnow
from ..db import lock_row, transaction
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..ids import is_id
from ..jobs.idempotency import once
from ..jobs.statuses import JobStatus, RequestStatus, Verdict
from ..jobs.tables import Approval, Job, RequestParams
from ..ledger.tables import Output
from ..policy import usage
from ..policy.registry_facts import RequestSpec
from ..policy.requests import decide_again as decide_again_under_policy
from ..policy.requests import decide_request, get_request, latest_decision, newer_policy, settled
from ..policy.tables import AwaitingApproval, DecisionRecord, GenerationRequest
from ..principal import Principal
from ..provenance.standing import revoked_rights
from ..registry import scope
from . import approvals
from . import params as generation
from .claims import get_job
from .dispatch import Dispatcher, dispatch
from .params import GenerationParams
from .signoffs import Signer, Standing, eligible
from .views import AWAITING, JobView, OutputView, RequestView


@dataclass(frozen=True)
class Submission:
    """A request as a requester asks for it: the same fields from the CLI, the API and the form."""

    production: str
    use: str
    territory: str
    model: str
    #: confidential: never in a repr, so never in a traceback's locals or a log line
    prompt: str = field(repr=False)
    references: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    params: GenerationParams = GenerationParams()
    #: decide as of this day (the CLI's --date); None means today
    on: date | None = None
    #: the requester's own denied or rejected request this one edits (``resubmission_of``)
    resubmission_of: int | None = None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Submission:
        """From a body as the API's request schema loads it."""
        return cls(body["production"], body["use"], body["territory"], body["model"], body["prompt"],
                   tuple(body.get("references") or ()), tuple(body.get("people") or ()),
                   GenerationParams.from_dict(body.get("params") or {}),
                   resubmission_of=body.get("resubmission_of"))

    def key_body(self) -> dict[str, Any]:
        """What an idempotency key is bound to (a retry must send the same)."""
        return {"production": self.production, "use": self.use, "territory": self.territory, "model": self.model,
                "prompt": self.prompt, "references": list(self.references), "people": list(self.people),
                "params": self.params.to_dict(), **({"on": self.on.isoformat()} if self.on else {}),
                **({"resubmission_of": self.resubmission_of} if self.resubmission_of else {})}

    def spec(self, requester: str) -> RequestSpec:
        return RequestSpec(requester=requester, production=self.production, use=self.use, territory=self.territory,
                           model=self.model, prompt=self.prompt, references=self.references, people=self.people,
                           date=self.on)


def _new_job(request: GenerationRequest, decision: DecisionRecord, params: GenerationParams,
             approval: Approval | None = None) -> Job:
    """The job for a request; ``params`` judged by today's limits, since it will run now."""
    now = utcnow()
    job = Job.create(id="job_" + uuid.uuid4().hex, request=request, decision=decision, approval=approval,
                     status=JobStatus.QUEUED, params=params.to_dict(), created_at=now, updated_at=now)
    record("job.queued", f"job:{job.id}", {"request": request.id, "decision": decision.id,
                                            "approval": approval.id if approval else None})
    settled(request.id)
    return job


def _decide_and_queue(submission: Submission, principal: Principal) -> tuple[int, str | None]:
    """Decide, record, and create the job if policy allows: (request id, job id). In the caller's transaction."""
    edited = resubmittable(submission.resubmission_of, principal) if submission.resubmission_of else None
    if edited is not None and edited.production != submission.production:
        # the link is shown on both requests' pages: it must not join two productions' records
        raise InvalidInput(f"request #{edited.id} is for {edited.production}: a resubmission stays in that "
                           "production", fields={"production": ["not the edited request's production"]})
    decided = decide_request(submission.spec(principal.name), by=principal)
    request = GenerationRequest.get_by_id(decided.request.id)
    if edited is not None:
        request.resubmission_of = edited.id
        request.save(only=[GenerationRequest.resubmission_of])
        record("request.resubmitted", f"request:{request.id}", {"resubmission_of": edited.id}, actor=principal.name)
    RequestParams.create(request=request, params=submission.params.to_dict())
    job = _new_job(request, DecisionRecord.get_by_id(decided.decision.id), submission.params) \
        if decided.decision.outcome == "allow" else None
    return request.id, job.id if job else None


def submit(submission: Submission, principal: Principal, *, dispatcher: Dispatcher | None,
           key: str | None = None, key_scope: str = "requests") -> RequestView:
    """Decide a request and, if policy allows it, create its job and enqueue it once committed.

    With an idempotency ``key`` the request is made at most once per (scope, requester, key);
    a retry answers with the request the first call made, as it stands now, and enqueues nothing.
    """
    # whether the requester may ask for this production is the policy's rule
    # (requester-in-production in the studio default), recorded with evidence like any other
    def action() -> tuple[int, dict[str, Any]]:
        request_id, job_id = _decide_and_queue(submission, principal)
        return 201, {"request_id": request_id, "job_id": job_id}

    _, answer, replayed = once(key_scope, principal.name, key, submission.key_body(), action)
    request_id = answer.get("request_id") or answer["request"]["id"]  # records from before this shape
    if not replayed:
        dispatch(dispatcher, answer.get("job_id"))
    return RequestView.of(GenerationRequest.get_by_id(request_id))


def decide(request_id: int | str, principal: Principal, verdict: str, comment: str = "", *,
           dispatcher: Dispatcher | None) -> RequestView:
    """Record one person's sign-off or rejection; the sign-off that meets the last approval
    requirement creates the job and enqueues it once committed.

    Refused: the requester (403), a second answer by one person (409), a sign-off that fills
    no outstanding requirement or a rejection by someone who meets none (403, saying what
    is needed), any answer once the request was approved or rejected (409), and a sign-off
    of a decision whose policy version was replaced since (409: decide it again first; a
    rejection stays possible, since it lets nothing through).
    """
    if verdict not in (Verdict.APPROVED, Verdict.REJECTED):
        raise InvalidInput("the verdict must be 'approved' or 'rejected'")
    if verdict == Verdict.REJECTED and not comment.strip():
        raise InvalidInput("say why the request is rejected (comment)")
    with transaction():
        request = visible_request(request_id, principal)
        # sign-offs given at the same moment are judged one after the other: each sees the
        # others' (none is lost, and only the last one creates the job)
        lock_row(GenerationRequest, request.id)
        decision, rows = _open(request)
        if request.requester == principal.name:
            raise Forbidden("you cannot approve your own request", hint="another approver must decide it")
        if any(row.approver == principal.name for row in rows):
            raise Conflict(f"you have already signed off request #{request.id}",
                           hint="a person signs a request once; another person must give the next sign-off")
        before = approvals.standing(request, decision, rows)
        signer = approvals.signer_of(principal)
        if verdict == Verdict.APPROVED:
            _refuse_stale(request, decision)
            job = _sign_off(request, decision, rows, before, signer, comment.strip())
        else:
            job = None
            _reject(request, decision, before, signer, comment.strip())
    dispatch(dispatcher, job.id if job else None)
    return RequestView.of(request)


def _refuse_stale(request: GenerationRequest, decision: DecisionRecord) -> None:
    """A decision made under a policy version replaced since is never signed under it (409)."""
    newer = newer_policy(decision)
    if newer is not None:
        old = decision.policy_version
        raise Conflict(f"request #{request.id} was decided under {old.uid} version {old.version}; version "
                       f"{newer.version} is published since, so it cannot be signed under version {old.version}",
                       hint=f"decide it again under version {newer.version} (the approval page's "
                            f"'Decide again' button), then sign off what that decision asks")


def decide_again(request_id: int | str, principal: Principal, *, dispatcher: Dispatcher | None) -> RequestView:
    """Decide a request awaiting sign-off again under the policy version published since it was
    decided; one path for the API, the CLI and the approval page.

    Only someone who meets one of its approval requirements may (never the requester), and only
    while it awaits sign-offs under a replaced version (409 otherwise). The new decision replaces
    the old one: sign-offs given on the old one count no more; an ``allow`` creates the job (and
    enqueues it once committed), a ``deny`` ends the request, and ``needs_approval`` puts it back
    in the queue under the new version's requirements.
    """
    with transaction():
        request = visible_request(request_id, principal)
        lock_row(GenerationRequest, request.id)
        decision, rows = _open(request)
        if request.requester == principal.name:
            raise Forbidden("you cannot decide your own request again", hint="an approver of it must")
        standing = approvals.standing(request, decision, rows)
        signer = approvals.signer_of(principal)
        if not any(eligible(need.requirement, signer, standing.request) for need in standing.needs):
            raise Forbidden(f"you meet none of the approval requirements of request #{request.id}",
                            hint="it needs sign-off from: " + "; ".join(n.description for n in standing.needs))
        newer = newer_policy(decision)
        if newer is None:
            raise Conflict(f"request #{request.id} was decided under the published version of its policy",
                           hint="nothing to decide again: approve or reject it")
        fresh = decide_again_under_policy(request, principal.name)
        # parameters outside today's limits refuse the whole re-decision (nothing is kept)
        job = _new_job(request, DecisionRecord.get_by_id(fresh.id), _asked_params(request)) \
            if fresh.outcome == "allow" else None
    dispatch(dispatcher, job.id if job else None)
    return RequestView.of(request)


def _open(request: GenerationRequest) -> tuple[DecisionRecord, list[Approval]]:
    """The decision awaiting sign-offs and those given so far; Conflict if none awaits them."""
    decision = latest_decision(request)
    if decision is None or decision.outcome != "needs_approval":
        raise Conflict(f"request #{request.id} does not await approval "
                       f"(its decision is {decision.outcome if decision else 'missing'})")
    rows = approvals.sign_offs(request, decision)
    rejected = next((row for row in rows if row.verdict == Verdict.REJECTED), None)
    if rejected is not None:
        raise Conflict(f"request #{request.id} was already rejected by {rejected.approver}")
    if Job.select().where(Job.request == request).exists():
        raise Conflict(f"request #{request.id} was already approved")
    return decision, rows


def _sign_off(request: GenerationRequest, decision: DecisionRecord, rows: list[Approval], before: Standing,
              signer: Signer, comment: str) -> Job | None:
    """Record an approving sign-off; the job if it meets the last requirement."""
    if not before.can_fill(signer):
        raise Forbidden(f"your sign-off fills no outstanding requirement of request #{request.id}",
                        hint="; ".join(before.outstanding) or "every requirement is already met")
    revoked = revoked_rights(decision.records)
    if revoked:
        raise Conflict(f"request #{request.id} can no longer be approved: " + "; ".join(revoked),
                       hint="reject it, or submit a new request that policy can decide afresh")
    params = _asked_params(request)  # any sign-off toward a job no generator would run is refused
    after = before.with_signer(signer)
    approval = Approval.create(request=request, decision=decision, approver=signer.name, verdict=Verdict.APPROVED,
                               comment=comment, at=utcnow(), rules=list(after.rules_of(signer.name)))
    moved = _reassign(rows, after)
    record("request.approved" if after.met else "request.signed_off", f"request:{request.id}",
           {"decision": decision.id, "comment_present": bool(comment), "rules": approval.rules,
            "outstanding": list(after.outstanding), **({"reassigned": moved} if moved else {})},
           actor=signer.name)
    return _new_job(request, decision, params, approval) if after.met else None


def _reassign(rows: list[Approval], after: Standing) -> dict[str, list[str]]:
    """Earlier sign-offs the new one moved to another requirement: their rows say so now."""
    moved: dict[str, list[str]] = {}
    for row in rows:
        rules = list(after.rules_of(row.approver))
        if row.verdict == Verdict.APPROVED and rules != list(row.rules or []):
            row.rules = rules
            row.save(only=[Approval.rules])
            moved[row.approver] = rules
    return moved


def _reject(request: GenerationRequest, decision: DecisionRecord, before: Standing, signer: Signer,
            comment: str) -> None:
    """A rejection by anyone who meets one of the requirements rejects the request."""
    rules = [rule for need in before.needs if eligible(need.requirement, signer, before.request)
             for rule in need.rules]
    if not rules:
        raise Forbidden(f"you meet none of the approval requirements of request #{request.id}",
                        hint="it needs sign-off from: " + "; ".join(n.description for n in before.needs))
    Approval.create(request=request, decision=decision, approver=signer.name, verdict=Verdict.REJECTED,
                    comment=comment, at=utcnow(), rules=rules)
    settled(request.id)
    record("request.rejected", f"request:{request.id}",
           {"decision": decision.id, "comment_present": True, "rules": rules}, actor=signer.name)
    usage.release(decision.id, f"request #{request.id} was rejected", signer.name)


def _asked_params(request: GenerationRequest) -> GenerationParams:
    """What the requester asked for, judged by today's limits: approving a request asked under
    older limits would queue a job no generator runs, so it is refused here with a way on."""
    row = RequestParams.get_or_none(RequestParams.request == request)
    try:
        return GenerationParams.from_dict(generation.recorded(row.params if row else None))
    except InvalidInput as exc:
        raise Conflict(f"request #{request.id} asked for generation parameters outside today's limits",
                       hint="reject it, and ask the requester to submit it again within the limits",
                       fields=exc.fields) from None


# ---------------------------------------------------------------- reading, as the caller may see

def visible_request(request_id: int | str, principal: Principal | None) -> GenerationRequest:
    """A request as the caller may see it: another production's answers like a missing one, except
    to the requester (a request the policy denied for the production they are not in is theirs)."""
    return scope.seen(principal, "request", request_id, lambda: get_request(request_id),
                      lambda by, request: by is None or by.may_see_production(request.production)
                      or request.requester == by.name)


def visible_job(job_id: str, principal: Principal | None) -> Job:
    """A job as the caller may see it (its request's production); never names the request."""
    return scope.seen(principal, "job", str(job_id)[:40], lambda: get_job(job_id),
                      lambda by, job: by is None or by.may_see_production(job.request.production))


def visible_output(sha256: str, principal: Principal | None) -> Output:
    """A signed output as the caller may see it; another production's answers like a missing one."""
    def lookup() -> Output:
        row = Output.get_or_none(Output.sha256 == sha256.lower()) if len(sha256) == 64 else None
        if row is None:
            raise NotFound(f"no signed output {sha256[:64]} exists")
        return row

    def visible(by: Principal | None, row: Output) -> bool:
        request = GenerationRequest.get_or_none(GenerationRequest.id == int(row.request_id)) \
            if is_id(row.request_id) else None
        return by is None or (request is not None and by.may_see_production(request.production))

    return scope.seen(principal, "signed output", sha256[:64], lookup, visible)


#: what a request must have come to before its requester may edit and submit it again
RESUBMITTABLE = (RequestStatus.DENIED, RequestStatus.REJECTED)


def resubmittable(request_id: int | str, principal: Principal) -> GenerationRequest:
    """The caller's own request that policy denied or an approver rejected, to edit and submit
    again; anyone else's answers as missing (it is not theirs to edit), one still open or
    generated is refused (409): nothing there to correct."""
    request = visible_request(request_id, principal)
    if request.requester != principal.name:
        raise NotFound(f"no request #{str(request_id)[:20]} of yours to edit and resubmit",
                       hint="a requester edits and resubmits their own denied or rejected requests")
    status = RequestView.of(request).status
    if status not in RESUBMITTABLE:
        raise Conflict(f"request #{request.id} is {status.replace('_', ' ')}: only a denied or rejected request "
                       "is edited and resubmitted", hint="submit a new request instead")
    return request


def resubmission_draft(request_id: int | str, principal: Principal) -> dict[str, Any]:
    """The fields of the caller's denied or rejected request, to fill the form they edit.

    Holds the prompt: the requester typed it and reads it back to change it. Only they get it
    (``resubmittable``), only in the page they edit it in; never in a URL, a log line or the API."""
    request = resubmittable(request_id, principal)
    row = RequestParams.get_or_none(RequestParams.request == request)
    params = GenerationParams.from_dict(row.params if row else {})
    return {"production": request.production, "use": request.use, "territory": request.territory,
            "model": f"{request.model.name}:{request.model.version}", "prompt": request.prompt,
            "references": list(request.references or ()), "people": list(request.people or ()),
            **params.to_dict(), "resubmission_of": request.id}


def resubmissions(request_id: int, principal: Principal | None) -> tuple[int | None, tuple[int, ...]]:
    """(the request this one resubmits, the requests resubmitting it), by id, among those the
    caller may see: for the request page's links (the caller has been shown the request itself)."""
    def seen(query: Any) -> Any:
        if principal is not None and not principal.studio_wide:
            query = query.where(GenerationRequest.production.in_(sorted(principal.productions))
                                | (GenerationRequest.requester == principal.name))
        return query
    row = GenerationRequest.get_or_none(GenerationRequest.id == request_id)
    earlier = row.resubmission_of if row else None
    if earlier is not None and not seen(GenerationRequest.select().where(GenerationRequest.id == earlier)).exists():
        earlier = None
    later = tuple(r.id for r in seen(GenerationRequest.select(GenerationRequest.id)
                                     .where(GenerationRequest.resubmission_of == request_id))
                  .order_by(GenerationRequest.id).limit(20))
    return earlier, later


def show_request(request_id: int | str, principal: Principal | None) -> RequestView:
    return RequestView.of(visible_request(request_id, principal))


def show_job(job_id: str, principal: Principal | None) -> JobView:
    return JobView.from_row(visible_job(job_id, principal))


def show_output(sha256: str, principal: Principal | None) -> OutputView:
    return OutputView.from_row(visible_output(sha256, principal))


def list_requests(principal: Principal | None, *, status: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[RequestView]:
    """Requests newest first, those the caller may see, optionally of one status."""
    query = GenerationRequest.select().order_by(GenerationRequest.id.desc())
    if principal is not None and not principal.studio_wide:
        query = query.where(GenerationRequest.production.in_(sorted(principal.productions))
                            | (GenerationRequest.requester == principal.name))
    if status == RequestStatus.AWAITING_APPROVAL:
        query = (query.join(DecisionRecord).where(DecisionRecord.outcome == "needs_approval")
                 .switch(GenerationRequest)
                 .where(~GenerationRequest.id.in_(Approval.select(Approval.request)
                                                  .where(Approval.verdict == Verdict.REJECTED)))
                 .where(~GenerationRequest.id.in_(Job.select(Job.request))))
    views = RequestView.many(list(query.offset(offset).limit(limit)))
    return [v for v in views if status is None or v.status == status]


#: most requests one page of the list reads to fill itself when a status is asked for that
#: the database cannot select by (a job's or sign-off's state): the page says where it stopped
MAX_SCANNED = 400


@dataclass(frozen=True)
class RequestPage:
    """One page of requests, newest first; ``next_before`` continues after it (keyset)."""

    views: tuple[RequestView, ...]
    next_before: int | None


def page_requests(principal: Principal | None, *, status: str | None = None, production: str | None = None,
                  use: str | None = None, before: int | None = None, limit: int = 25) -> RequestPage:
    """Requests the caller may see, newest first, below id ``before``, of one status, production
    and use where given. Production, use and the decision-made statuses narrow the query
    itself (indexed; a request awaiting sign-offs is read from the approval queue's own small
    table, step 29); other statuses are judged over at most ``MAX_SCANNED`` requests, so a
    page never reads the whole table. Views are built a batch at a time (``RequestView.many``)."""
    query = GenerationRequest.select().order_by(GenerationRequest.id.desc())
    if principal is not None and not principal.studio_wide:
        query = query.where(GenerationRequest.production.in_(sorted(principal.productions))
                            | (GenerationRequest.requester == principal.name))
    if production:
        query = query.where(GenerationRequest.production == production)
    if use:
        query = query.where(GenerationRequest.use == use)
    if status in AWAITING:
        query = query.where(GenerationRequest.id.in_(AwaitingApproval.select(AwaitingApproval.request_id)))
    elif status == RequestStatus.DENIED:
        query = query.where(GenerationRequest.id.in_(DecisionRecord.select(DecisionRecord.request)
                                                     .where(DecisionRecord.outcome == "deny")))
    if before is not None:
        query = query.where(GenerationRequest.id < before)
    rows = list(query.limit(MAX_SCANNED if status else limit + 1))
    views: list[RequestView] = []
    scanned, last = 0, None
    for start in range(0, len(rows), limit + 1):
        batch = rows[start:start + limit + 1]
        scanned, last = scanned + len(batch), batch[-1].id
        views.extend(v for v in RequestView.many(batch) if status is None or v.status == status)
        if len(views) > limit:
            break
    if len(views) > limit:
        return RequestPage(tuple(views[:limit]), views[limit - 1].request.id)
    # a status scan that stopped at its bound continues from the last request it read
    return RequestPage(tuple(views), last if status and scanned >= MAX_SCANNED else None)


def may_sign_off(request_id: int | str, principal: Principal) -> bool:
    """Would the caller's sign-off fill an outstanding requirement of this request now?"""
    request = visible_request(request_id, principal)
    if request.requester == principal.name:
        return False
    try:
        decision, rows = _open(request)
        return approvals.standing(request, decision, rows).can_fill(approvals.signer_of(principal))
    except (Conflict, InvalidInput):  # nothing awaits a sign-off, or the decision's approvers are malformed
        return False

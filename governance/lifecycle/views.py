"""Frozen views of a request and what became of it, each owning its serialisation.

``to_dict`` gives plain Python values (datetimes stay datetimes): the API renders them
through its marshmallow schemas (RFC 3339 times), the CLI as JSON or text, the pages as
HTML. None carries a prompt: a request shows its SHA-256 only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import as_utc
from ..errors import InvalidInput
from ..jobs.statuses import JobStatus, RequestStatus, Verdict
from ..jobs.tables import Approval, Job
from ..ledger.tables import Output
from ..policy.requests import DecisionView, RequestRecord
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyVersion
from ..provenance.standing import revoked_rights
from ..registry.tables import Model
from . import approvals
from . import params as generation
from .consented_uses import ConsentedUse, consented_uses
from .signoffs import Signer


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@dataclass(frozen=True)
class ApprovalView:
    """One accountable human's sign-off (or rejection) of a request policy routed to review,
    with the approval rules it satisfied (none recorded on sign-offs from before step 15)."""

    approver: str
    verdict: Verdict
    comment: str
    at: datetime
    rules: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, a: Approval) -> ApprovalView:
        return cls(a.approver, Verdict(a.verdict), a.comment, as_utc(a.at), tuple(a.rules or ()))

    def to_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "verdict": str(self.verdict), "comment": self.comment, "at": self.at,
                "rules": list(self.rules)}


@dataclass(frozen=True)
class JobView:
    """A generation job: its parameters, its worker's claim, and its output once signed."""

    id: str
    request: int
    decision: int
    status: JobStatus
    #: as recorded, not judged again by today's limits
    params: dict[str, Any]
    attempts: int
    failure_reason: str | None
    output_sha256: str | None
    worker: str | None
    environment: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    lease_expires_at: datetime | None

    @classmethod
    def from_row(cls, job: Job) -> JobView:
        return cls(job.id, job.request_id, job.decision_id, JobStatus(job.status),
                   generation.recorded(job.params), job.attempts, job.failure_reason, job.output_sha256,
                   job.worker, job.environment, as_utc(job.created_at), as_utc(job.updated_at),
                   _utc(job.lease_expires_at))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "request": self.request, "decision": self.decision, "status": str(self.status),
                "params": dict(self.params), "attempts": self.attempts, "failure_reason": self.failure_reason,
                "output_sha256": self.output_sha256, "worker": self.worker, "environment": self.environment,
                "created_at": self.created_at, "updated_at": self.updated_at,
                "lease_expires_at": self.lease_expires_at}


def request_status(decision: DecisionRecord | None, job: Job | None, rejection: Approval | None) -> RequestStatus:
    """One word for where a request stands, as a producer would ask, from the same reads the
    view shows beside it."""
    if decision is None:
        return RequestStatus.UNDECIDED
    if job is not None:
        return RequestStatus(str(job.status))
    if decision.outcome == "deny":
        return RequestStatus.DENIED
    if decision.outcome == "needs_approval":
        if rejection is not None:
            return RequestStatus.REJECTED
        # a right the decision relied on was revoked since: it can no longer be approved
        return RequestStatus.BLOCKED if revoked_rights(decision.records) else RequestStatus.AWAITING_APPROVAL
    return RequestStatus.ALLOWED


@dataclass(frozen=True)
class RequestView:
    """A request, its latest decision, its sign-offs and its job, and one word for where it stands.

    ``approval`` is the answer that settled it (the rejection, or the sign-off that met the
    last requirement), as readers from before sign-offs expect; ``signoffs`` is every answer
    given; ``sign_off`` says, while it awaits them, which requirements are met and what is
    still needed.
    """

    request: RequestRecord
    decision: DecisionView | None
    approval: ApprovalView | None
    job: JobView | None
    status: RequestStatus
    signoffs: tuple[ApprovalView, ...] = ()
    sign_off: dict[str, Any] | None = None
    #: while it awaits sign-offs: each performer's consented use in words, for the approver
    consented_uses: tuple[ConsentedUse, ...] = ()

    @classmethod
    def of(cls, request: GenerationRequest) -> RequestView:
        return cls.many([request])[0]

    @classmethod
    def many(cls, requests: Sequence[GenerationRequest]) -> list[RequestView]:
        """The views of several requests, in their order, read in a fixed number of queries
        (models, latest decisions, jobs, sign-offs) rather than several per request, so a
        list page costs the same at a million requests as at ten. Only a request that awaits
        sign-offs reads more (what it still needs, its performers' consents); each signer
        and requester is read once for the whole list."""
        if not requests:
            return []
        ids = [r.id for r in requests]
        models = {m.id: m for m in Model.select().where(Model.id.in_({r.model_id for r in requests}))}
        for r in requests:
            if r.model_id in models:
                r.model = models[r.model_id]  # the relation read once for the list
        latest: dict[int, DecisionRecord] = {}
        for d in (DecisionRecord.select(DecisionRecord, PolicyVersion).join(PolicyVersion)
                  .where(DecisionRecord.request.in_(ids)).order_by(DecisionRecord.id)):
            latest[d.request_id] = d  # ascending ids: the last kept is the latest, as ``latest_decision``
        jobs: dict[int, Job] = {}
        for row in Job.select().where(Job.request.in_(ids)).order_by(Job.created_at):
            jobs[row.request_id] = row  # one job per request (step 16); else the newest
        given: dict[int, list[Approval]] = {}
        for signed in (Approval.select().where(Approval.decision.in_([d.id for d in latest.values()]))
                       .order_by(Approval.id)):
            given.setdefault(signed.decision_id, []).append(signed)
        job_approvals = {a.id: a for a in Approval.select().where(
            Approval.id.in_([j.approval_id for j in jobs.values() if j.approval_id is not None]))}
        named = functools.lru_cache(maxsize=None)(approvals.signer_named)
        department = functools.lru_cache(maxsize=None)(approvals.department_of)
        views = []
        for request in requests:
            decision, job = latest.get(request.id), jobs.get(request.id)
            rows = [row for row in given.get(decision.id, []) if row.request_id == request.id] if decision else []
            rejection = next((row for row in rows if row.verdict == Verdict.REJECTED), None)
            settled = rejection or (job_approvals.get(job.approval_id) if job is not None
                                    and job.approval_id is not None else None)
            status = request_status(decision, job, rejection)
            views.append(cls(
                RequestRecord.from_row(request), DecisionView.from_row(decision) if decision else None,
                ApprovalView.from_row(settled) if settled else None, JobView.from_row(job) if job else None,
                status, tuple(ApprovalView.from_row(row) for row in rows),
                _outstanding(request, decision, rows, named, department) if status in AWAITING else None,
                consented_uses(decision) if status in AWAITING else ()))
        return views

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "decision": self.decision.to_dict() if self.decision else None,
                "approval": self.approval.to_dict() if self.approval else None,
                "signoffs": [s.to_dict() for s in self.signoffs], "sign_off": self.sign_off,
                "job": self.job.to_dict() if self.job else None, "status": str(self.status),
                "consented_uses": [u.to_dict() for u in self.consented_uses]}


#: while a request stands here, its view says what sign-offs it still needs
AWAITING = (RequestStatus.AWAITING_APPROVAL, RequestStatus.BLOCKED)


def _outstanding(request: GenerationRequest, decision: DecisionRecord | None, rows: list[Approval],
                 named: Callable[[str], Signer], department: Callable[[str], str | None],
                 ) -> dict[str, Any] | None:
    if decision is None:
        return None
    try:
        return approvals.standing(request, decision, rows, named, department).to_dict()
    except InvalidInput as exc:  # stored approvers a reader cannot judge: say so, never fail the view
        return {"met": False, "requirements": [], "outstanding": [exc.message]}


@dataclass(frozen=True)
class OutputView:
    """A signed output in the ledger, with its present standing and where to download it."""

    sha256: str
    media_type: str
    manifest_label: str
    cert_fingerprint: str
    job_id: str
    request_id: str
    decision_id: str
    model_ref: str
    signed_at: datetime
    timestamped: bool
    in_good_standing: bool
    standing_reason: str | None
    #: the worker's generation receipt the credential names; None for outputs from before receipts
    receipt_sha256: str | None = None

    @classmethod
    def from_row(cls, row: Output) -> OutputView:
        return cls(row.sha256, row.media_type, row.manifest_label, row.cert_fingerprint, row.job_id, row.request_id,
                   row.decision_id, row.model_ref, as_utc(row.signed_at), row.timestamped, row.in_good_standing,
                   row.standing_reason, row.receipt_sha256)

    @property
    def download(self) -> str:
        return f"/api/v1/outputs/{self.sha256}/image"

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "media_type": self.media_type, "manifest_label": self.manifest_label,
                "cert_fingerprint": self.cert_fingerprint, "job_id": self.job_id, "request_id": self.request_id,
                "decision_id": self.decision_id, "model_ref": self.model_ref, "signed_at": self.signed_at,
                "timestamped": self.timestamped, "in_good_standing": self.in_good_standing,
                "standing_reason": self.standing_reason, "receipt_sha256": self.receipt_sha256,
                "download": self.download}

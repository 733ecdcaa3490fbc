"""Frozen views of a request and what became of it, each owning its serialisation.

``to_dict`` gives plain Python values (datetimes stay datetimes): the API renders them
through its marshmallow schemas (RFC 3339 times), the CLI as JSON or text, the pages as
HTML. None carries a prompt: a request shows its SHA-256 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import as_utc
from ..db import first
from ..jobs.statuses import JobStatus, RequestStatus, Verdict
from ..jobs.tables import Approval, Job
from ..ledger.tables import Output
from ..policy.requests import DecisionView, RequestRecord, latest_decision
from ..policy.tables import DecisionRecord, GenerationRequest
from ..provenance.standing import revoked_rights
from . import params as generation


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@dataclass(frozen=True)
class ApprovalView:
    """The accountable human's answer to a request policy routed to review."""

    approver: str
    verdict: Verdict
    comment: str
    at: datetime

    @classmethod
    def from_row(cls, a: Approval) -> ApprovalView:
        return cls(a.approver, Verdict(a.verdict), a.comment, as_utc(a.at))

    def to_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "verdict": str(self.verdict), "comment": self.comment, "at": self.at}


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


def request_status(decision: DecisionRecord | None, job: Job | None, approval: Approval | None) -> RequestStatus:
    """One word for where a request stands, as a producer would ask, from the same reads the
    view shows beside it."""
    if decision is None:
        return RequestStatus.UNDECIDED
    if job is not None:
        return RequestStatus(str(job.status))
    if decision.outcome == "deny":
        return RequestStatus.DENIED
    if decision.outcome == "needs_approval":
        if approval is not None and approval.verdict == Verdict.REJECTED:
            return RequestStatus.REJECTED
        # a right the decision relied on was revoked since: it can no longer be approved
        return RequestStatus.BLOCKED if revoked_rights(decision.records) else RequestStatus.AWAITING_APPROVAL
    return RequestStatus.ALLOWED


@dataclass(frozen=True)
class RequestView:
    """A request, its latest decision, its approval and its job, and one word for where it stands."""

    request: RequestRecord
    decision: DecisionView | None
    approval: ApprovalView | None
    job: JobView | None
    status: RequestStatus

    @classmethod
    def of(cls, request: GenerationRequest) -> RequestView:
        decision = latest_decision(request)
        job = first(Job.select().where(Job.request == request).order_by(Job.created_at.desc()))
        approval = Approval.get_or_none(Approval.request == request)
        return cls(RequestRecord.from_row(request), DecisionView.from_row(decision) if decision else None,
                   ApprovalView.from_row(approval) if approval else None, JobView.from_row(job) if job else None,
                   request_status(decision, job, approval))

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "decision": self.decision.to_dict() if self.decision else None,
                "approval": self.approval.to_dict() if self.approval else None,
                "job": self.job.to_dict() if self.job else None, "status": str(self.status)}


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

    @classmethod
    def from_row(cls, row: Output) -> OutputView:
        return cls(row.sha256, row.media_type, row.manifest_label, row.cert_fingerprint, row.job_id, row.request_id,
                   row.decision_id, row.model_ref, as_utc(row.signed_at), row.timestamped, row.in_good_standing,
                   row.standing_reason)

    @property
    def download(self) -> str:
        return f"/api/v1/outputs/{self.sha256}/image"

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "media_type": self.media_type, "manifest_label": self.manifest_label,
                "cert_fingerprint": self.cert_fingerprint, "job_id": self.job_id, "request_id": self.request_id,
                "decision_id": self.decision_id, "model_ref": self.model_ref, "signed_at": self.signed_at,
                "timestamped": self.timestamped, "in_good_standing": self.in_good_standing,
                "standing_reason": self.standing_reason, "download": self.download}

"""Where a request and a job stand, and an approver's answer: one word each, from a closed list.

Here, beside the job tables, so that the provenance layer (revocations block pending jobs)
and the lifecycle above it read the same words.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"  # a right it relied on was revoked before it was signed
    #: its image waits for a person to review the pixels (``lifecycle.output_review``)
    AWAITING_OUTPUT_REVIEW = "awaiting_output_review"
    #: its image was refused by policy or rejected by its reviewer: never signed
    OUTPUT_REFUSED = "output_refused"


#: a job in one of these has nothing left to do
FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.BLOCKED, JobStatus.OUTPUT_REFUSED})


class RequestStatus(StrEnum):
    """A request's status as a producer asks it: its decision, approval, then its job's."""

    UNDECIDED = "undecided"
    DENIED = "denied"
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    ALLOWED = "allowed"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    AWAITING_OUTPUT_REVIEW = "awaiting_output_review"
    OUTPUT_REFUSED = "output_refused"


class Verdict(StrEnum):
    """An approver's answer."""

    APPROVED = "approved"
    REJECTED = "rejected"

"""peewee tables of approvals, jobs and idempotency records."""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import JSONField, UTCDateTimeField
from ..policy.tables import DecisionRecord, GenerationRequest


class Approval(BaseModel):
    """One person's sign-off (or rejection) of a request that policy routed to review.

    A request's decision collects one per person (migration step 15; per decision since step
    30, so a request decided again is signed afresh) until every approval rule's requirement
    is met (``governance.lifecycle.signoffs``); ``rules`` are the ids of the
    approval rules the sign-off was counted toward when given (``[]`` on rows from before).
    """

    request = peewee.ForeignKeyField(GenerationRequest, backref="approval_records", on_delete="RESTRICT")
    request_id: int
    decision = peewee.ForeignKeyField(DecisionRecord, backref="approval_records", on_delete="RESTRICT")
    decision_id: int
    approver = peewee.CharField(max_length=200, index=True)
    verdict = peewee.CharField(max_length=20)  # approved | rejected
    comment = peewee.TextField(default="")
    at = UTCDateTimeField()
    # the DDL default is step 15's: an empty list claims no rule
    rules = JSONField(default=list, constraints=[peewee.SQL("DEFAULT '[]'")])

    class Meta:
        indexes = ((("request", "decision", "approver"), True),)


class RequestParams(BaseModel):
    """The generation parameters asked for with a request, kept until a job is created."""

    request = peewee.ForeignKeyField(GenerationRequest, backref="params_records", unique=True,
                                     on_delete="RESTRICT")
    request_id: int
    params = JSONField()


class Job(BaseModel):
    # a job's key is its printable id, where BaseModel's is peewee's integer
    id = peewee.CharField(max_length=40, primary_key=True)  # type: ignore[assignment]
    #: one job per request (migration step 16): a requeue runs the same job again
    request = peewee.ForeignKeyField(GenerationRequest, backref="jobs", unique=True, on_delete="RESTRICT")
    request_id: int
    decision = peewee.ForeignKeyField(DecisionRecord, backref="jobs", on_delete="RESTRICT")
    decision_id: int
    approval = peewee.ForeignKeyField(Approval, null=True, backref="jobs", on_delete="RESTRICT")
    approval_id: int | None
    status = peewee.CharField(max_length=20, index=True)
    params = JSONField()
    attempts = peewee.IntegerField(default=0)
    failure_reason = peewee.TextField(null=True)
    output_sha256 = peewee.CharField(max_length=64, null=True, index=True)
    #: the generator that claimed the job (and, once it succeeds, signed it)
    worker = peewee.CharField(max_length=200, null=True)
    environment = JSONField(null=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField(index=True)
    #: until when ``worker``'s claim excludes every other worker; after it, the job may be
    #: claimed again (migration step 11)
    lease_expires_at = UTCDateTimeField(null=True)


class IdempotencyRecord(BaseModel):
    """The first answer to a keyed call, returned again for every retry with that key."""

    scope = peewee.CharField(max_length=40)
    principal = peewee.CharField(max_length=200)
    key = peewee.CharField(max_length=200)
    body_sha256 = peewee.CharField(max_length=64)
    status = peewee.IntegerField()
    response = JSONField()
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("scope", "principal", "key"), True),)


class OutputReview(BaseModel):
    """The decision on a job's generated image, before it is signed (migration step 21), and
    the person who reviewed the pixels where policy asked for one.

    ``status``: ``allowed`` (signed at once), ``held`` (waiting for a reviewer),
    ``approved`` (signed, naming the reviewer), ``rejected`` or ``refused`` (quarantined:
    never signed or served, kept for legal until ``purge_after``), ``purged`` (its file
    deleted). ``facts`` are the image's facts as judged; never biometric data.
    """

    # a review's key is its printable id, where BaseModel's is peewee's integer
    id = peewee.CharField(max_length=100, primary_key=True)  # type: ignore[assignment]
    job_id = peewee.CharField(max_length=100, unique=True)
    request_id = peewee.IntegerField(index=True)
    #: the generator's PNG the decision and any approval cover
    image_sha256 = peewee.CharField(max_length=64, index=True)
    status = peewee.CharField(max_length=20, index=True)
    #: the policy's outcome: allow, needs_approval or deny
    outcome = peewee.CharField(max_length=20)
    policy_uid = peewee.CharField(max_length=300)
    policy_version = peewee.IntegerField()
    policy_sha256 = peewee.CharField(max_length=64)
    violations = JSONField()
    approvals = JSONField()
    facts = JSONField()
    inputs_digest = peewee.CharField(max_length=100)
    #: what signing a held image later needs: who made it, under which weights and receipt
    worker = peewee.CharField(max_length=200)
    model_identity = peewee.CharField(max_length=64)
    receipt = peewee.TextField()
    environment = JSONField()
    #: the held or quarantined image, in the data folder; NULL once signed or purged
    file_path = peewee.TextField(null=True)
    output_sha256 = peewee.CharField(max_length=64, null=True)
    #: approving sign-offs given so far ({approver, at}), matched to the held rules' approvers
    signoffs = JSONField(default=list)
    reviewer = peewee.CharField(max_length=200, null=True)
    comment = peewee.TextField(null=True)
    reviewed_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(index=True)
    purge_after = UTCDateTimeField(null=True)


TABLES = [Approval, RequestParams, Job, IdempotencyRecord, OutputReview]

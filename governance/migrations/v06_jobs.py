"""Step 6: approvals, generation jobs and idempotency records, as they shipped (23706f1).

Why: a request that policy routes to review waits for one named human's answer (one per
request); an allowed or approved request becomes a job a generator works on; a retried API
call with the same key gets the first answer back instead of acting twice. A job's claim
lease came later (step 11).
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 6
DESCRIPTION = "jobs: approvals, generation jobs, idempotency records"


class GenerationRequest(FrozenModel):
    """The policy's request table (step 2), only as the target of a foreign key."""

    class Meta:
        table_name = "generation_request"


class DecisionRecord(FrozenModel):
    """The policy's decision table (step 2), only as the target of a foreign key."""

    class Meta:
        table_name = "decision"


class Approval(FrozenModel):
    request = peewee.ForeignKeyField(GenerationRequest, on_delete="RESTRICT")
    decision = peewee.ForeignKeyField(DecisionRecord, on_delete="RESTRICT")
    approver = peewee.CharField(max_length=200, index=True)
    verdict = peewee.CharField(max_length=20)
    comment = peewee.TextField(default="")
    at = peewee.DateTimeField()

    class Meta:
        table_name = "approval"
        indexes = ((("request",), True),)


class RequestParams(FrozenModel):
    request = peewee.ForeignKeyField(GenerationRequest, unique=True, on_delete="RESTRICT")
    params = peewee.TextField()

    class Meta:
        table_name = "request_params"


class Job(FrozenModel):
    id = peewee.CharField(max_length=40, primary_key=True)
    request = peewee.ForeignKeyField(GenerationRequest, on_delete="RESTRICT")
    decision = peewee.ForeignKeyField(DecisionRecord, on_delete="RESTRICT")
    approval = peewee.ForeignKeyField(Approval, null=True, on_delete="RESTRICT")
    status = peewee.CharField(max_length=20, index=True)
    params = peewee.TextField()
    attempts = peewee.IntegerField(default=0)
    failure_reason = peewee.TextField(null=True)
    output_sha256 = peewee.CharField(max_length=64, null=True, index=True)
    worker = peewee.CharField(max_length=200, null=True)
    environment = peewee.TextField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField(index=True)

    class Meta:
        table_name = "job"


class IdempotencyRecord(FrozenModel):
    scope = peewee.CharField(max_length=40)
    principal = peewee.CharField(max_length=200)
    key = peewee.CharField(max_length=200)
    body_sha256 = peewee.CharField(max_length=64)
    status = peewee.IntegerField()
    response = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "idempotency_record"
        indexes = ((("scope", "principal", "key"), True),)


def apply() -> None:
    database.create_tables([Approval, RequestParams, Job, IdempotencyRecord])

"""Step 2: policies and what was decided under them, as they shipped (5d36d55).

Why: a decision is only worth something if the policy it ran under, the request it
answered and the facts it was made on are kept for good: policy versions (never deleted,
reviewed by legal before publication), requests (the prompt stays here; only its hash
leaves), and decisions with their evidence, duties and facts for replay. The shared copy of
training facts came later (step 9).
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 2
DESCRIPTION = "policy: policy versions, reviews, requests, decisions"


class Model(FrozenModel):
    """The registry's model table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "model"


class PolicyVersion(FrozenModel):
    uid = peewee.CharField(max_length=200)
    version = peewee.IntegerField()
    title = peewee.CharField(max_length=300)
    sha256 = peewee.CharField(max_length=64, index=True)
    text = peewee.TextField()
    author = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, default="draft", index=True)
    created_at = peewee.DateTimeField()
    published_at = peewee.DateTimeField(null=True)
    published_by = peewee.CharField(max_length=200, null=True)
    superseded_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "policy_version"
        indexes = ((("uid", "version"), True),)


class PolicyReview(FrozenModel):
    policy_version = peewee.ForeignKeyField(PolicyVersion, on_delete="RESTRICT")
    reviewer = peewee.CharField(max_length=200)
    verdict = peewee.CharField(max_length=20)
    comment = peewee.TextField(default="")
    at = peewee.DateTimeField()

    class Meta:
        table_name = "policy_review"


class GenerationRequest(FrozenModel):
    requester = peewee.CharField(max_length=200, index=True)
    production = peewee.CharField(max_length=120, index=True)
    use = peewee.CharField(max_length=40)
    territory = peewee.CharField(max_length=2)
    request_date = peewee.DateField()
    model = peewee.ForeignKeyField(Model, on_delete="RESTRICT")
    references = peewee.TextField()
    people = peewee.TextField()
    prompt = peewee.TextField()
    prompt_sha256 = peewee.CharField(max_length=64, index=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "generation_request"


class DecisionRecord(FrozenModel):
    request = peewee.ForeignKeyField(GenerationRequest, on_delete="RESTRICT")
    policy_version = peewee.ForeignKeyField(PolicyVersion, on_delete="RESTRICT")
    outcome = peewee.CharField(max_length=20, index=True)
    violations = peewee.TextField()
    approvals = peewee.TextField()
    duties = peewee.TextField()
    inputs_digest = peewee.CharField(max_length=64)
    records = peewee.TextField()
    facts = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "decision"


def apply() -> None:
    database.create_tables([PolicyVersion, PolicyReview, GenerationRequest, DecisionRecord])

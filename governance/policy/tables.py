"""peewee tables of this subsystem; ``TABLES`` lists them in creation order for migrations.

Policy versions are kept forever (history); requests keep their prompt, which never leaves
the database (only ``prompt_sha256`` does); decisions keep the facts they were made on,
so a later policy version can be replayed against exactly the same inputs.
"""

from __future__ import annotations

from typing import Any

import peewee

from ..db import BaseModel
from ..fields import JSONField, UTCDateTimeField
from ..registry.tables import Model

#: a reviewer's verdict ends a draft as ``rejected`` (never to be published) or ``changes_requested``
#: (its author writes a new version); both carry the reviewer's comment (step 31)
POLICY_STATUSES = ("draft", "approved", "published", "superseded", "rejected", "changes_requested")


class PolicyVersion(BaseModel):
    uid = peewee.CharField(max_length=200)
    version = peewee.IntegerField()
    title = peewee.CharField(max_length=300)
    #: SHA-256 of the file bytes, which are ``text`` encoded as UTF-8
    sha256 = peewee.CharField(max_length=64, index=True)
    text = peewee.TextField()
    author = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, default="draft", index=True)
    created_at = UTCDateTimeField()
    published_at = UTCDateTimeField(null=True)
    published_by = peewee.CharField(max_length=200, null=True)
    superseded_at = UTCDateTimeField(null=True)
    #: a rollback: the id of the earlier version whose text (byte for byte) this one re-publishes (step 31)
    rollback_of = peewee.IntegerField(null=True)
    reviews: peewee.ModelSelect[PolicyReview]

    class Meta:
        indexes = ((("uid", "version"), True),)


class PolicyReview(BaseModel):
    """A legal user's verdict on a version (approved, rejected, changes requested); never by its author."""

    policy_version = peewee.ForeignKeyField(PolicyVersion, backref="reviews", on_delete="RESTRICT")
    policy_version_id: int
    reviewer = peewee.CharField(max_length=200)
    verdict = peewee.CharField(max_length=20)  # approved | rejected | changes_requested
    comment = peewee.TextField(default="")
    at = UTCDateTimeField()


class ReferencedAsset(BaseModel):
    """An asset some recorded request named as a reference (step 33): output review asks this
    of the works it finds near every image it judges."""

    asset_sha256 = peewee.CharField(max_length=64, primary_key=True)

    @classmethod
    def remember(cls, shas: Any) -> None:
        """Record these SHA-256s as named by a request (once each; 500 rows a statement)."""
        named = sorted(set(shas))
        for start in range(0, len(named), 500):
            cls.insert_many([(sha,) for sha in named[start:start + 500]],
                            fields=[cls.asset_sha256]).on_conflict_ignore().execute()


class GenerationRequest(BaseModel):
    requester = peewee.CharField(max_length=200, index=True)
    production = peewee.CharField(max_length=120, index=True)
    use = peewee.CharField(max_length=40)
    territory = peewee.CharField(max_length=2)
    request_date = peewee.DateField()
    model = peewee.ForeignKeyField(Model, backref="requests", on_delete="RESTRICT")
    model_id: int
    #: asset SHA-256s of the reference images, sorted
    references = JSONField()
    #: names of the people the image depicts, sorted
    people = JSONField()
    #: confidential: stays in the database; only the hash appears in outputs and credentials
    prompt = peewee.TextField()
    prompt_sha256 = peewee.CharField(max_length=64, index=True)
    created_at = UTCDateTimeField()
    #: the denied request this one was edited from (step 30); NULL for a first submission
    resubmission_of = peewee.IntegerField(null=True, index=True)
    decisions: peewee.ModelSelect[DecisionRecord]

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        """Saved as peewee saves it; a new request's references are remembered as referenced
        assets (``ReferencedAsset``) in the same transaction, whoever records it."""
        new = force_insert or self.id is None
        saved = super().save(force_insert=force_insert, only=only)
        if new and self.references:
            ReferencedAsset.remember(self.references)
        return saved


class DecisionRecord(BaseModel):
    request = peewee.ForeignKeyField(GenerationRequest, backref="decisions", on_delete="RESTRICT")
    request_id: int
    policy_version = peewee.ForeignKeyField(PolicyVersion, backref="decisions", on_delete="RESTRICT")
    policy_version_id: int
    outcome = peewee.CharField(max_length=20, index=True)  # allow | deny | needs_approval
    violations = JSONField()
    approvals = JSONField()
    duties = JSONField()
    inputs_digest = peewee.CharField(max_length=64)
    #: ids and versions of the consent, licence and model records relied on
    records = JSONField()
    #: the facts evaluated (holds the prompt's words; never sent out, used for replay)
    facts = JSONField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "decision"


class SharedFacts(BaseModel):
    """Facts many decisions rely on, stored once under the SHA-256 of their canonical JSON.

    A model's training-set entries (one per image, often tens of thousands) are the same
    for every request until a licence changes; copied into each decision they cost
    megabytes per request. A decision's ``facts`` then holds
    ``{"training_assets": {"shared": "<sha256>"}}`` (see ``requests.decision_facts``).
    Created by migration step 9; rows are never updated or deleted.
    """

    sha256 = peewee.CharField(max_length=64, unique=True)
    facts = JSONField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "shared_facts"


class AwaitingApproval(BaseModel):
    """A request whose latest decision awaits sign-offs, and since when (step 29): the approval
    queue, kept small so that reading it oldest first never passes the settled requests.

    Written with a ``needs_approval`` decision (``requests.decide_request``, ``decide_again``),
    removed when the request is approved (its job is created), rejected, or decided again."""

    request_id = peewee.IntegerField(unique=True)
    decision_id = peewee.IntegerField()
    since = UTCDateTimeField(index=True)

    class Meta:
        table_name = "awaiting_approval"


#: created by migration step 2; SharedFacts came later, with step 9
TABLES = [PolicyVersion, PolicyReview, GenerationRequest, DecisionRecord]


class UsageCounter(BaseModel):
    """How many decided requests relied on a consent or a reference licence (step 28).

    Changed only in a decision's transaction (``usage.reserve``) or a failed job's release,
    so a cap (``max_uses``) is judged on a count no concurrent request can overtake."""

    subject_kind = peewee.CharField(max_length=10)  # consent | licence
    subject_id = peewee.IntegerField()
    uses = peewee.IntegerField(default=0)
    updated_at = UTCDateTimeField()

    class Meta:
        table_name = "usage_counter"
        indexes = ((("subject_kind", "subject_id"), True),)


class UsageReservation(BaseModel):
    """Which decision took which use (step 28): what a failed job gives back, and only that."""

    decision_id = peewee.IntegerField(index=True)
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    uses_before = peewee.IntegerField()
    created_at = UTCDateTimeField()
    released_at = UTCDateTimeField(null=True)
    released_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "usage_reservation"
        indexes = ((("decision_id", "subject_kind", "subject_id"), True),)


class UseEvent(BaseModel):
    """One signed output's use of a consent or licence with compensation terms (step 28):
    what payroll and royalties are owed. Unique per (output, subject), so a retried
    signing adds nothing; never updated or deleted."""

    output_sha256 = peewee.CharField(max_length=64, index=True)
    production = peewee.CharField(max_length=120, index=True)
    request_id = peewee.IntegerField()
    decision_id = peewee.IntegerField()
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    subject_version = peewee.IntegerField(null=True)
    subject_ref = peewee.CharField(max_length=200)
    payee = peewee.CharField(max_length=300)
    terms = JSONField()
    amount = peewee.CharField(max_length=40)
    currency = peewee.CharField(max_length=3)
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "use_event"
        indexes = ((("output_sha256", "subject_kind", "subject_id"), True),)


class ProductionBudget(BaseModel):
    """A production's GPU-seconds budget, what its signed outputs used, and the windows in
    which nothing may be generated (step 28; no row: no budget, no blackout)."""

    production = peewee.CharField(max_length=120, unique=True)
    gpu_seconds_budget = peewee.FloatField(null=True)
    gpu_seconds_used = peewee.FloatField(default=0.0)
    blackouts = JSONField(default=list)
    updated_at = UTCDateTimeField()

    class Meta:
        table_name = "production_budget"


class PolicyTestCase(BaseModel):
    """Test cases legal keeps in the database, written on the pages (step 31).

    ``body`` is a tests file (``testing.TESTS_SCHEMA``: ``base`` facts and ``cases``) whose
    ``policy`` is implied by ``uid``; validated on save, run with the ``*.tests.yaml`` files
    by ``testing.run_tests_for_version`` and ``slate policy test``."""

    uid = peewee.CharField(max_length=200, index=True)
    name = peewee.CharField(max_length=200)
    body = peewee.TextField()
    author = peewee.CharField(max_length=200)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    updated_by = peewee.CharField(max_length=200)

    class Meta:
        table_name = "policy_test_case"
        indexes = ((("uid", "name"), True),)

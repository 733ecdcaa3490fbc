"""Step 21: the decision on each generated image before it is signed, and its human review.

Why: a request is judged before the pixels exist, on what the requester declared. Output
review judges the image itself, after generation and before signing: Slate computes facts
about it (the nearest registered work and its distance, faces, distance to the
production's look), evaluates the policy's rules about ``output`` and records the decision
with its evidence (``output_review``), like a request's. Outcomes: signed at once
(``allowed``); ``held`` for a person who looks at the pixels, then ``approved`` (and
signed, naming them) or ``rejected``; or ``refused`` by policy. A held, rejected or
refused image is kept privately in the data folder (``file_path``) for legal, never
served to producers, and deleted once ``purge_after`` passes (``purged``).

The worker's receipt and pixel environment are kept with a held image so that an approval
signs exactly what the worker made, under the worker's own receipt. ``signoffs`` lists the
reviewers who approved so far, where the held rules ask for more than one person.

``person_face`` keeps, for a registered person whose confirmed consent covers biometric
matching, the face descriptor of a reference photo of them (the matcher's version with it),
so that output review can tell a registered person in a generated image nobody declared.
Nothing else of the photo is kept; descriptors never leave the database.

The tables are created only if absent, as steps 17 to 20 do.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 21
DESCRIPTION = ("lifecycle: output reviews (the decision on each generated image before signing, and its reviewer); "
               "registry: people's reference face descriptors (biometric matching consented)")


class OutputReview(FrozenModel):
    id = peewee.CharField(max_length=100, primary_key=True)
    job_id = peewee.CharField(max_length=100, unique=True)
    request_id = peewee.IntegerField(index=True)
    image_sha256 = peewee.CharField(max_length=64, index=True)
    status = peewee.CharField(max_length=20, index=True)
    outcome = peewee.CharField(max_length=20)
    policy_uid = peewee.CharField(max_length=300)
    policy_version = peewee.IntegerField()
    policy_sha256 = peewee.CharField(max_length=64)
    violations = peewee.TextField()
    approvals = peewee.TextField()
    facts = peewee.TextField()
    inputs_digest = peewee.CharField(max_length=100)
    worker = peewee.CharField(max_length=200)
    model_identity = peewee.CharField(max_length=64)
    receipt = peewee.TextField()
    environment = peewee.TextField()
    file_path = peewee.TextField(null=True)
    output_sha256 = peewee.CharField(max_length=64, null=True)
    signoffs = peewee.TextField()
    reviewer = peewee.CharField(max_length=200, null=True)
    comment = peewee.TextField(null=True)
    reviewed_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(index=True)
    purge_after = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "output_review"


class Person(FrozenModel):
    """The people table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "person"


class Asset(FrozenModel):
    """The assets table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "asset"


class PersonFace(FrozenModel):
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    asset = peewee.ForeignKeyField(Asset, on_delete="CASCADE")
    matcher_version = peewee.CharField(max_length=200)
    descriptor = peewee.BlobField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "person_face"
        indexes = ((("person", "asset"), True),)


def apply() -> None:
    database.create_tables([OutputReview, PersonFace])

"""peewee tables of the fact catalogue; ``TABLES`` lists them in creation order (step 14).

Catalogue versions are kept forever, like policy versions: a record's attributes were
checked against the version published when they were written.
"""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import UTCDateTimeField

CATALOGUE_STATUSES = ("draft", "approved", "published", "superseded")


class CatalogueVersion(BaseModel):
    uid = peewee.CharField(max_length=200)
    #: higher than every version recorded before, whatever its uid: a version names one file
    version = peewee.IntegerField(unique=True)
    title = peewee.CharField(max_length=300)
    #: SHA-256 of the file bytes, which are ``text`` encoded as UTF-8
    sha256 = peewee.CharField(max_length=64)
    text = peewee.TextField()
    author = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, index=True)
    created_at = UTCDateTimeField()
    published_at = UTCDateTimeField(null=True)
    published_by = peewee.CharField(max_length=200, null=True)
    superseded_at = UTCDateTimeField(null=True)
    reviews: peewee.ModelSelect[CatalogueReview]

    class Meta:
        table_name = "catalogue_version"


class CatalogueReview(BaseModel):
    """A second person's approval of a version; never by its author."""

    catalogue_version = peewee.ForeignKeyField(CatalogueVersion, backref="reviews", on_delete="RESTRICT")
    catalogue_version_id: int
    reviewer = peewee.CharField(max_length=200)
    verdict = peewee.CharField(max_length=20)  # approved
    comment = peewee.TextField(default="")
    at = UTCDateTimeField()

    class Meta:
        table_name = "catalogue_review"


TABLES = [CatalogueVersion, CatalogueReview]

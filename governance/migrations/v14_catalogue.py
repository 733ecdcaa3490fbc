"""Step 14: typed attributes on rights records and users, a user's department, and the
fact catalogue's versions.

Why: a studio's contracts carry terms Slate's fixed columns do not hold (a licence limited
to named productions, a union rider on a consent, a performer's union membership), and
legal must be able to write rules on them and on who asks (a requester's department).
The terms are declared in a catalogue that legal and an admin keep and review like a
policy (``catalogue_version``, ``catalogue_review``); a record's values are kept as JSON
text in an ``attributes`` column on the licence, consent, person, asset, production and
user tables. Rows stored before this step carry no attributes: ``'{}'`` is a database
default so that adding the NOT NULL column fills them, and an empty object is what a
record without terms has. ``user.department`` is nullable: no department until an admin
sets one.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel, sql

VERSION = 14
DESCRIPTION = ("catalogue: attributes (JSON, '{}') on licence, consent, person, asset, production and user; "
               "user.department; catalogue versions and reviews")

#: the tables whose records carry catalogue attributes
ATTRIBUTE_TABLES = ("licence", "consent", "person", "asset", "production", "user")


class CatalogueVersion(FrozenModel):
    uid = peewee.CharField(max_length=200)
    version = peewee.IntegerField(unique=True)
    title = peewee.CharField(max_length=300)
    sha256 = peewee.CharField(max_length=64)
    text = peewee.TextField()
    author = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, index=True)
    created_at = peewee.DateTimeField()
    published_at = peewee.DateTimeField(null=True)
    published_by = peewee.CharField(max_length=200, null=True)
    superseded_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "catalogue_version"


class CatalogueReview(FrozenModel):
    catalogue_version = peewee.ForeignKeyField(CatalogueVersion, on_delete="RESTRICT")
    reviewer = peewee.CharField(max_length=200)
    verdict = peewee.CharField(max_length=20)
    comment = peewee.TextField(default="")
    at = peewee.DateTimeField()

    class Meta:
        table_name = "catalogue_review"


def apply() -> None:
    for table in ATTRIBUTE_TABLES:
        sql(f"ALTER TABLE \"{table}\" ADD COLUMN \"attributes\" TEXT NOT NULL DEFAULT '{{}}'")
    sql('ALTER TABLE "user" ADD COLUMN "department" VARCHAR(120)')
    database.create_tables([CatalogueVersion, CatalogueReview])

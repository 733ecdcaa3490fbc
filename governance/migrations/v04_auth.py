"""Step 4: users, their productions and API tokens, as they shipped (6a103c2).

Why: every act is done by a named user with roles, a producer sees only the productions
they are a member of, and API tokens are stored as hashes only (a prefix tells them apart).
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 4
DESCRIPTION = "auth: users, memberships, API tokens"


class Production(FrozenModel):
    """The registry's production table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "production"


class User(FrozenModel):
    name = peewee.CharField(max_length=200, unique=True)
    roles = peewee.TextField()
    created_at = peewee.DateTimeField()
    disabled_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "user"


class Membership(FrozenModel):
    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    production = peewee.ForeignKeyField(Production, on_delete="CASCADE")

    class Meta:
        table_name = "membership"
        indexes = ((("user", "production"), True),)


class ApiToken(FrozenModel):
    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    token_sha256 = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=16)
    label = peewee.CharField(max_length=200, default="")
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_token"


def apply() -> None:
    database.create_tables([User, Membership, ApiToken])

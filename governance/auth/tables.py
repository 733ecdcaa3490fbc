"""peewee tables for users, their productions and API tokens."""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import AttributesField, JSONField, UTCDateTimeField
from ..registry.tables import Production


class User(BaseModel):
    name = peewee.CharField(max_length=200, unique=True)
    roles = JSONField()
    created_at = UTCDateTimeField()
    disabled_at = UTCDateTimeField(null=True)
    #: who the policy sees asking (``requester.department``); set by an admin (migration step 14)
    department = peewee.CharField(max_length=120, null=True)
    attributes = AttributesField()
    memberships: peewee.ModelSelect[Membership]


class Membership(BaseModel):
    """A producer sees only the productions they are a member of."""

    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    user_id: int
    production = peewee.ForeignKeyField(Production, backref="members", on_delete="CASCADE")
    production_id: int

    class Meta:
        indexes = ((("user", "production"), True),)


class ApiToken(BaseModel):
    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    user_id: int
    token_sha256 = peewee.CharField(max_length=64, unique=True)
    #: first characters, to tell tokens apart in listings without revealing them
    prefix = peewee.CharField(max_length=16)
    label = peewee.CharField(max_length=200, default="")
    created_at = UTCDateTimeField()
    expires_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)
    last_used_at = UTCDateTimeField(null=True)


TABLES = [User, Membership, ApiToken]

"""peewee table of enrolled worker keys (migration step 17)."""

from __future__ import annotations

import peewee

from ..auth.tables import User
from ..db import BaseModel
from ..fields import UTCDateTimeField


class WorkerKey(BaseModel):
    """One worker's public key, enrolled for its generator user: pending, approved or revoked."""

    key_id = peewee.CharField(max_length=64, unique=True)
    user = peewee.ForeignKeyField(User, backref="worker_keys", on_delete="RESTRICT")
    user_id: int
    public_key = peewee.CharField(max_length=100)
    label = peewee.CharField(max_length=200, default="")
    status = peewee.CharField(max_length=20, index=True)
    enrolled_at = UTCDateTimeField()
    approved_by = peewee.CharField(max_length=200, null=True)
    approved_at = UTCDateTimeField(null=True)
    revoked_by = peewee.CharField(max_length=200, null=True)
    revoked_at = UTCDateTimeField(null=True)
    revoked_reason = peewee.TextField(null=True)


TABLES: list[type[BaseModel]] = [WorkerKey]

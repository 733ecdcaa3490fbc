"""Step 17: generator workers' own keys, and the receipt each signed output was made under.

Why: an API token alone must not get pixels signed. Each worker makes its own Ed25519 key
pair and enrols the public key for its generator user (``worker_key``: pending until an
admin approves it, revocable for good); every signing call carries a receipt of the
generation signed by that key. The ledger keeps the receipt as received
(``output.receipt``, canonical JSON) and its SHA-256 (``output.receipt_sha256``), which
the credential's governance assertion names. Outputs signed before this step have
neither (NULL): no receipt was ever asked of them, and verification reads them as before.

The columns are added only where missing, and the table only if absent, as steps 15 and
16 do: a database the pre-migrations code created fresh already has today's columns.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 17
DESCRIPTION = ("workers: enrolled worker keys (pending, approved, revoked); "
               "ledger: output.receipt, output.receipt_sha256")


class User(FrozenModel):
    """The users table (step 4), only as the target of a foreign key."""

    class Meta:
        table_name = "user"


class WorkerKey(FrozenModel):
    key_id = peewee.CharField(max_length=64, unique=True)
    user = peewee.ForeignKeyField(User, on_delete="RESTRICT")
    public_key = peewee.CharField(max_length=100)
    label = peewee.CharField(max_length=200, default="")
    status = peewee.CharField(max_length=20, index=True)
    enrolled_at = peewee.DateTimeField()
    approved_by = peewee.CharField(max_length=200, null=True)
    approved_at = peewee.DateTimeField(null=True)
    revoked_by = peewee.CharField(max_length=200, null=True)
    revoked_at = peewee.DateTimeField(null=True)
    revoked_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "worker_key"


def _columns() -> list[tuple[str, peewee.Field]]:
    return [("receipt", peewee.TextField(null=True)), ("receipt_sha256", peewee.CharField(max_length=64, null=True))]


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("output")}
    for name, column in _columns():
        if name not in have:
            run(migrator.add_column("output", name, column))
    database.create_tables([WorkerKey])

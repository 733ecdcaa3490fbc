"""Step 5: the tamper-evident audit log, as it shipped (36a114f).

Why: every change is answerable to someone, and the record of it must show any later
edit. Entries form a hash chain (each names the previous hash), the one head row is
updated first by every appender so two can never extend the same head, and signed
checkpoints (Merkle roots over the first N entries) let an auditor prove the log was
not rewritten. ``frozen.append_audit_entry`` appends to these tables exactly as shipped.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 5
DESCRIPTION = "audit: hash-chained log and signed checkpoints"


class AuditHead(FrozenModel):
    id = peewee.IntegerField(primary_key=True)
    seq = peewee.BigIntegerField()
    head_hash = peewee.CharField(max_length=64)

    class Meta:
        table_name = "audit_head"


class AuditEntry(FrozenModel):
    seq = peewee.BigIntegerField(unique=True)
    at = peewee.DateTimeField()
    actor = peewee.CharField(max_length=200)
    action = peewee.CharField(max_length=80, index=True)
    subject = peewee.CharField(max_length=300, index=True)
    data = peewee.TextField()
    prev_hash = peewee.CharField(max_length=64)
    entry_hash = peewee.CharField(max_length=64, unique=True)

    class Meta:
        table_name = "audit_entry"


class AuditCheckpoint(FrozenModel):
    tree_size = peewee.BigIntegerField(unique=True)
    root_hash = peewee.CharField(max_length=64)
    at = peewee.DateTimeField()
    key_fingerprint = peewee.CharField(max_length=64)
    certificate_chain_pem = peewee.TextField()
    signature = peewee.TextField()

    class Meta:
        table_name = "audit_checkpoint"


def apply() -> None:
    database.create_tables([AuditHead, AuditEntry, AuditCheckpoint])

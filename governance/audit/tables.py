"""peewee tables of the audit log."""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import JSONField, UTCDateTimeField


class AuditHead(BaseModel):
    """One row: the log's length and last hash. Updating it first serialises appenders."""

    id = peewee.IntegerField(primary_key=True)
    seq = peewee.BigIntegerField()
    head_hash = peewee.CharField(max_length=64)


class AuditEntry(BaseModel):
    seq = peewee.BigIntegerField(unique=True)
    at = UTCDateTimeField()
    actor = peewee.CharField(max_length=200)
    action = peewee.CharField(max_length=80, index=True)
    subject = peewee.CharField(max_length=300, index=True)
    data = JSONField()
    prev_hash = peewee.CharField(max_length=64)
    entry_hash = peewee.CharField(max_length=64, unique=True)


# browsing newest first by actor, subject, action or time: each walk ends in seq (migration step 32)
for _name, _parts in (("audit_entry_actor_seq", (peewee.fn.lower(AuditEntry.actor), AuditEntry.seq)),
                      ("audit_entry_subject_seq", (peewee.fn.lower(AuditEntry.subject), AuditEntry.seq)),
                      ("audit_entry_action_seq", (AuditEntry.action, AuditEntry.seq)),
                      ("audit_entry_at_seq", (AuditEntry.at, AuditEntry.seq))):
    AuditEntry.add_index(AuditEntry.index(*_parts, name=_name))


class AuditCheckpoint(BaseModel):
    tree_size = peewee.BigIntegerField(unique=True)
    root_hash = peewee.CharField(max_length=64)
    at = UTCDateTimeField()
    key_fingerprint = peewee.CharField(max_length=64)
    certificate_chain_pem = peewee.TextField()
    signature = peewee.TextField()  # hex, raw r|s over the canonical checkpoint body
    #: ``rfc6962.Frontier.to_text`` of the tree it signs (migration step 34; NULL before it):
    #: the next checkpoint extends it instead of reading the whole log. Not signed: it is used
    #: only where it folds to ``root_hash`` and this row's signature verifies under the key
    #: signing now (``audit.log``)
    frontier = peewee.TextField(null=True)


TABLES = [AuditHead, AuditEntry, AuditCheckpoint]

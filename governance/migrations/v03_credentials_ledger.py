"""Step 3: signing keys and the ledger of signed outputs, as they shipped (46f7435).

Why: every image Slate signs must be findable again by its hash or manifest label, with
the key that signed it and the governance assertion exactly as signed, so verification can
say whether Slate issued it and whether it is still in good standing. The key table holds
certificates only: private keys stay in the keys folder or outside the process.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 3
DESCRIPTION = "credentials: signing keys, revocations; ledger of signed outputs"


class SigningKey(FrozenModel):
    fingerprint = peewee.CharField(max_length=64, unique=True)
    subject = peewee.CharField(max_length=300)
    issuer = peewee.CharField(max_length=300)
    serial = peewee.CharField(max_length=64)
    cert_pem = peewee.TextField()
    chain_pem = peewee.TextField()
    not_before = peewee.DateTimeField()
    not_after = peewee.DateTimeField()
    custody = peewee.CharField(max_length=16)
    status = peewee.CharField(max_length=16, index=True)
    created_at = peewee.DateTimeField()
    retired_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)
    revocation_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "signing_key"
        indexes = ((("issuer", "serial"), True),)


class Output(FrozenModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    manifest_label = peewee.CharField(max_length=200, unique=True)
    cert_fingerprint = peewee.CharField(max_length=64, index=True)
    media_type = peewee.CharField(max_length=40)
    job_id = peewee.CharField(max_length=100, index=True)
    decision_id = peewee.CharField(max_length=100, index=True)
    request_id = peewee.CharField(max_length=100, index=True)
    model_ref = peewee.CharField(max_length=300, index=True)
    signed_at = peewee.DateTimeField(index=True)
    timestamped = peewee.BooleanField()
    file_path = peewee.TextField(null=True)
    claim_json = peewee.TextField()
    claim_sha256 = peewee.CharField(max_length=64)
    in_good_standing = peewee.BooleanField(default=True)
    standing_reason = peewee.TextField(null=True)
    standing_changed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "output"


def apply() -> None:
    database.create_tables([SigningKey, Output])

"""peewee tables of this subsystem; ``TABLES`` lists them with the ledger's.

Migration step 3 created the signing keys and the ledger's tables (from its own frozen
declarations, ``governance/migrations/v03_credentials_ledger.py``). A signing key row
holds the certificate only; the private key stays in the keys folder (``custody == "file"``)
or outside the process (``"external"``).
"""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import UTCDateTimeField
from ..ledger.tables import TABLES as LEDGER_TABLES


class SigningKey(BaseModel):
    fingerprint = peewee.CharField(max_length=64, unique=True)
    subject = peewee.CharField(max_length=300)
    issuer = peewee.CharField(max_length=300)
    serial = peewee.CharField(max_length=64)
    cert_pem = peewee.TextField()
    #: Leaf then intermediates, what the signer embeds in each manifest.
    chain_pem = peewee.TextField()
    not_before = UTCDateTimeField()
    not_after = UTCDateTimeField()
    custody = peewee.CharField(max_length=16)  # file | external
    status = peewee.CharField(max_length=16, index=True)  # active | retired | revoked
    created_at = UTCDateTimeField()
    retired_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)
    revocation_reason = peewee.TextField(null=True)

    class Meta:
        indexes = ((("issuer", "serial"), True),)


class IdentityCertificate(BaseModel):
    """A person's identity certificate from the studio identity CA (``identities``): what
    their approvals are signed with. The private key is a 0600 file in the keys folder's
    ``identity/`` folder, never a column; a revoked certificate's key file is destroyed."""

    user_name = peewee.CharField(max_length=200, index=True)
    role = peewee.CharField(max_length=32)
    serial = peewee.CharField(max_length=64, unique=True)
    fingerprint = peewee.CharField(max_length=64, unique=True)
    subject = peewee.CharField(max_length=400)
    cert_pem = peewee.TextField()
    not_before = UTCDateTimeField()
    not_after = UTCDateTimeField()
    status = peewee.CharField(max_length=16, index=True)  # valid | revoked
    created_at = UTCDateTimeField()
    revoked_at = UTCDateTimeField(null=True)
    revocation_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "identity_certificate"


class PolicyApprovalSignature(BaseModel):
    """A legal reviewer's own signature of their approval of a policy version (``policy_signatures``):
    a detached COSE_Sign1 by their identity certificate over ``payload`` (canonical JSON)."""

    policy_uid = peewee.CharField(max_length=300)
    policy_version = peewee.IntegerField()
    reviewer = peewee.CharField(max_length=200)
    serial = peewee.CharField(max_length=64)
    payload = peewee.TextField()
    cose_sign1 = peewee.TextField()
    signed_at = UTCDateTimeField()

    class Meta:
        table_name = "policy_approval_signature"
        indexes = ((("policy_uid", "policy_version", "reviewer"), True),)


TABLES: list[type[BaseModel]] = [SigningKey, IdentityCertificate, PolicyApprovalSignature, *LEDGER_TABLES]

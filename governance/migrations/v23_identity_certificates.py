"""Step 23: people's identity certificates from the studio identity CA.

Why: an approval was a name string in Slate's own assertion, Slate's word rather than the
approver's. Each approver and legal reviewer now holds a personal X.509 certificate from
an identity CA kept apart from the claim-signing PKI, and each approval travels in the
credential signed with that person's key (``credentials.identities``). The table records
every certificate issued, its standing and, once revoked, when and why, so verification
can judge an approval signed before or after a revocation; ``policy_approval_signature``
keeps each legal reviewer's own signature of a policy version they approved. Private keys
are never stored here. The table is created only if absent, as steps 17 to 22 do.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 23
DESCRIPTION = ("credentials: people's identity certificates (approvers' and legal reviewers' own signing keys) "
               "and legal reviewers' signatures of the policy versions they approved")


class IdentityCertificate(FrozenModel):
    user_name = peewee.CharField(max_length=200, index=True)
    role = peewee.CharField(max_length=32)
    serial = peewee.CharField(max_length=64, unique=True)
    fingerprint = peewee.CharField(max_length=64, unique=True)
    subject = peewee.CharField(max_length=400)
    cert_pem = peewee.TextField()
    not_before = peewee.DateTimeField()
    not_after = peewee.DateTimeField()
    status = peewee.CharField(max_length=16, index=True)
    created_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True)
    revocation_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "identity_certificate"


class PolicyApprovalSignature(FrozenModel):
    policy_uid = peewee.CharField(max_length=300)
    policy_version = peewee.IntegerField()
    reviewer = peewee.CharField(max_length=200)
    serial = peewee.CharField(max_length=64)
    payload = peewee.TextField()
    cose_sign1 = peewee.TextField()
    signed_at = peewee.DateTimeField()

    class Meta:
        table_name = "policy_approval_signature"
        indexes = ((("policy_uid", "policy_version", "reviewer"), True),)


def apply() -> None:
    database.create_tables([IdentityCertificate, PolicyApprovalSignature])

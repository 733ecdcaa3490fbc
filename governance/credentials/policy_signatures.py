"""Legal reviewers sign the policy versions they approve, with their own identity certificate.

A policy version's approval is a ``PolicyReview`` row: Slate's record that a legal user
other than the author approved it. Alongside it, the reviewer's own key (``identities``)
signs a payload naming the policy's uid, version and SHA-256; the detached COSE_Sign1 is
kept in ``PolicyApprovalSignature``. ``slate policy show`` reports each review's signature
the way verification reports an output's approvers ("approved by lou-legal — own signature
valid"), judged with the identity CA and its revocation list.

The callers (CLI, API, pages, demo seed) sign in the same transaction as the approval, so a
recorded approval always has its signature, or neither is recorded. Keys live where the
approvers' keys do, with the same consequence for trust (README, "Approver signatures").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..audit.log import record
from ..auth.tables import User
from ..canonical import canonical_json
from ..clock import as_utc, utcnow
from ..db import transaction
from ..policy import versions
from ..settings import Settings
from . import approvals
from .identities import IdentityStore, identity_anchors_path
from .tables import PolicyApprovalSignature

TYPE = "slate.policy_approval"


def payload(uid: str, version: int, sha256: str, reviewer: str, signed_at: datetime) -> dict[str, Any]:
    return {"type": TYPE, "version": 1, "policy_uid": uid, "policy_version": int(version), "policy_sha256": sha256,
            "reviewer": reviewer, "signed_at": signed_at.astimezone(timezone.utc).isoformat()}


def approve_and_sign(settings: Settings, ref: str, reviewer: str, comment: str = "") -> dict[str, Any]:
    """Approve a draft policy version (``versions.approve_version``) and sign the approval
    with the reviewer's identity key, in one transaction: if it cannot be signed (their
    certificate was revoked), nothing is approved. A studio without users (policies kept
    by name only) records the approval unsigned, as before."""
    with transaction():
        approved = versions.approve_version(ref, reviewer, comment)
        if User.select().where(User.name == reviewer).exists():
            sign_approval(settings, approved, reviewer)
    return approved


def sign_approval(settings: Settings, policy: Mapping[str, Any], reviewer: str, *,
                  clock: Callable[[], datetime] = utcnow) -> None:
    """Sign ``reviewer``'s approval of ``policy`` (a version as ``versions.version_dict``
    gives it) with their identity key; call inside the approval's transaction."""
    info, signer = IdentityStore(settings, clock).signer_for(reviewer)
    now = clock()
    body = payload(str(policy["uid"]), int(policy["version"]), str(policy["sha256"]), reviewer, now)
    PolicyApprovalSignature.create(policy_uid=body["policy_uid"], policy_version=body["policy_version"],
                                   reviewer=reviewer, serial=info.serial, payload=canonical_json(body).decode(),
                                   cose_sign1=approvals.cose_sign1(body, signer), signed_at=now)
    record("policy.approval_signed", f"policy:{body['policy_uid']}@{body['policy_version']}",
           {"reviewer": reviewer, "serial": info.serial, "sha256": body["policy_sha256"]}, actor=reviewer)


def approval_lines(settings: Settings, policy: Mapping[str, Any]) -> list[approvals.ApprovalLine]:
    """Each approving review of ``policy`` with its signature judged: valid, revoked, invalid,
    or missing (approved before reviewers signed). A rollback's reviews are those of the
    version whose text it re-publishes, so their signatures are that version's (same SHA-256)."""
    signed = policy.get("rollback_of") or policy
    uid, version, sha256 = str(policy["uid"]), int(signed["version"]), str(policy["sha256"])
    reviewers = [r["reviewer"] for r in policy.get("reviews") or () if r.get("verdict") == "approved"]
    rows = {r.reviewer: r for r in PolicyApprovalSignature.select().where(
        (PolicyApprovalSignature.policy_uid == uid) & (PolicyApprovalSignature.policy_version == version))}
    path = identity_anchors_path(settings.keys_dir)
    anchors = path.read_text() if path.is_file() else ""
    revoked = IdentityStore(settings).revocations()
    lines = []
    for reviewer in reviewers:
        row = rows.get(reviewer)
        if row is None:
            lines.append(approvals.ApprovalLine(reviewer, approvals.MISSING, "approved before reviewers signed"))
            continue
        body = json.loads(row.payload)
        if (body.get("policy_uid"), body.get("policy_version"), body.get("policy_sha256"), body.get("reviewer")) != \
                (uid, version, sha256, reviewer):
            lines.append(approvals.ApprovalLine(reviewer, approvals.INVALID, "the signature is for another policy "
                                                                             "text or reviewer", row.serial))
            continue
        lines.append(approvals.judge_signature(reviewer, body, row.cose_sign1, anchors, revoked,
                                               as_utc(row.signed_at)))
    return lines

"""What verification answers: a frozen verdict with a reason an auditor can read per check.

Four checks, in the order a failure matters:

- integrity: is the C2PA manifest intact (hash binding, assertion hashes, claim signature)?
- trust: is it signed by a chain Slate trusts, and by one of Slate's own signing certificates?
- issuance: does the ledger hold this exact file, with the same governance assertion?
- standing: is the signing key unrevoked, and do later revocations leave the output standing?
- approval: did each approver the decision needed sign it with their own identity certificate?

The overall ``outcome`` is the first thing that went wrong, or ``verified``; ``unconfirmed``
when nothing went wrong but there were no records to check issuance and standing against
(``slate verify`` outside the studio without a kit).

Apart from those, ``c2pa_trust_list``: does the signer chain to a root on a C2PA trust list
the user gave (``trust_list``)? It never changes the outcome, which is about Slate.

A copy with no manifest whose watermark or fingerprint names an output Slate issued is
``recovered``: integrity and trust are not checked (there is nothing to check), issuance
names the output and its credential, standing is that output's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, NOT_CHECKED = "pass", "fail", "not_checked"

#: Outcomes, from "nothing to check" to "all good". ``ok`` only for VERIFIED.
UNREADABLE = "unreadable"            # not an image Slate reads, truncated, too large
NO_CREDENTIALS = "no_credentials"    # an image without a C2PA manifest
REMOTE_MANIFEST = "remote_manifest"  # the manifest lives at a URL; Slate does not fetch it
TAMPERED = "tampered"                # integrity failed
UNTRUSTED = "untrusted"              # intact, but not signed by a Slate signing certificate
NOT_ISSUED = "not_issued"            # signed by Slate's key but absent from (or unlike) the ledger
UNCONFIRMED = "unconfirmed"          # intact and trusted, but no records to check issuance and standing
REVOKED = "revoked"                  # issued, but the key, an approver's certificate or a right was revoked
UNAPPROVED = "unapproved"            # issued, but an approval it needed lacks a valid signature of its own
RECOVERED = "recovered"              # no manifest, but its watermark or fingerprint names a Slate output
VERIFIED = "verified"


@dataclass(frozen=True)
class Check:
    status: str
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @classmethod
    def passed(cls, *reasons: str, codes: tuple[str, ...] = ()) -> Check:
        return cls(PASS, reasons, codes)

    @classmethod
    def failed(cls, *reasons: str, codes: tuple[str, ...] = ()) -> Check:
        return cls(FAIL, reasons, codes)

    @classmethod
    def skipped(cls, reason: str) -> Check:
        return cls(NOT_CHECKED, (reason,))

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons), "codes": list(self.codes)}


CHECKS = ("integrity", "trust", "issuance", "standing", "approval")
_NOT_REACHED = Check.skipped("not checked: an earlier step found nothing to check")
NO_TRUST_LIST = Check.skipped("not checked: no C2PA trust list was given "
                              "(--c2pa-trust-list or SLATE_C2PA_TRUST_LIST)")


@dataclass(frozen=True)
class Verdict:
    subject: str
    outcome: str
    summary: str
    sha256: str | None = None
    integrity: Check = _NOT_REACHED
    trust: Check = _NOT_REACHED
    issuance: Check = _NOT_REACHED
    standing: Check = _NOT_REACHED
    approval: Check = _NOT_REACHED
    facts: dict[str, Any] = field(default_factory=dict)
    c2pa_trust_list: Check = NO_TRUST_LIST

    @property
    def ok(self) -> bool:
        return self.outcome == VERIFIED

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject, "ok": self.ok, "outcome": self.outcome, "summary": self.summary,
            "sha256": self.sha256,
            "checks": {name: getattr(self, name).to_dict() for name in CHECKS},
            "facts": dict(self.facts),
            "c2pa_trust_list": self.c2pa_trust_list.to_dict(),
        }

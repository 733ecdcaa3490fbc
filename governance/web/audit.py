"""Auditors' pages: drop an image to verify its content credentials, and verify the audit log.

The verdict is ``governance.credentials.verification.verify`` with the same standing
checks the API uses; the page only puts it in plain words.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from ..audit.log import verify_database
from ..audit.trust import TrustAnchors
from ..credentials.verification import verify as verify_image
from ..errors import InvalidInput
from ..provenance.standing import as_seen_by, standing_checks
from . import access
from .access import page
from .blueprint import bp

#: Each outcome in a sentence an auditor can repeat to someone else.
OUTCOME_WORDS = {
    "verified": "Verified: this image is intact, was signed and issued by Slate, and is in good standing.",
    "revoked": "Issued by Slate, but no longer in good standing: a key or a right it relied on was revoked.",
    "unapproved": "Issued by Slate, but an approval it needed does not carry the approver's own valid signature.",
    "not_issued": "Signed with Slate's key, but Slate's ledger has no record of issuing this exact file.",
    "unconfirmed": "The credentials are intact and chain to the trust anchors, but there were no records to "
                   "check that Slate issued this file and that it still stands.",
    "untrusted": "The credentials are intact, but were not signed by Slate.",
    "tampered": "The image or its credentials were changed after signing.",
    "recovered": "This copy carries no content credentials, but it is a copy of an output Slate issued: "
                 "its watermark or fingerprint names the original and its credential.",
    "no_credentials": "This image carries no content credentials.",
    "remote_manifest": "The credentials live at a remote address, which Slate does not fetch.",
    "unreadable": "Slate could not read this file as an image it verifies.",
}
CHECKS = (("integrity", "Intact"), ("trust", "Signed by a chain Slate trusts"),
          ("issuance", "Issued by Slate (ledger match)"), ("standing", "Still in good standing"),
          ("approval", "Approved under the approvers' own signatures"))
VERIFIERS = ("auditor", "producer", "legal", "approver")


@bp.route("/verify", methods=["GET"])
@page(*VERIFIERS)
def verify() -> Any:
    return render_template("web/verify.html", verdict=None, checks=CHECKS, words=OUTCOME_WORDS)


@bp.route("/verify", methods=["POST"])
@page(*VERIFIERS)
def verify_upload() -> Any:
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if not data:
        raise InvalidInput("choose or drop an image file to verify")
    verdict = verify_image(current_app.config["SLATE_SETTINGS"], data, standing_checks=standing_checks())
    seen = as_seen_by(verdict, access.principal())
    return render_template("web/verify.html", verdict=seen.to_dict(), checks=CHECKS, words=OUTCOME_WORDS)


@bp.route("/audit", methods=["GET"])
@page("auditor")
def audit() -> Any:
    return render_template("web/audit.html", result=None)


@bp.route("/audit", methods=["POST"])
@page("auditor")
def audit_verify() -> Any:
    anchors = TrustAnchors.in_keys_folder(current_app.config["SLATE_SETTINGS"].keys_dir)
    return render_template("web/audit.html", result=verify_database(anchors).to_dict())

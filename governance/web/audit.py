"""Auditors' pages: drop an image to verify its content credentials; browse, filter, export
and verify the audit log.

The image verdict is ``governance.credentials.verification.verify`` with the same standing
checks the API uses; the audit log's pages read it through ``governance.audit.browse``,
which ``GET /api/v1/audit/entries`` answers from too. The pages only put it in words.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from flask import Response, current_app, render_template, request

from ..audit import browse
from ..audit.log import verify_database
from ..audit.trust import TrustAnchors
from ..credentials.verification import verify as verify_image
from ..errors import InvalidInput
from ..ids import is_id
from ..provenance.standing import as_seen_by, standing_checks
from ..spreadsheet import csv_lines
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


AUDITORS = ("auditor",)
#: the export's columns, in order (stable: auditors' spreadsheets depend on it)
CSV_COLUMNS = ("seq", "at", "actor", "action", "subject", "data", "prev_hash", "entry_hash")


def _cursor(name: str) -> int | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not is_id(text) or len(text) > 18:
        raise InvalidInput(f"'{name}' is an entry number", fields={name: ["not an entry number"]})
    return int(text)


def _log_page(result: Any = None) -> Any:
    filters = browse.EntryFilter.from_args(request.args)
    found = browse.find_entries(filters, before=_cursor("before"), after=_cursor("after"))
    newest = browse.checkpoints(limit=1)
    return render_template("web/audit.html", result=result, checks=browse.verdict_in_words(result) if result else [],
                           found=found, filters=filters, args=filters.to_args(), actions=browse.actions(),
                           newest_checkpoint=newest[0] if newest else None, page_size=browse.PAGE_SIZE,
                           export_limit=browse.EXPORT_LIMIT)


@bp.route("/audit", methods=["GET"])
@page(*AUDITORS)
def audit() -> Any:
    return _log_page()


@bp.route("/audit", methods=["POST"])
@page(*AUDITORS)
def audit_verify() -> Any:
    anchors = TrustAnchors.in_keys_folder(current_app.config["SLATE_SETTINGS"].keys_dir)
    return _log_page(verify_database(anchors))


@bp.route("/audit/entries/<int:seq>", methods=["GET"])
@page(*AUDITORS)
def audit_entry(seq: int) -> Any:
    return render_template("web/audit_entry.html", detail=browse.entry_detail(seq))


@bp.route("/audit/checkpoints", methods=["GET"])
@page(*AUDITORS)
def audit_checkpoints() -> Any:
    before = _cursor("before")
    rows = browse.checkpoints(before=before, limit=browse.PAGE_SIZE + 1)
    return render_template("web/audit_checkpoints.html", checkpoints=rows[:browse.PAGE_SIZE],
                           older=rows[browse.PAGE_SIZE - 1]["tree_size"] if len(rows) > browse.PAGE_SIZE else None)


def _download(lines: Iterator[str], mimetype: str, suffix: str) -> Response:
    """Streamed: the rows are read a thousand at a time while the download runs, after the
    request has ended (peewee reconnects for them; the thread's next request reuses and then
    closes that connection). Not ``stream_with_context``: a download left unread would keep
    this request's context, and its ``g`` with the signed-in auditor, for the next request
    on the same thread."""
    return Response(lines, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="slate-audit-log.{suffix}"',
                             "Cache-Control": "no-store"})


@bp.route("/audit/export.csv", methods=["GET"])
@page(*AUDITORS)
def audit_export_csv() -> Response:
    """The filtered entries as CSV, newest first (at most ``browse.EXPORT_LIMIT``); a cell a
    spreadsheet would run as a formula is neutralised."""
    filters = browse.EntryFilter.from_args(request.args)

    def rows() -> Iterator[list[Any]]:
        for entry in browse.export_entries(filters):
            entry = {**entry, "data": json.dumps(entry["data"], sort_keys=True, ensure_ascii=False)}
            yield [entry[c] for c in CSV_COLUMNS]
    return _download(csv_lines(CSV_COLUMNS, rows()), "text/csv", "csv")


@bp.route("/audit/export.jsonl", methods=["GET"])
@page(*AUDITORS)
def audit_export_jsonl() -> Response:
    """The filtered entries as JSON Lines, newest first, exactly as hashed (each line can be
    checked against its ``entry_hash``)."""
    filters = browse.EntryFilter.from_args(request.args)

    def lines() -> Iterator[str]:
        for entry in browse.export_entries(filters):
            yield json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
    return _download(lines(), "application/jsonl", "jsonl")

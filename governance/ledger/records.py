"""Reading and writing ledger rows as plain values."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..canonical import canonical_json, sha256_hex
from ..clock import as_utc
from ..db import HotInsert, HotLookup
from .tables import Output


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    sha256: str
    manifest_label: str
    cert_fingerprint: str
    media_type: str
    job_id: str
    decision_id: str
    request_id: str
    model_ref: str
    signed_at: datetime
    timestamped: bool
    file_path: str | None
    claim_sha256: str
    claim_json: str
    in_good_standing: bool
    standing_reason: str | None
    #: the worker's signed generation receipt (canonical JSON); None before migration 17
    receipt_json: str | None = None
    receipt_sha256: str | None = None

    @classmethod
    def from_row(cls, row: Output) -> LedgerEntry:
        return cls(row.id, row.sha256, row.manifest_label, row.cert_fingerprint, row.media_type, row.job_id,
                   row.decision_id, row.request_id, row.model_ref, as_utc(row.signed_at), row.timestamped,
                   row.file_path, row.claim_sha256, row.claim_json, row.in_good_standing, row.standing_reason,
                   row.receipt, row.receipt_sha256)

    @property
    def claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = json.loads(self.claim_json)
        return claim

    @property
    def receipt(self) -> dict[str, Any] | None:
        receipt: dict[str, Any] | None = json.loads(self.receipt_json) if self.receipt_json else None
        return receipt

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["claim"], data["receipt"] = self.claim, self.receipt
        del data["claim_json"], data["receipt_json"]
        return data


def record_output(*, sha256: str, manifest_label: str, cert_fingerprint: str, media_type: str, job_id: str,
                  decision_id: str, request_id: str, model_ref: str, signed_at: datetime, timestamped: bool,
                  file_path: str | None, assertion: dict[str, Any], receipt: str | None = None) -> int:
    """Insert one output, with the worker's receipt text when there is one; the caller owns
    the transaction. Returns the row id."""
    claim_json = canonical_json(assertion)
    return _insert_output(
        sha256=sha256, manifest_label=manifest_label, cert_fingerprint=cert_fingerprint, media_type=media_type,
        job_id=job_id, decision_id=decision_id, request_id=request_id, model_ref=model_ref,
        signed_at=as_utc(signed_at).replace(tzinfo=None), timestamped=timestamped, file_path=file_path,
        claim_json=claim_json.decode("utf-8"), claim_sha256=sha256_hex(claim_json), in_good_standing=True,
        receipt=receipt, receipt_sha256=sha256_hex(receipt.encode("utf-8")) if receipt is not None else None)


_insert_output = HotInsert(Output)
_by_sha256 = HotLookup(Output, Output.sha256)


def find_by_sha256(sha256: str) -> LedgerEntry | None:
    row = _by_sha256.first(sha256)
    return LedgerEntry.from_row(row) if row else None


def find_by_label(manifest_label: str) -> LedgerEntry | None:
    row = Output.get_or_none(Output.manifest_label == manifest_label)
    return LedgerEntry.from_row(row) if row else None


def normalise_model_refs(batch: int = 1000) -> int:
    """Rewrite NAME@VERSION refs (ledgers before migration 8) as NAME:VERSION, the registry's
    form, from the model name and version of the assertion each row recorded. Returns how
    many rows changed; the caller owns the transaction."""
    changed, last = 0, 0
    while True:
        rows = list(Output.select(Output.id, Output.model_ref, Output.claim_json)
                    .where(Output.id > last).order_by(Output.id).limit(batch))
        if not rows:
            return changed
        for row in rows:
            model = json.loads(row.claim_json).get("model") or {}
            ref = f"{model.get('name')}:{model.get('version')}"
            if "name" in model and "version" in model and row.model_ref != ref:
                Output.update(model_ref=ref).where(Output.id == row.id).execute()
                changed += 1
        last = rows[-1].id


def recent(limit: int = 20) -> list[LedgerEntry]:
    return [LedgerEntry.from_row(r) for r in Output.select().order_by(Output.id.desc()).limit(limit)]

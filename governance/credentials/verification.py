"""Verifying an image's content credentials: C2PA first, then Slate's own records.

``Verifier.verify_bytes`` never raises for a bad file: whatever it is given (someone
else's credential, no credential, a tampered, truncated or non-image file) it returns a
``Verdict``. With a C2PA trust list in the settings, the verdict also says whether the
signer chains to a root on it (``trust_list``), apart from whether Slate issued the file.
It never reaches the network: remote manifests are reported, not fetched, and OCSP is off
(see ``c2pa_config``). It never writes anything either.

What it knows beyond the file comes from an ``Evidence`` (``evidence``): by default the
studio's database (which must be open) and keys folder; ``slate verify`` outside the studio
passes no records at all, or an exported verification kit. Standing has a hook:
``standing_checks`` are called with the ledger entry and the governance assertion and return
reasons the output no longer stands (a consent or licence revoked since). Provenance plugs
its checks in there; they are the studio evidence's, and a kit carries what they said.

A file with no manifest is looked up by its soft bindings (``softbinding.recover``, through
the evidence's ``Recovery``: the ledger's, or the kit's) and answers ``recovered`` when its
watermark or fingerprint names an output Slate issued, with that output's credential and
standing.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import c2pa

from ..canonical import digest, sha256_hex
from ..errors import InvalidInput
from ..ledger import LedgerEntry
from ..settings import Settings
from . import approvals, c2pa_config, images, softbinding
from .claim import GOVERNANCE_LABEL
from .evidence import NO_ANCHORS, NO_RECORDS, Evidence, StandingCheck, StudioEvidence
from .keys import KeyInfo
from .offload import Offload
from .trust_list import TrustList
from .verdict import (
    FAIL,
    NO_CREDENTIALS,
    NOT_ISSUED,
    RECOVERED,
    REMOTE_MANIFEST,
    REVOKED,
    TAMPERED,
    UNAPPROVED,
    UNCONFIRMED,
    UNREADABLE,
    UNTRUSTED,
    VERIFIED,
    Check,
    Verdict,
)

#: C2PA status codes that speak to trust rather than integrity.
_TRUST_CODES = ("signingCredential.", "timeStamp.untrusted", "timeStamp.outsideValidity")
_BYTES_CHANGED = "the image bytes changed after signing: the hash binding no longer matches"
_REASONS = {
    "assertion.dataHash.mismatch": _BYTES_CHANGED,
    "assertion.boxesHash.mismatch": _BYTES_CHANGED,
    "assertion.bmffHash.mismatch": _BYTES_CHANGED,
    "assertion.hashedURI.mismatch": "an assertion changed after signing: its hash no longer matches the claim",
    "assertion.missing": "an assertion the claim lists is missing from the manifest",
    "claimSignature.mismatch": "the claim signature does not match the claim: the manifest was tampered with "
                               "or is corrupt",
    "claimSignature.missing": "the manifest carries no claim signature",
    "timeStamp.mismatch": "the timestamp does not cover this signature",
    "signingCredential.untrusted": "the signing certificate does not chain to a root in Slate's trust anchors",
    "signingCredential.expired": "the signing certificate has expired and no trusted timestamp shows it was "
                                 "valid when it signed",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA claim signing",
    "signingCredential.revoked": "the signing certificate was revoked by its issuer",
}
_REMOTE_URL = re.compile(r"(https?://\S+)")


@dataclass(frozen=True)
class _Manifest:
    """The parts of c2pa's report verification reads."""

    label: str
    state: str
    failures: tuple[dict[str, str], ...]
    successes: frozenset[str]
    active: Mapping[str, Any]

    @property
    def signature_info(self) -> Mapping[str, Any]:
        return self.active.get("signature_info") or {}

    def assertion(self, label: str) -> Mapping[str, Any] | None:
        for assertion in self.active.get("assertions") or ():
            if assertion.get("label") == label:
                data: Mapping[str, Any] | None = assertion.get("data")
                return data
        return None


class Verifier:
    def __init__(self, settings: Settings, *, standing_checks: Sequence[StandingCheck] = (),
                 evidence: Evidence | None = None, recovery: softbinding.Recovery | None = None) -> None:
        """``evidence`` defaults to the studio's database with ``standing_checks``; pass one
        (a kit, or none) to verify without it. Not both. ``recovery`` replaces the evidence's
        own lookup of stripped copies (tests)."""
        if evidence is not None and standing_checks:
            raise ValueError("standing checks belong to the studio evidence: pass them to StudioEvidence")
        self.settings = settings
        self.evidence: Evidence = evidence or StudioEvidence(settings, standing_checks)
        self._recovery = recovery if recovery is not None else self.evidence.recovery
        self._context: tuple[str, c2pa.Context] | None = None
        self._offload = Offload("slate-verify")
        self._trust_list = TrustList.load(settings.c2pa_trust_list) if settings.c2pa_trust_list else None

    def verify_file(self, path: str | Path) -> Verdict:
        path = Path(path)
        try:
            if path.stat().st_size > self.settings.max_image_bytes:
                return self._too_large(path.name, path.stat().st_size)
            data = path.read_bytes()
        except OSError as exc:
            return Verdict(path.name, UNREADABLE, f"the file cannot be read ({exc.strerror or type(exc).__name__})")
        return self.verify_bytes(data, subject=path.name)

    def verify_bytes(self, data: bytes, *, subject: str = "image") -> Verdict:
        if len(data) > self.settings.max_image_bytes:
            return self._too_large(subject, len(data))
        media_type = images.sniff(data)
        if media_type is None:
            return Verdict(subject, UNREADABLE, "this is not a PNG, JPEG or WebP image, so it carries no "
                                                "credentials Slate can check")
        try:
            # header only: the same size limits as signing, so a decompression bomb is named as one
            images.check_dimensions(data, media_type, self.settings)
        except InvalidInput as exc:
            return Verdict(subject, UNREADABLE, exc.message)
        # hashlib and the c2pa reader both release the GIL: hash the file while c2pa reads it.
        sha256_future = self._offload.submit(sha256_hex, data)
        # and, for a PNG, the bytes that were signed (the file less its C2PA chunks), which an
        # approver's signature names
        unsigned_future = self._offload.submit(approvals.unsigned_png_sha256, data) \
            if media_type == "image/png" else None
        report = self._read(data, media_type)
        sha256 = sha256_future.result()
        unsigned = unsigned_future.result() if unsigned_future is not None else None
        if isinstance(report, Verdict):
            facts: dict[str, Any] = {"media_type": media_type}
            if report.outcome == NO_CREDENTIALS:
                found = self._recover(data)
                if isinstance(found, softbinding.Recovered):
                    return self._recovered(subject, sha256, media_type, found)
                if found is not None:
                    facts["recovery"] = found.reason
            return Verdict(subject, report.outcome, report.summary, sha256, facts=facts)
        verdict = self._judge(subject, sha256, media_type, report, unsigned)
        return self._with_trust_list(verdict, data, media_type, report) if self._trust_list else verdict

    # ------------------------------------------------------------ recovering a stripped copy

    def _recover(self, data: bytes) -> softbinding.Recovered | softbinding.Refusal | None:
        if self._recovery is None:
            return None  # no records of what Slate issued: nothing to look a copy up in
        try:
            return softbinding.recover(data, self._recovery, max_pixels=self.settings.max_image_pixels)
        except InvalidInput:
            return None  # pixels that do not decode: nothing to look up, and still no credentials

    def _recovered(self, subject: str, sha256: str, media_type: str, found: softbinding.Recovered) -> Verdict:
        """The verdict on a copy whose soft bindings name an output: that output's credential
        and standing, checked as a signed file's are."""
        entry = self.evidence.output_by_sha256(found.output.sha256)
        how = (f"its invisible watermark {found.watermark_id}, confirmed by its fingerprint (distance "
               f"{found.distance:.3f})" if found.method == "watermark"
               else f"its perceptual fingerprint alone (distance {found.distance:.3f}, no other output near)")
        skipped = Check.skipped("not checked: the copy carries no manifest; the original's credential is named "
                                "instead")
        facts: dict[str, Any] = {"media_type": media_type, "recovered": found.to_dict(),
                                 "manifest_label": found.output.manifest_label}
        if entry is None:
            issuance = Check.failed(f"the copy's soft bindings name output {found.output.sha256[:16]}..., which the "
                                    "ledger does not hold", codes=("slate.ledger.missing",))
            return Verdict(subject, NO_CREDENTIALS, "the image carries no content credentials, and the output its "
                                                    "soft bindings name is not in the ledger", sha256,
                           skipped, skipped, issuance, facts=facts)
        issuance = Check.passed(f"recovered by {how}: a copy of output {entry.sha256} (job {entry.job_id}, decision "
                                f"{entry.decision_id}), credential {entry.manifest_label}",
                                codes=(f"slate.recovered.{found.method}",))
        key = self.evidence.key(entry.cert_fingerprint)
        standing = self._standing(key, entry, entry.claim, None) if key is not None else \
            Check.failed(f"the signing key {entry.cert_fingerprint[:16]} of the original is not known here",
                         codes=("slate.signer.unknown",))
        approval = self._original_approval(entry)
        facts["governance"] = entry.claim
        facts["evidence"] = self.evidence.source.to_dict()
        facts["ledger"] = {"id": entry.id, "job_id": entry.job_id, "decision_id": entry.decision_id,
                           "request_id": entry.request_id, "signed_at": entry.signed_at.isoformat()}
        lost = [*(standing.reasons if not standing.ok else ()), *(approval.reasons if approval.status == FAIL else ())]
        summary = (f"no content credentials in this file, but it is a copy of Slate output {entry.sha256[:16]}... "
                   f"(credential {entry.manifest_label}), " +
                   ("which is no longer in good standing: " + lost[0] if lost else "which is in good standing"))
        return Verdict(subject, RECOVERED, summary, sha256, skipped, skipped, issuance, standing, approval, facts)

    def _original_approval(self, entry: LedgerEntry) -> Check:
        """The approvers' signatures of the original's own manifest (the studio's manifest
        repository, or the kit's copy of its approvals), judged as a signed file's are: a copy
        does not shed a revoked approver by losing its manifest."""
        original = self.evidence.approval_manifest(entry)
        if original is None:
            return Check.skipped("not checked: no manifest of the original is kept here (signed before the "
                                 "manifest repository)")
        return self._approval_of(original, entry.signed_at, None)

    # ------------------------------------------------------------ reading

    def _read(self, data: bytes, media_type: str) -> _Manifest | Verdict:
        try:
            reader = c2pa.Reader(media_type, io.BytesIO(data), context=self._reading_context())
            with reader:
                store = json.loads(reader.json())
        except c2pa.C2paError.ManifestNotFound:
            return Verdict("", NO_CREDENTIALS, "the image carries no content credentials (no C2PA manifest)")
        except c2pa.C2paError as exc:
            return _unreadable_report(str(exc))
        label = store.get("active_manifest")
        active = (store.get("manifests") or {}).get(label)
        if not label or active is None:
            return Verdict("", NO_CREDENTIALS, "the C2PA manifest store has no active manifest")
        results = (store.get("validation_results") or {}).get("activeManifest") or {}
        return _Manifest(label, store.get("validation_state") or "", tuple(results.get("failure") or ()),
                         frozenset(item["code"] for item in results.get("success") or ()), active)

    def _reading_context(self) -> c2pa.Context:
        # No anchors (keys never generated, none given): read with none, so nothing is trusted.
        anchors = self.evidence.trust_anchors_pem()
        if self._context is None or self._context[0] != anchors:
            self._context = (anchors, c2pa_config.context(c2pa_config.reading_settings(anchors)))
        return self._context[1]

    # ------------------------------------------------------------ judging

    def _judge(self, subject: str, sha256: str, media_type: str, manifest: _Manifest,
               unsigned_sha256: str | None) -> Verdict:
        integrity = _integrity(manifest)
        key, trust = self._trust(manifest)
        assertion = manifest.assertion(GOVERNANCE_LABEL)
        entry = self.evidence.output_by_sha256(sha256)
        signed_time = _trusted_signing_time(manifest)
        if key is not None:
            issuance = self._issuance(manifest, entry, key, assertion, sha256)
            standing = self._standing(key, entry, assertion, signed_time)
            approval = self._approval(manifest, signed_time or (entry.signed_at if entry else None),
                                      unsigned_sha256)
        else:
            why = NO_RECORDS if trust.ok else "not checked: not signed by a Slate signing certificate"
            issuance = standing = approval = Check.skipped(why)
        outcome, summary = _outcome(integrity, trust, issuance, standing, approval)
        facts = _facts(manifest, media_type, key, entry, assertion, signed_time)
        facts["evidence"] = self.evidence.source.to_dict()
        return Verdict(subject, outcome, summary, sha256, integrity, trust, issuance, standing, approval, facts)

    def _approval(self, manifest: _Manifest, signed_at: datetime | None, unsigned_sha256: str | None) -> Check:
        """The approvers' own signatures, judged with the identity CA alone and the evidence's
        revocation list (the studio's, or a kit's); verification never creates the CA (an
        absent one trusts nothing)."""
        return self._approval_of({**manifest.active, "label": manifest.label}, signed_at, unsigned_sha256)

    def _approval_of(self, active: Mapping[str, Any], signed_at: datetime | None,
                     unsigned_sha256: str | None) -> Check:
        governance = next((a.get("data") for a in active.get("assertions") or ()
                           if isinstance(a, Mapping) and a.get("label") == GOVERNANCE_LABEL), None)
        if not approvals.required_approvers(governance if isinstance(governance, Mapping) else {}):
            return approvals.verify_approvals(active, "", {}).check()
        report = approvals.verify_approvals(active, self.evidence.identity_anchors_pem(),
                                            self.evidence.identity_revocations(), signed_at=signed_at,
                                            image_sha256=unsigned_sha256)
        return report.check()

    def _trust(self, manifest: _Manifest) -> tuple[KeyInfo | None, Check]:
        trust_failures = [f for f in manifest.failures if f.get("code", "").startswith(_TRUST_CODES)]
        signer = _signer_text(manifest.signature_info)
        if trust_failures or "signingCredential.trusted" not in manifest.successes:
            reasons = [_reason(f) for f in trust_failures] or ["the signing certificate was not found trusted"]
            if not self.evidence.trust_anchors_pem().strip():
                reasons.append(NO_ANCHORS)
            return None, Check.failed(*reasons, f"signed by {signer}",
                                      codes=tuple(f["code"] for f in trust_failures))
        if not self.evidence.has_records:
            # the chain is trusted, but which of its certificates are Slate's signers (not,
            # say, its time-stamping authority) only the records say: trust without a pin
            return None, Check.passed(f"signed by {signer}, which chains to the trust anchors "
                                      f"({self.evidence.source.trust_anchors}); not pinned to one of Slate's "
                                      "signing certificates: no records of them here",
                                      codes=("signingCredential.trusted", "slate.signer.unpinned"))
        key = self._pinned_key(manifest.signature_info)
        if key is None:
            # c2pa trusts time-stamping certificates for claims too, so a Trusted chain is
            # not proof: the signer must be one of the certificates Slate issued itself.
            return None, Check.failed(f"signed by {signer}: it chains to a trusted root but is not one of "
                                      "Slate's signing certificates", codes=("slate.signer.unknown",))
        return key, Check.passed(f"signed by Slate signing certificate {key.fingerprint[:16]} ({signer}), "
                                 "which chains to Slate's trust anchors", codes=("signingCredential.trusted",))

    def _pinned_key(self, info: Mapping[str, Any]) -> KeyInfo | None:
        try:
            serial = format(int(str(info.get("cert_serial_number", ""))), "x")
        except ValueError:
            return None
        for key, names in self.evidence.keys_by_serial(serial):
            if info.get("common_name") in names and info.get("issuer") in names:
                return key
        return None

    def _issuance(self, manifest: _Manifest, entry: LedgerEntry | None, key: KeyInfo,
                  assertion: Mapping[str, Any] | None, sha256: str) -> Check:
        other = self.evidence.output_by_label(manifest.label) if entry is None else None
        return _issuance(manifest, entry, other, key, assertion, sha256)

    def _standing(self, key: KeyInfo, entry: LedgerEntry | None, assertion: Mapping[str, Any] | None,
                  signed_time: datetime | None) -> Check:
        signed_at = signed_time or (entry.signed_at if entry else None)
        reasons: list[str] = []
        if key.revoked_for(signed_at):
            when = f"at {signed_at:%Y-%m-%d %H:%M:%S}Z, after that" if signed_at else \
                "at a time that cannot be established, so it may be after that"
            reasons.append(f"signing key {key.fingerprint[:16]} was revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S}Z "
                           f"({key.revocation_reason}); this output was signed {when}")
        if entry is not None:
            reasons.extend(self.evidence.standing(entry, assertion or {}))
        if reasons:
            return Check.failed(*reasons, codes=("slate.standing.revoked",))
        return Check.passed(f"signing key {key.fingerprint[:16]} is {key.status}, not revoked"
                            + ("" if key.status != "revoked" else " for this output's signing time")
                            + "; no revocation recorded against this output")

    def _with_trust_list(self, verdict: Verdict, data: bytes, media_type: str, manifest: _Manifest) -> Verdict:
        """The verdict with the C2PA trust list's answer beside Slate's (the outcome stays Slate's)."""
        assert self._trust_list is not None
        listed = self._trust_list.judge(data, media_type, _signer_text(manifest.signature_info))
        summary = verdict.summary
        if verdict.outcome == UNTRUSTED and listed.ok:
            summary = summary.replace("intact content credentials, but not signed by Slate",
                                      "intact content credentials, trusted by the C2PA trust list, but not issued by "
                                      "Slate", 1)
        return replace(verdict, summary=summary, c2pa_trust_list=listed)

    def _too_large(self, subject: str, size: int) -> Verdict:
        return Verdict(subject, UNREADABLE, f"the file is {size:,} bytes, more than the limit of "
                                            f"{self.settings.max_image_bytes:,}; it was not read")


# ---------------------------------------------------------------- pure helpers


def _unreadable_report(text: str) -> Verdict:
    if text.startswith("Remote"):
        match = _REMOTE_URL.search(text)
        where = match.group(1) if match else "a remote URL"
        return Verdict("", REMOTE_MANIFEST, f"the credentials are not in the file but at {where}; Slate does not "
                                            "fetch remote manifests, so nothing was verified")
    if "could not be parsed" in text or "NotSupported" in text:
        return Verdict("", UNREADABLE, "the file is truncated or corrupt: its image structure cannot be parsed")
    return Verdict("", UNREADABLE, "the C2PA manifest cannot be read: it is damaged or malformed")


def _reason(failure: Mapping[str, str]) -> str:
    code = failure.get("code", "")
    reason = _REASONS.get(code) or f"{code}: {failure.get('explanation', 'failed')}"
    url = failure.get("url") or ""
    if code == "assertion.hashedURI.mismatch" and "c2pa.assertions/" in url:
        reason += f" ({url.rsplit('c2pa.assertions/', 1)[1]})"
    return reason


def _integrity(manifest: _Manifest) -> Check:
    broken = [f for f in manifest.failures if not f.get("code", "").startswith(_TRUST_CODES)]
    if broken:
        return Check.failed(*dict.fromkeys(_reason(f) for f in broken), codes=tuple(f["code"] for f in broken))
    return Check.passed("the manifest is intact: the hash binding, assertion hashes and claim signature match",
                        codes=tuple(sorted(c for c in manifest.successes if c.endswith((".match", ".validated")))))


def _issuance(manifest: _Manifest, entry: LedgerEntry | None, other: LedgerEntry | None, key: KeyInfo,
              assertion: Mapping[str, Any] | None, sha256: str) -> Check:
    """``other``: the ledger's entry for the file's manifest label, asked only when ``entry``
    (the entry for its SHA-256) is None."""
    if entry is None:
        if other is not None:
            return Check.failed(f"the ledger records manifest {manifest.label} for a different file "
                                f"(SHA-256 {other.sha256[:16]}...): this is not the file Slate issued",
                                codes=("slate.ledger.different_file",))
        return Check.failed(f"the ledger holds no output with SHA-256 {sha256[:16]}...: Slate did not issue "
                            "this file", codes=("slate.ledger.missing",))
    problems = []
    if entry.manifest_label != manifest.label:
        problems.append(f"the ledger records manifest {entry.manifest_label}, the file carries {manifest.label}")
    if entry.cert_fingerprint != key.fingerprint:
        problems.append(f"the ledger records signing key {entry.cert_fingerprint[:16]}, the file was signed "
                        f"with {key.fingerprint[:16]}")
    if assertion is None:
        problems.append("the file has no Slate governance assertion")
    elif digest(assertion) != entry.claim_sha256:
        problems.append("the governance assertion differs from the one the ledger recorded")
    if problems:
        return Check.failed(*problems, codes=("slate.ledger.mismatch",))
    return Check.passed(f"the ledger holds this file (output {entry.id}, job {entry.job_id}, decision "
                        f"{entry.decision_id}) and its governance assertion matches the record",
                        codes=("slate.ledger.match",))


def _trusted_signing_time(manifest: _Manifest) -> datetime | None:
    """The TSA's time, when a trusted timestamp vouches for it; otherwise None."""
    if "timeStamp.trusted" not in manifest.successes:
        return None
    raw = manifest.signature_info.get("time")
    try:
        return datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _signer_text(info: Mapping[str, Any]) -> str:
    name = info.get("common_name") or "an unnamed certificate"
    issuer = info.get("issuer")
    return f"'{name}'" + (f" issued by '{issuer}'" if issuer else "")


def _outcome(integrity: Check, trust: Check, issuance: Check, standing: Check,
             approval: Check) -> tuple[str, str]:
    if not integrity.ok:
        return TAMPERED, "the content credentials are not intact: " + integrity.reasons[0]
    if not trust.ok:
        return UNTRUSTED, "intact content credentials, but not signed by Slate: " + trust.reasons[0]
    if issuance.status == FAIL:
        return NOT_ISSUED, "signed with Slate's key but not as Slate issued it: " + issuance.reasons[0]
    if not issuance.ok:  # not checked: trusted, but no records to say more
        return UNCONFIRMED, ("intact and chains to the trust anchors, but whether Slate issued it and whether "
                             "it stands were not checked: there are no records here (pass --kit DIR)")
    # one code per approver, in the order of the first reasons (a note may follow them)
    judged = list(zip(approval.codes, approval.reasons, strict=False)) if approval.status == FAIL else []
    unsigned = [reason for code, reason in judged if code in ("slate.approval.missing", "slate.approval.invalid")]
    if unsigned:
        return UNAPPROVED, ("issued by Slate, but an approval it needed has no valid signature of its own: "
                            + unsigned[0])
    if not standing.ok:
        return REVOKED, "issued by Slate, but no longer in good standing: " + standing.reasons[0]
    revoked = [reason for code, reason in judged if code == "slate.approval.revoked"]
    if revoked:
        return REVOKED, "issued by Slate, but an approver's identity certificate was revoked: " + revoked[0]
    return VERIFIED, "intact, signed by Slate, recorded in the ledger and in good standing"


def _facts(manifest: _Manifest, media_type: str, key: KeyInfo | None, entry: LedgerEntry | None,
           assertion: Mapping[str, Any] | None, signed_time: datetime | None) -> dict[str, Any]:
    info = manifest.signature_info
    facts: dict[str, Any] = {
        "media_type": media_type,
        "manifest_label": manifest.label,
        "c2pa_validation_state": manifest.state,
        "claim_generator": [g.get("name") for g in manifest.active.get("claim_generator_info") or ()],
        "signer": {"common_name": info.get("common_name"), "issuer": info.get("issuer"),
                   "serial": info.get("cert_serial_number")},
        "trusted_timestamp": signed_time.isoformat() if signed_time else None,
        "ingredients": [i.get("title") for i in manifest.active.get("ingredients") or ()],
    }
    if key is not None:
        facts["signing_key"] = {"fingerprint": key.fingerprint, "status": key.status}
    if assertion is not None:
        facts["governance"] = dict(assertion)
    if entry is not None:
        facts["ledger"] = {"id": entry.id, "job_id": entry.job_id, "decision_id": entry.decision_id,
                           "request_id": entry.request_id, "signed_at": entry.signed_at.isoformat()}
    return facts


def verify(settings: Settings, source: bytes | str | Path, *,
           standing_checks: Sequence[StandingCheck] = (), recovery: softbinding.Recovery | None = None) -> Verdict:
    """One-shot verification of a file path or bytes (the API's entry point)."""
    verifier = Verifier(settings, standing_checks=standing_checks, recovery=recovery)
    if isinstance(source, (bytes, bytearray)):
        return verifier.verify_bytes(bytes(source))
    return verifier.verify_file(source)

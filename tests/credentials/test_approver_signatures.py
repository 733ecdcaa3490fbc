"""The approver signs, in their own name: each approval in a credential is a COSE_Sign1 by the
approver's identity certificate, checked with the studio identity CA alone."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import c2pa
import pytest
from cryptography.hazmat.primitives import serialization

from governance.audit.tables import AuditEntry
from governance.clock import utcnow
from governance.credentials import Issuer, Verifier, approvals, c2pa_config, manifest, pki
from governance.credentials import claim as claim_module
from governance.credentials.identities import IdentityStore, identity_anchors_path
from governance.credentials.keys import TRUST_ANCHORS
from governance.credentials.kit import KitEvidence, export_kit
from governance.errors import CredentialError
from governance.provenance.standing import standing_checks
from governance.settings import Settings

from .conftest import CLAIM, make_image

APPROVER = CLAIM["approver"]


def active_manifest(data: bytes, settings: Settings) -> dict[str, Any]:
    """The active manifest as c2pa reports it, read without the database."""
    anchors = (settings.keys_dir / TRUST_ANCHORS).read_text()
    context = c2pa_config.context(c2pa_config.reading_settings(anchors))
    reader = c2pa.Reader("image/png", io.BytesIO(data), context=context)
    with reader:
        store = json.loads(reader.json())
    found: dict[str, Any] = store["manifests"][store["active_manifest"]]
    return {**found, "label": store["active_manifest"]}


def test_an_approved_output_carries_an_approver_signature_that_verifies_with_the_identity_ca_alone(
        issuer: Issuer, verifier: Verifier, offline: Settings, claim: dict[str, Any]) -> None:
    out = issuer.sign(make_image(), claim)

    anchors = identity_anchors_path(offline.keys_dir).read_text()
    report = approvals.verify_approvals(active_manifest(out.data, offline), anchors, {})
    assert [(line.approver, line.status) for line in report.lines] == [(APPROVER, "valid")]
    assert report.required and report.check().ok
    assert report.lines[0].text().startswith(f"approved by {APPROVER} — own signature valid")
    # the identity CA is kept apart: not among the claim's trust anchors, and they do not vouch for a person
    claim_anchors = (offline.keys_dir / TRUST_ANCHORS).read_text()
    assert anchors.strip() not in claim_anchors
    wrong_ca = approvals.verify_approvals(active_manifest(out.data, offline), claim_anchors, {})
    assert [line.status for line in wrong_ca.lines] == ["invalid"]
    assert "not issued by the studio identity CA" in wrong_ca.lines[0].detail

    verdict = verifier.verify_bytes(out.data)
    assert verdict.outcome == "verified", verdict.summary
    assert verdict.approval.ok and verdict.to_dict()["checks"]["approval"]["status"] == "pass"


def test_editing_the_governance_assertion_breaks_the_approvers_signature(
        issuer: Issuer, verifier: Verifier, offline: Settings, claim: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An insider re-signs the same manifest (same label, Slate's own key, recorded in the
    ledger) with a governance assertion that says something else, keeping the approver's
    original signature: the claim is valid, the approval is not."""
    original = issuer.prepare(make_image(), claim)  # signed, never recorded: its label stays free
    approved = active_manifest(original.data, offline)
    kept = next(a for a in approved["assertions"] if a["label"] == approvals.APPROVALS_LABEL)
    monkeypatch.setattr(manifest, "new_label", lambda: approved["label"])
    monkeypatch.setattr(Issuer, "_approvals", lambda self, *args: [{"label": kept["label"], "data": kept["data"]}])
    edited = issuer.sign(make_image(seed=9), {**claim, "duties": ["Likeness waived"], "job_id": "JOB-0002"})

    verdict = verifier.verify_bytes(edited.data)
    assert verdict.integrity.ok and verdict.trust.ok and verdict.issuance.ok
    assert verdict.outcome == "unapproved" and not verdict.ok
    assert verdict.approval.reasons == (
        (f"approved by {APPROVER} — own signature invalid (the governance assertion changed after the approver "
        "signed it)"),)


def test_the_same_approval_over_other_pixels_is_invalid(
        issuer: Issuer, verifier: Verifier, offline: Settings, claim: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The insider keeps the label and the governance assertion and swaps the pixels: the
    claim and its hard binding are Slate's and valid, the approver's signature names other pixels."""
    original = issuer.prepare(make_image(), claim)
    approved = active_manifest(original.data, offline)
    kept = next(a for a in approved["assertions"] if a["label"] == approvals.APPROVALS_LABEL)
    monkeypatch.setattr(manifest, "new_label", lambda: approved["label"])
    monkeypatch.setattr(Issuer, "_approvals", lambda self, *args: [{"label": kept["label"], "data": kept["data"]}])
    swapped = issuer.sign(make_image(seed=99), claim)

    verdict = verifier.verify_bytes(swapped.data)
    assert verdict.integrity.ok and verdict.trust.ok and verdict.issuance.ok
    assert verdict.outcome == "unapproved"
    assert "the approver signed other pixels than this file's" in verdict.approval.reasons[0]
    # what the approver signed is the original file less its C2PA chunks: Slate's watermark and
    # XMP included, exactly the bytes c2pa was given
    signed_hashes = {entry["payload"]["image_sha256"] for entry in kept["data"]["approvals"]}
    assert signed_hashes == {approvals.unsigned_png_sha256(original.data)}


def test_an_approval_copied_into_another_manifest_or_with_altered_bytes_is_invalid(
        issuer: Issuer, offline: Settings, claim: dict[str, Any]) -> None:
    out = issuer.sign(make_image(), claim)
    found = active_manifest(out.data, offline)
    anchors = identity_anchors_path(offline.keys_dir).read_text()
    assert approvals.verify_approvals({**found, "label": "urn:c2pa:another"}, anchors, {}).lines[0].detail == \
        "the signature was made for another manifest"
    block = next(a for a in found["assertions"] if a["label"] == approvals.APPROVALS_LABEL)
    entry = block["data"]["approvals"][0]
    for changed in ({**entry, "payload": {**entry["payload"], "image_sha256": "0" * 64}},
                    {**entry, "cose_sign1": entry["cose_sign1"][:-8] + "AAAAAAA="},
                    {**entry, "cose_sign1": "not base64 at all!"}):
        assertions = [a for a in found["assertions"] if a["label"] != approvals.APPROVALS_LABEL]
        forged = {**found, "assertions": [*assertions, {"label": approvals.APPROVALS_LABEL,
                                                        "data": {"approvals": [changed]}}]}
        line = approvals.verify_approvals(forged, anchors, {}).lines[0]
        assert line.status == "invalid", line


def test_a_revoked_approver_certificate_yields_revoked_from_its_revocation_time_on(
        offline: Settings, claim: dict[str, Any]) -> None:
    with Issuer(offline) as issuer:
        before = issuer.sign(make_image(), claim)
        revoked_from = utcnow()
        after = issuer.sign(make_image(seed=5), claim)
        identities = IdentityStore(offline)
        serial = identities.current(APPROVER).serial  # type: ignore[union-attr]
        identities.revoke(APPROVER, "laptop stolen", at=revoked_from)
        key_file = offline.keys_dir / "identity" / "people" / f"{serial}.key.pem"
        assert not key_file.exists()  # the key is destroyed with the revocation
        with pytest.raises(CredentialError, match="was revoked"):
            issuer.sign(make_image(seed=6), claim)  # and no approval of theirs is signed again

    verifier = Verifier(offline)
    late = verifier.verify_bytes(after.data)
    assert late.outcome == "revoked" and not late.ok
    assert "own signature revoked" in late.approval.reasons[0] and "laptop stolen" in late.approval.reasons[0]
    early = verifier.verify_bytes(before.data)
    assert early.outcome == "verified", early.summary
    assert "revoked later" in early.approval.reasons[0]
    # offline, without any signing time, a revoked certificate counts for every approval
    anchors = identity_anchors_path(offline.keys_dir).read_text()
    revoked = {serial: (revoked_from, "laptop stolen")}
    assert approvals.verify_approvals(active_manifest(before.data, offline), anchors, revoked).lines[0].status == \
        "revoked"
    assert approvals.verify_approvals(active_manifest(before.data, offline), anchors, revoked,
                                      signed_at=revoked_from - timedelta(seconds=1)).lines[0].status == "valid"

    # an auditor outside the studio, with only an exported kit, judges both approvals alike
    kit = offline.data_dir.parent / "kit"
    export_kit(offline, kit, standing_checks())
    from_kit = Verifier(offline, evidence=KitEvidence.open(kit))
    for studio_verdict, data in ((late, after.data), (early, before.data)):
        offline_verdict = from_kit.verify_bytes(data)
        assert (offline_verdict.outcome, offline_verdict.approval) == (studio_verdict.outcome, studio_verdict.approval)


def test_an_approval_without_a_signature_fails_verification(
        issuer: Issuer, verifier: Verifier, claim: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        slate_cli: Any, tmp_path: Any) -> None:
    monkeypatch.setattr(Issuer, "_approvals", lambda self, *args: [])
    out = issuer.sign(make_image(), claim)

    verdict = verifier.verify_bytes(out.data)
    assert verdict.integrity.ok and verdict.trust.ok and verdict.issuance.ok and verdict.standing.ok
    assert verdict.outcome == "unapproved" and not verdict.ok
    assert verdict.approval.reasons == (
        f"approved by {APPROVER} — own signature missing (the credential carries no signature of theirs)",)
    path = tmp_path / "unsigned-approval.png"
    path.write_bytes(out.data)
    result = slate_cli("verify", str(path))
    assert result.exit_code == 1 and "UNAPPROVED" in result.output and "own signature missing" in result.output


def test_a_credential_from_before_approver_signatures_still_verifies_and_says_so(
        issuer: Issuer, verifier: Verifier, claim: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claim_module, "GOVERNANCE_SCHEMA", 4)
    monkeypatch.setattr(Issuer, "_approvals", lambda self, *args: [])
    out = issuer.sign(make_image(), claim)

    verdict = verifier.verify_bytes(out.data)
    assert verdict.outcome == "verified", verdict.summary
    assert verdict.approval.status == "not_checked"
    assert "credential from before approver signatures" in verdict.approval.reasons[0]


def test_a_decision_that_needed_no_approval_carries_no_approval_and_verifies(
        issuer: Issuer, verifier: Verifier, claim: dict[str, Any]) -> None:
    out = issuer.sign(make_image(), {**claim, "approver": None})
    verdict = verifier.verify_bytes(out.data)
    assert verdict.outcome == "verified" and verdict.approval.status == "not_checked"


def test_an_approver_who_is_not_an_enabled_approver_cannot_be_signed_for(
        issuer: Issuer, claim: dict[str, Any]) -> None:
    with pytest.raises(CredentialError, match="not an enabled approver"):
        issuer.sign(make_image(), {**claim, "approver": "someone-else"})


def test_no_private_key_appears_in_a_credential_a_repr_the_audit_log_or_the_identity_commands(
        issuer: Issuer, offline: Settings, claim: dict[str, Any], slate_cli: Any) -> None:
    out = issuer.sign(make_image(), claim)
    identities = IdentityStore(offline)
    info, signer = identities.signer_for(APPROVER)
    key = pki.read_key(offline.keys_dir / "identity" / "people" / f"{info.serial}.key.pem")
    secrets = [key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()),
               key.private_numbers().private_value.to_bytes(32, "big"),
               key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())]
    shown = [repr(signer), repr(info), json.dumps(info.to_dict(), default=str), repr(identities)]
    for args in (["identity", "list", "--json"], ["identity", "show", APPROVER], ["identity", "export-anchors"],
                 ["identity", "revoke", APPROVER, "--reason", "left the studio", "--json"]):
        result = slate_cli(*args)
        assert result.exit_code == 0, result.output
        shown.append(result.output)
    audit = "".join(str(e.data) for e in AuditEntry.select())
    for secret in secrets:
        assert secret not in out.data
        for text in [*shown, audit]:
            assert secret.decode("latin-1") not in text
    assert all("PRIVATE KEY" not in text for text in [*shown, audit])


def test_an_expired_identity_certificate_signs_no_approval(offline: Settings, claim: dict[str, Any]) -> None:
    with Issuer(offline) as issuer:
        assert issuer.sign(make_image(), claim).data  # enrols the approver on first need
    with Issuer(offline, clock=lambda: utcnow() + timedelta(days=800)) as later, \
            pytest.raises(CredentialError, match="expired"):
        later.sign(make_image(seed=3), claim)


@pytest.mark.parametrize("envelope", [
    b"", b"\x00", b"\x81" * 100_000 + b"\x00",  # deeply nested arrays
    b"\xd2\x84\x40\xa0\xf6\x40",  # a COSE_Sign1 tag around empty fields
    b"\xd2\x84\x43\xa1\x01\x26\xa0\xf6\x58\x40" + b"\x00" * 64,  # ES256, no certificate, a zero signature
    b"\xbf" * 5000,  # unterminated indefinite maps
])
def test_any_bytes_as_an_approval_signature_are_judged_invalid_never_raised(
        issuer: Issuer, offline: Settings, claim: dict[str, Any], envelope: bytes) -> None:
    import base64
    found = active_manifest(issuer.sign(make_image(), claim).data, offline)
    entry = next(a for a in found["assertions"] if a["label"] == approvals.APPROVALS_LABEL)["data"]["approvals"][0]
    forged = {**found, "assertions": [*[a for a in found["assertions"] if a["label"] != approvals.APPROVALS_LABEL],
                                      {"label": approvals.APPROVALS_LABEL, "data": {"approvals": [
                                          {**entry, "cose_sign1": base64.b64encode(envelope).decode()}]}}]}
    line = approvals.verify_approvals(forged, identity_anchors_path(offline.keys_dir).read_text(), {}).lines[0]
    assert line.status == "invalid", line

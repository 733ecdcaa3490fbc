"""The clearance report: the demo production's report against its golden file, Slate's
signature verified offline with the exported trust anchors (an edited report fails), a
takedown listed under issues with ``--fail-on-issues`` exiting non-zero, and the API's
access rules (a producer of another production learns nothing)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from governance.audit.trust import TrustAnchors
from governance.canonical import canonical_json
from governance.cli.report import ISSUES_EXIT
from governance.credentials.approvals import APPROVALS_LABEL
from governance.credentials.jumbf import stored_assertion
from governance.credentials.keys import KeyStore
from governance.errors import NotFound
from governance.ledger.tables import ManifestStore, Output
from governance.principal import Principal
from governance.provenance import clearance_report as clearance
from governance.registry.tables import Licence, Production
from tests.api.conftest import auth

GOLDEN = Path(__file__).parent / "golden" / "clearance_report_harbour_lights.json"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z$")


def normalised(report: dict) -> dict:
    """The report with what changes from run to run replaced, by name: output hashes (C2PA
    claims carry signing times) become output-N in report order; timestamps become <time>;
    calendar dates (the demo's terms start this year) become <date>."""
    names = {o["sha256"]: f"output-{i}" for i, o in enumerate(report["outputs"], 1)}

    def walk(value, key=None):
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str):
            if value in names:
                return names[value]
            if TIME.match(value):
                return "<time>"
            if DATE.match(value):
                return "<date>"
        return value
    return walk(report)


def test_demo_production_report_matches_the_golden_file(signed, app):
    signed_report = clearance.signed_clearance_report(app.config["SLATE_SETTINGS"], "harbour-lights", by=None)
    assert json.loads(signed_report.canonical) == signed_report.data  # one report, two forms
    assert signed_report.canonical == canonical_json(signed_report.data)
    got = normalised(signed_report.data["report"])
    if os.environ.get("SLATE_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text())
    # what the golden file pins, in words
    assert got["totals"] == {"outputs": 4, "in_good_standing": 4, "issues": 0, "people": 1, "licences": 3,
                             "models": 2}
    assert got["disclosure"]["depicting_real_people"] == ["output-3"]
    assert {a["signature"] for o in got["outputs"] for a in o["approvers"]} == {"valid"}
    # stamped by the TSA Slate signs credentials with (the embedded one here)
    assert signed_report.data["signature"]["timestamp"]


def test_signature_verifies_offline_with_exported_anchors_and_an_edited_report_fails(run, tmp_path):
    report_file, anchors = tmp_path / "clearance.json", tmp_path / "anchors.pem"
    made = run("report", "clearance", "--production", "harbour-lights", "--output", str(report_file))
    assert made.exit_code == 0, made.output
    assert run("keys", "export-anchors", "--output", str(anchors)).exit_code == 0
    ok = run("report", "verify", str(report_file), "--trust-anchors", str(anchors))
    assert ok.exit_code == 0 and ok.output.startswith("OK: the clearance report"), ok.output

    edited = json.loads(report_file.read_text())
    edited["report"]["totals"]["issues"] = 0
    edited["report"]["outputs"][0]["standing"] = "good"
    edited["report"]["disclosure"]["depicting_real_people"] = []
    tampered = tmp_path / "edited.json"
    tampered.write_text(json.dumps(edited))
    bad = run("report", "verify", str(tampered), "--trust-anchors", str(anchors))
    assert bad.exit_code == 1 and "does not verify: the report was altered" in bad.output


def test_the_reports_timestamp_stamps_its_signature_and_a_swapped_stamp_fails(signed, app):
    import base64

    from governance.credentials import tsa
    settings = app.config["SLATE_SETTINGS"]
    first = clearance.signed_clearance_report(settings, "harbour-lights", by=None).data
    anchors = TrustAnchors.in_keys_folder(settings.keys_dir)
    assert clearance.verify_report(first, anchors).ok
    signature = bytes.fromhex(first["signature"]["signature"])
    stamped_at = tsa.token_time(base64.b64decode(first["signature"]["timestamp"]), signature)
    assert abs((stamped_at - clearance._time(first["signature"]["signed_at"])).total_seconds()) < 5
    # another report's stamp moved onto this one (to claim an earlier or later time) is refused
    second = clearance.signed_clearance_report(settings, "harbour-lights", by=None).data
    swapped = {**first, "signature": {**first["signature"], "timestamp": second["signature"]["timestamp"]}}
    verdict = clearance.verify_report(swapped, anchors)
    assert not verdict.ok and "stamps other bytes" in verdict.problem
    garbled = {**first, "signature": {**first["signature"], "timestamp": "bm90IGEgdG9rZW4="}}
    assert not clearance.verify_report(garbled, anchors).ok


def test_a_report_signed_by_a_key_outside_the_trust_anchors_is_refused(signed, app, tmp_path):
    report = clearance.clearance_report("harbour-lights", by=None).to_dict()
    keys = KeyStore(app.config["SLATE_SETTINGS"])
    keys.ensure()
    signed_report = clearance.sign_report(report, keys.file_signer(keys.active_key())).data
    assert clearance.verify_report(signed_report, TrustAnchors.in_keys_folder(keys.dir)).ok
    other_ca = TrustAnchors.missing("an auditor holding no roots")
    verdict = clearance.verify_report(signed_report, other_ca)
    assert not verdict.ok and "cannot be trusted" in verdict.problem


def test_takedown_lists_the_affected_outputs_and_fail_on_issues_exits_non_zero(run, signed, tmp_path):
    clean = run("report", "clearance", "--production", "harbour-lights", "--fail-on-issues",
                "--output", str(tmp_path / "before.json"))
    assert clean.exit_code == 0, clean.output
    done = run("licence", "takedown", "LIC-NORTHLIGHT-PLATES", "--reason", "the archive withdrew the plates")
    assert done.exit_code == 0, done.output
    after = run("report", "clearance", "--production", "harbour-lights", "--fail-on-issues",
                "--output", str(tmp_path / "after.json"))
    assert after.exit_code == ISSUES_EXIT, after.output
    report = json.loads((tmp_path / "after.json").read_text())["report"]
    affected = {i["output"] for i in report["issues"]}
    assert affected == {signed.outputs["plate"]}
    issue = report["issues"][0]
    assert "LIC-NORTHLIGHT-PLATES was taken down: the archive withdrew the plates" in issue["problem"]
    assert "remove the output from the cut" in issue["action"]
    plate = next(o for o in report["outputs"] if o["sha256"] == signed.outputs["plate"])
    assert plate["standing"] == "not_in_good_standing" and plate["verdict"] == "not_in_good_standing"
    assert report["totals"]["in_good_standing"] == 3


def test_release_territory_a_licence_does_not_cover_is_an_issue_without_losing_standing(signed, app):
    Production.update(attributes={"release_territories": ["GB", "US"]}).where(
        Production.name == "harbour-lights").execute()
    Licence.update(territories=["GB"]).where(Licence.ref == "LIC-STUDIO-OWN").execute()
    report = clearance.signed_clearance_report(app.config["SLATE_SETTINGS"], "harbour-lights", by=None).data["report"]
    assert report["production"]["release_territories"] == ["GB", "US"]
    relying = {o["sha256"] for o in report["outputs"] if any(lic["ref"] == "LIC-STUDIO-OWN" for lic in o["licences"])}
    assert relying == {signed.outputs[n] for n in ("plain", "plate", "mara")}
    assert {i["output"] for i in report["issues"]} == relying
    assert {i["problem"] for i in report["issues"]} == {"licence LIC-STUDIO-OWN does not cover release territory US"}
    assert all(i["action"].startswith("legal extends the licence") for i in report["issues"])
    assert report["totals"]["in_good_standing"] == 4


def test_a_window_of_the_report_judges_its_outputs_as_the_whole_report_does(signed, app):
    Production.update(attributes={}).where(Production.name == "harbour-lights").execute()
    whole = clearance.clearance_report("harbour-lights", by=None).to_dict()
    for offset in range(len(whole["outputs"])):
        part = clearance.clearance_report("harbour-lights", by=None, window=(offset, 1)).to_dict()
        assert part["outputs"] == whole["outputs"][offset:offset + 1]
        assert part["production"] == whole["production"]
        shown = whole["outputs"][offset]["sha256"]
        assert part["issues"] == [i for i in whole["issues"] if i["output"] == shown]
    assert clearance.output_count("harbour-lights") == len(whole["outputs"]) == 4


def test_a_producer_of_another_production_is_told_it_does_not_exist(signed, client, app):
    outsider = Principal("nia", frozenset({"producer"}), frozenset({"northern-line"}))
    with pytest.raises(NotFound) as refused:
        clearance.clearance_report("harbour-lights", by=outsider)
    with pytest.raises(NotFound) as unknown:
        clearance.clearance_report("no-such-production", by=outsider)
    assert str(refused.value) == str(unknown.value).replace("no-such-production", "harbour-lights")


def test_api_answers_producers_of_the_production_and_legal_only(signed, client):
    from governance.auth.users import add_user, issue_token
    add_user("nia-producer", ["producer"], ["northern-line"])
    outsider = issue_token("nia-producer")["token"]
    own = client.get("/api/v1/productions/harbour-lights/clearance", headers=auth(signed.tokens["pat-producer"]))
    assert own.status_code == 200 and own.mimetype == "application/json"
    body = own.get_json()
    assert body["report"]["format"] == "slate-clearance-report/1" and body["signature"]["alg"] == "ES256"
    legal = client.get("/api/v1/productions/harbour-lights/clearance", headers=auth(signed.tokens["lee-legal"]))
    assert legal.status_code == 200
    other = client.get("/api/v1/productions/harbour-lights/clearance", headers=auth(outsider))
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert signed.outputs["plain"] not in other.get_data(as_text=True)
    worker = client.get("/api/v1/productions/harbour-lights/clearance", headers=auth(signed.tokens["gpu-worker"]))
    assert worker.status_code == 403
    bad = client.get("/api/v1/productions/harbour-lights/clearance?format=docx",
                     headers=auth(signed.tokens["lee-legal"]))
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_an_edited_governance_record_in_the_ledger_is_reported_not_delivered(signed, app):
    """Insider: someone with database access rewrites an output's governance record (say, to
    drop a sign-off). The claim's hash no longer matches: the report flags it for an audit."""
    sha = signed.outputs["mara"]
    row = Output.get(Output.sha256 == sha)
    edited = json.loads(row.claim_json)
    edited["signoffs"], edited["approver"] = [], None
    Output.update(claim_json=json.dumps(edited)).where(Output.id == row.id).execute()
    report = clearance.signed_clearance_report(app.config["SLATE_SETTINGS"], "harbour-lights", by=None).data["report"]
    line = next(o for o in report["outputs"] if o["sha256"] == sha)
    assert line["verdict"] == "record_altered"
    assert [i["problem"] for i in report["issues"]] == [
        "the ledger's governance record of this output was altered after signing"]


@pytest.mark.parametrize("garbled", ["{not json", "[1, 2, 3]", "null"])
def test_a_governance_record_garbled_in_the_ledger_is_reported_altered_not_a_failed_report(signed, app, garbled):
    sha = signed.outputs["plain"]
    Output.update(claim_json=garbled).where(Output.sha256 == sha).execute()
    report = clearance.signed_clearance_report(app.config["SLATE_SETTINGS"], "harbour-lights", by=None).data["report"]
    line = next(o for o in report["outputs"] if o["sha256"] == sha)
    assert line["verdict"] == "record_altered" and report["totals"]["outputs"] == 4


def test_a_timestamp_naming_another_time_never_moves_when_the_signer_is_judged(signed, app):
    """A stamp lives outside the signed body: one made up by anyone to name a time of their
    choosing (here 2001, before Slate's certificates existed) must not decide whether the
    signer's chain was valid; the signed signing time does."""
    import base64
    from datetime import datetime, timezone

    from governance.credentials import tsa
    settings = app.config["SLATE_SETTINGS"]
    report = clearance.signed_clearance_report(settings, "harbour-lights", by=None).data
    keys = KeyStore(settings)
    issued, chain = keys.tsa_credentials()
    then = tsa.TimeStampAuthority(issued.certificate, issued.private_key, chain,
                                  clock=lambda: datetime(2001, 1, 1, tzinfo=timezone.utc))
    signature = bytes.fromhex(report["signature"]["signature"])
    token = tsa.token_from_response(then.respond(tsa.timestamp_request(signature)), signature)
    assert tsa.token_time(token, signature).year == 2001
    restamped = {**report, "signature": {**report["signature"], "timestamp": base64.b64encode(token).decode()}}
    assert clearance.verify_report(restamped, TrustAnchors.in_keys_folder(settings.keys_dir)).ok


def test_approvals_are_read_from_the_kept_manifest_store_and_a_garbled_store_reads_as_none(signed):
    row = Output.get(Output.sha256 == signed.outputs["mara"])
    store = bytes(ManifestStore.get(ManifestStore.manifest_label == row.manifest_label).data)
    block = stored_assertion(store, row.manifest_label, APPROVALS_LABEL)
    assert [e["approver"] for e in block["approvals"]] == ["bea-approver"]
    assert stored_assertion(store, "urn:c2pa:someone-else", APPROVALS_LABEL) is None
    assert stored_assertion(store[:5000], row.manifest_label, APPROVALS_LABEL) is None
    assert stored_assertion(b"\x00\x00\x00\x01jumb" + b"\xff" * 8, row.manifest_label, APPROVALS_LABEL) is None


def test_a_cut_given_as_an_edl_scopes_the_report_and_renders_as_pdf_and_html(run, signed, tmp_path):
    """The whole path a delivery pipeline takes: an editor's CMX 3600 EDL of three clips, read
    with OpenTimelineIO, scopes the report to their outputs; the CLI writes the PDF (a real
    WeasyPrint document) and the API answers the same cut's report as HTML."""
    import pypdfium2

    from tests.provenance.test_timelines import edl
    plain, plate, mara = (signed.outputs[k] for k in ("plain", "plate", "mara"))
    cut = tmp_path / "harbour_v3.edl"
    cut.write_bytes(edl(("FILE", f"/renders/{plain}.png"), ("CLIP NAME", f"plate_{plate[:14]}_v2"),
                        ("FILE", f"/renders/{mara}.png")))
    as_json = tmp_path / "cut.json"
    made = run("report", "clearance", "--production", "harbour-lights", "--timeline", str(cut),
               "--output", str(as_json))
    assert made.exit_code == 0, made.output
    report = json.loads(as_json.read_text())["report"]
    assert report["scope"]["kind"] == "timeline" and report["scope"]["timeline"]["matched"] == 3
    assert sorted(o["sha256"] for o in report["outputs"]) == sorted([plain, plate, mara])
    as_pdf = tmp_path / "cut.pdf"
    made = run("report", "clearance", "--production", "harbour-lights", "--timeline", str(cut),
               "--format", "pdf", "--output", str(as_pdf))
    assert made.exit_code == 0, made.output
    pdf = pypdfium2.PdfDocument(str(as_pdf))
    first = pdf[0].get_textpage().get_text_range()
    assert "harbour-lights" in first and "Clearance report" in first
    page = signed.client.get("/api/v1/productions/harbour-lights/clearance?format=html",
                      headers=auth(signed.tokens["lee-legal"]))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert plain[:12] in page.get_data(as_text=True)

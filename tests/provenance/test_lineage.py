"""An output's lineage as JSON and as a picture: the whole chain, no prompt, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from governance import revocation
from governance.provenance.lineage import lineage
from governance.provenance.svg import lineage_svg
from governance.registry.tables import Asset
from tests.api.conftest import auth
from tests.policy.conftest import FILE_VERSION


def test_lineage_runs_from_rights_to_the_signed_output(signed):
    data = lineage(signed.outputs["plate"])
    assert data["output"]["sha256"] == signed.outputs["plate"]
    assert data["references"][0]["sha256"] == signed.plate
    assert data["references"][0]["licence"]["ref"] == "LIC-NORTHLIGHT-PLATES"
    assert data["training_set"]["name"] == "studio-style-v1"
    assert [lic["ref"] for lic in data["training_set"]["licences"]] == ["LIC-STUDIO-OWN"]
    assert data["model"]["ref"] == "slate-studio:1"
    assert data["decision"]["outcome"] == "needs_approval" and data["decision"]["policy"]["version"] == FILE_VERSION
    assert data["approval"]["approver"] == "ada-approver"
    assert data["standing"]["in_good_standing"]
    mara = lineage(signed.outputs["mara"])
    assert [c["person"] for c in mara["consents"]] == ["Mara Quinn"]


def test_lineage_never_carries_the_prompt(signed):
    text = str(lineage(signed.outputs["mara"]))
    assert "portrait on the quay" not in text and "prompt_sha256" in text


def test_picture_shows_the_chain_and_a_revocation(signed):
    mara = lineage(signed.outputs["mara"])
    revocation.revoke_consent(mara["consents"][0]["id"], "withdrawn")
    picture = lineage_svg(lineage(signed.outputs["mara"]))
    root = ET.fromstring(picture)
    words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for expected in ("Consent #", "REVOKED", "Training set studio-style-v1", "Model slate-studio:1",
                     "Approved by bea-approver", "NOT in good standing"):
        assert expected in words, expected
    assert "portrait" not in picture


def test_picture_escapes_every_text(signed):
    Asset.update(title='<script>alert("x")</script> & "quotes"').where(Asset.sha256 == signed.plate).execute()
    picture = lineage_svg(lineage(signed.outputs["plate"]))
    ET.fromstring(picture)  # well-formed
    assert "<script>" not in picture and "&lt;script&gt;" in picture


def test_api_serves_json_and_svg(signed):
    c, t = signed.client, signed.tokens
    sha = signed.outputs["plate"]
    as_json = c.get(f"/api/v1/provenance/outputs/{sha}/lineage", headers=auth(t["pat-producer"]))
    assert as_json.status_code == 200 and as_json.json["approval"]["approver"] == "ada-approver"
    picture = c.get(f"/api/v1/provenance/outputs/{sha}/lineage.svg", headers=auth(t["aud-auditor"]))
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    ET.fromstring(picture.data)
    missing = "/api/v1/provenance/outputs/" + "0" * 64 + "/lineage"
    assert c.get(missing, headers=auth(t["aud-auditor"])).status_code == 404
    assert c.get("/api/v1/provenance/outputs/nothex/lineage.svg", headers=auth(t["aud-auditor"])).status_code == 404


def test_picture_text_is_at_least_12_px_when_shown_at_its_own_size(signed):
    """The page shows the picture 1:1 (scrolled sideways, never shrunk to the column), so its
    text is as large on screen as the SVG says: 12 px or more."""
    root = ET.fromstring(lineage_svg(lineage(signed.outputs["mara"])))
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert root.get("viewBox") == f"0 0 {width:.0f} {height:.0f}"  # one SVG unit is one CSS pixel
    sizes = [float(t.get("font-size") or root.get("font-size") or 0)
             for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert sizes and min(sizes) >= 12
    css = (Path(__file__).resolve().parents[2] / "governance/web/static/slate.css").read_text()
    assert "figure.lineage img.full-size { max-width: none; }" in css

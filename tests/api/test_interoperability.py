"""Interoperability over the real API: an output carries the IPTC facts in XMP and never its
prompt; ``/verify`` reports the configured C2PA trust list's answer apart from Slate's."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from governance.credentials import xmp
from governance.settings import Settings
from tests.api.conftest import auth
from tests.api.test_flow import sign, studio, submit  # noqa: F401  (fixture)
from tests.conftest import C2PA_FIXTURES
from tests.credentials.test_c2pa_trust_list import FIXTURE_ROOT
from tests.credentials.test_interoperability import iptc_fields
from tests.credentials.test_signing import TRAINED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The studio's settings name a C2PA trust list holding the root of c2pa-rs's test chain."""
    return Settings.for_folder(tmp_path, c2pa_trust_list=FIXTURE_ROOT)


PROMPT = "a quiet harbour at dusk where a quillfeather lighthouse stands, wide shot"


def test_a_signed_output_names_its_model_in_xmp_and_holds_no_word_of_its_prompt(client, studio):  # noqa: F811
    t = studio.tokens
    created = submit(client, t["pat-producer"], prompt=PROMPT)
    assert created.status_code == 201, created.json
    job_id = created.json["job"]["id"]
    spec = client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(t["gpu-worker"]))
    assert "quillfeather" in spec.json["prompt"]  # the worker was given the prompt

    signed = sign(client, t["gpu-worker"], job_id)
    assert signed.status_code == 201, signed.json
    download = client.get(f"/api/v1/outputs/{signed.json['sha256']}/image", headers=auth(t["pat-producer"]))

    packet = xmp.read(download.data, "image/png")
    assert packet is not None
    assert iptc_fields(packet) == {"DigitalSourceType": TRAINED, "AISystemUsed": "slate-studio",
                                   "AISystemVersionUsed": "1"}
    for word in (b"quillfeather", b"lighthouse", b"harbour at dusk"):
        assert word not in download.data


def test_verify_reports_the_c2pa_trust_list_apart_from_slates_outcome(client, tokens):
    verdict = client.post("/api/v1/verify", headers=auth(tokens["auditor"]), content_type="multipart/form-data",
                          data={"file": (io.BytesIO((C2PA_FIXTURES / "C.jpg").read_bytes()), "C.jpg")})

    assert verdict.status_code == 200
    assert verdict.json["outcome"] == "untrusted"
    assert verdict.json["c2pa_trust_list"]["status"] == "pass"
    assert verdict.json["c2pa_trust_list"]["codes"] == ["signingCredential.trusted"]

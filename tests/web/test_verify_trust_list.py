"""The Verify page shows a configured C2PA trust list's answer apart from Slate's verdict."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from governance.settings import Settings
from tests.conftest import C2PA_FIXTURES
from tests.credentials.test_c2pa_trust_list import FIXTURE_ROOT


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_folder(tmp_path, c2pa_trust_list=FIXTURE_ROOT)


def test_the_verify_page_says_a_third_party_file_is_trusted_by_the_c2pa_trust_list(browser):
    auditor = browser("aud-auditor")
    auditor.get("/verify")

    response = auditor.post("/verify", {"file": (io.BytesIO((C2PA_FIXTURES / "C.jpg").read_bytes()), "C.jpg")},
                            content_type="multipart/form-data")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>C2PA trust list</strong>" in body
    assert "trusted by the C2PA trust list c2pa-rs-test-root.pem" in body
    assert "trusted by the C2PA trust list, but not issued by Slate" in body

"""The API answers a version's static-analysis warnings and its policy tests' coverage."""

from __future__ import annotations

import shutil
from typing import Any

from governance.policy import versions
from tests.policy.conftest import DEFAULT_POLICY, UID
from tests.policy.test_publish_warnings import DEMO_UID, demo_policy


def test_the_api_answers_the_warnings_with_the_version(client: Any, tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['legal']}"}
    added = client.post("/api/v1/policies", json={"text": demo_policy().decode()}, headers=headers)
    assert added.status_code == 201, added.json
    assert [w["rule"] for w in added.json["warnings"]] == ["approve-retired", "approved-and-retired"]
    shown = client.get(f"/api/v1/policies/{DEMO_UID}@1", headers=headers)
    assert shown.json["warnings"] == added.json["warnings"]


def test_the_api_reports_coverage_with_the_policy_tests(app: Any, client: Any, tokens: dict[str, str]) -> None:
    folder = app.config["SLATE_SETTINGS"].policies_dir
    folder.mkdir(parents=True, exist_ok=True)
    for name in (DEFAULT_POLICY.name, "studio-default.tests.yaml"):
        shutil.copy(DEFAULT_POLICY.with_name(name), folder / name)
    headers = {"Authorization": f"Bearer {tokens['legal']}"}
    client.post("/api/v1/policies", json={"text": DEFAULT_POLICY.read_text("utf-8")}, headers=headers)
    ran = client.post(f"/api/v1/policies/{UID}@{versions.get_version(UID).version}/tests", headers=headers)
    assert ran.status_code == 200, ran.json
    assert ran.json["failed"] == 0 and ran.json["coverage"]
    assert ran.json["uncovered"] == [r["rule"] for r in ran.json["coverage"] if not r["covered"]]

"""The static analysis runs where a version is proposed, published and shown: the domain
returns its warnings, the CLI prints them (the API: tests/api/test_policy_review.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from governance.cli import cli
from governance.policy import versions

from .conftest import DEFAULT_POLICY, write

DEMO_UID = "urn:slate:policy:analysis-demo"


def demo_policy(version: int = 1) -> bytes:
    """A policy with one rule that can never fire, one shadowed and one sound."""
    retired = {"leftOperand": "model.status", "operator": "eq", "rightOperand": "retired"}
    rules = [
        {"id": "deny-retired", "type": "prohibition", "title": "No retired model.", "target": "request",
         "constraint": retired},
        {"id": "approve-retired", "type": "approval", "title": "A retired model needs approval.",
         "target": "request", "constraint": retired},
        {"id": "approved-and-retired", "type": "prohibition", "title": "Cannot happen.", "target": "request",
         "when": {"leftOperand": "model.status", "operator": "eq", "rightOperand": "approved"},
         "constraint": retired},
    ]
    return json.dumps({"uid": DEMO_UID, "version": version, "title": "Analysis demo", "rules": rules}).encode()


def test_proposing_publishing_and_showing_a_version_return_its_warnings(db: Any) -> None:
    added = versions.add_version(demo_policy(), "alice", "demo")
    assert [(w["kind"], w["rule"], w["by"]) for w in added["warnings"]] == [
        ("shadowed", "approve-retired", "deny-retired"), ("never-fires", "approved-and-retired", None)]
    assert added["warnings"][1]["paths"] == ["model.status"]
    versions.approve_version(f"{DEMO_UID}@1", "bob")
    published = versions.publish_version(f"{DEMO_UID}@1", "bob")
    assert published["warnings"] == added["warnings"]
    assert versions.show_version(f"{DEMO_UID}@1")["warnings"] == added["warnings"]
    assert "warnings" not in versions.list_versions()[0]


def test_the_cli_prints_the_warnings_when_a_version_is_added(db: Any, tmp_path: Path) -> None:
    demo = write(tmp_path / "demo.yaml", demo_policy())
    env = {"SLATE_HOME": str(db.home), "SLATE_POLICIES_DIR": str(DEFAULT_POLICY.parent)}
    result = CliRunner().invoke(cli, ["policy", "add", str(demo), "--author", "alice"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 warning(s) from the static analysis:" in result.output
    assert ("  never-fires  approved-and-retired: Rule approved-and-retired can never fire: its when and "
            "constraint cannot both hold") in result.output
    shown = CliRunner().invoke(cli, ["policy", "show", f"{DEMO_UID}@1", "--json"], env=env)
    assert [w["kind"] for w in json.loads(shown.output)["warnings"]] == ["shadowed", "never-fires"]

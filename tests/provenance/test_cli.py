"""``slate provenance``: search with --json, lineage with --svg, the impact dry run, and the
revocation commands printing what they touched; bad input exits with the error's code."""

from __future__ import annotations

import json

import pytest

from governance.registry.tables import Model


def test_outputs_json_matches_the_function_layer(run, signed):
    result = run("provenance", "outputs", "--licence", "LIC-NORTHLIGHT-PLATES", "--json")
    assert result.exit_code == 0, result.output
    assert [i["sha256"] for i in json.loads(result.output)["items"]] == [signed.outputs["plate"]]
    text = run("provenance", "outputs", "--model", "slate-studio:1", "--limit", "1")
    assert text.exit_code == 0 and "more: --cursor" in text.output


@pytest.mark.parametrize("args, code, words", [
    (["--asset", "f" * 64], 3, "no asset"),
    (["--limit", "0"], 2, "page size"),
    (["--limit", "5000"], 2, "page size"),
    (["--since", "whenever"], 2, "not a time"),
    (["--cursor", "zz"], 2, "cursor"),
    (["--outcome", "perhaps"], 2, "outcome"),
])
def test_outputs_bad_input_exits_with_a_clear_error(run, args, code, words):
    result = run("provenance", "outputs", *args)
    assert result.exit_code == code and words in result.output


def test_lineage_writes_the_picture(run, signed, tmp_path):
    target = tmp_path / "lineage.svg"
    result = run("provenance", "lineage", signed.outputs["plate"], "--svg", str(target))
    assert result.exit_code == 0, result.output
    assert "approval  approved by ada-approver" in result.output
    assert target.read_text().startswith("<svg")


def test_impact_is_a_dry_run_and_takedown_prints_what_it_touched(run, signed):
    dry = run("provenance", "impact", "--licence", "LIC-STUDIO-OWN", "--json")
    assert dry.exit_code == 0 and json.loads(dry.output)["outputs"]["count"] == 3
    assert not Model.get(Model.name == "slate-studio").needs_retirement_review
    assert run("provenance", "impact").exit_code == 2
    assert run("provenance", "impact", "--consent", "999").exit_code == 3
    done = run("licence", "takedown", "LIC-STUDIO-OWN", "--reason", "expired deal")
    assert done.exit_code == 0, done.output
    assert "licence LIC-STUDIO-OWN touched" in done.output and "3 outputs marked" in done.output
    assert Model.get(Model.name == "slate-studio").needs_retirement_review


def test_reindex_is_idempotent(run):
    result = run("provenance", "reindex", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == {"indexed": 0}

"""Crash safety, quick: a real ``slate serve`` and ``slate worker`` (Redis queue) killed with
SIGKILL at random points under signing traffic, five times; the record stays whole. The
full run (50 kills) is part of ``bash scripts/reliability``."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.harness import REPO

pytestmark = pytest.mark.slow
pytest.importorskip("torch")
sys.path.insert(0, str(REPO / "reliability"))

import crash  # noqa: E402


def test_kills_lose_and_duplicate_no_signed_output(tmp_path, capsys):
    result = crash.run(kills=5, clients=3, seed=20261124, home=tmp_path)
    with capsys.disabled():
        print()
        crash.report(result)
    assert result["violations"] == 0, result["violation_list"]
    assert result["kills"] == 5 and result["server_kills"] >= 1
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["server_errors"] == 0
    assert result["outputs_received"] == result["requests"] == result["ledger_entries"] > 0
    assert result["signed_by_clients"] > 0 and result["signed_by_worker"] > 0

"""Replaying recorded requests under a new version before it is published."""

from __future__ import annotations

from datetime import date
from typing import Any

from governance.policy import requests, versions
from governance.policy.compiler import compile_bytes
from governance.policy.registry_facts import RequestSpec
from governance.policy.replay import replay
from tests.statements import counted

from .conftest import FILE_VERSION, NEXT_VERSION, policy_text


def decide(spec, *args):  # type: ignore[no-untyped-def]
    """Decide and record a request, as plain data (what these tests compare)."""
    return requests.decide_request(spec, *args).to_dict()


def submit(registry: dict[str, Any], prompt: str, people: list[str]) -> int:
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=registry["model"], prompt=prompt, references=[registry["reference"]],
                       people=people, date=date(2025, 6, 1))
    return int(decide(spec)["request"]["id"])


def test_replay_lists_flips_and_changed_reasons(registry: dict[str, Any]) -> None:
    flips = submit(registry, "a trawler at dawn, foggy", [])  # allowed under the current version
    same = submit(registry, "Maya at dawn", ["Maya Okafor"])  # needs approval under it
    untouched = submit(registry, "the harbour at night", [])

    def edit(text: str) -> str:  # the next version forbids "foggy" and drops the credit for training images
        text = text.replace("forbidden_terms: [nude,", "forbidden_terms: [foggy, nude,")
        return text[:text.index("  - id: credit-training-licensor")]
    new = compile_bytes(policy_text(NEXT_VERSION, edit=edit))
    report = replay(new)
    assert report.replayed == 3
    [flip] = report.flips
    assert (flip.request, flip.old, flip.new) == (flips, "allow", "deny")
    assert "violates prompt-forbidden-terms@request" in flip.added
    changed = {e.request for e in report.changed_reasons}
    assert changed == {same, untouched}
    assert all(any(r.startswith("duty credit-training-licensor") for r in e.removed) for e in report.changed_reasons)
    assert versions.active_version().version == FILE_VERSION  # replay publishes nothing
    assert "1 would flip" in report.render()


def test_replay_reads_the_recorded_decisions_in_a_fixed_number_of_queries(registry: dict[str, Any],
                                                                          monkeypatch: Any) -> None:
    for n in range(8):
        submit(registry, f"harbour study {n}", [])
    new = compile_bytes(policy_text(NEXT_VERSION))
    report, statements = counted(monkeypatch, lambda: replay(new))
    assert report.replayed == 8 and not report.flips
    assert len(statements) <= 3, statements  # decisions with versions; the shared training facts once

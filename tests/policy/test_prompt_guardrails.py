"""Prompt guardrails: forbidden terms, and registered people named without a likeness consent.
Evidence shows the matched term only, never the rest of the prompt."""

from __future__ import annotations

import json
from typing import Any, Callable

from governance.policy.compiler import CompiledPolicy
from governance.policy.facts import names_in_prompt, prompt_terms

from .conftest import consent, performer

Facts = Callable[..., dict[str, Any]]
SECRET_PROMPT = "Confidential scene: the villain Marlowe deepfake reveal at the lighthouse"


def test_forbidden_term_denies_showing_only_the_matched_term(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"prompt": SECRET_PROMPT}))
    [violation] = decision.violations
    assert violation.rule == "prompt-forbidden-terms"
    assert violation.evidence[0].found == ("deepfake",)
    shown = json.dumps(decision.to_dict())
    for word in ("villain", "marlowe", "lighthouse", "confidential"):
        assert word not in shown.lower()


def test_registered_name_in_prompt_without_consent_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"prompt": "Tom Reyes laughing on the quay"},
                                     performers=[performer("Tom Reyes", depicted=False)]))
    assert "prompt-names-person-without-likeness-consent" in decision.violated_rules
    finding = next(v for v in decision.violations if v.rule == "prompt-names-person-without-likeness-consent")
    assert finding.subject == "person:Tom Reyes"
    assert finding.evidence[0].path == "consent" and finding.evidence[0].found is None


def test_registered_name_with_likeness_consent_goes_to_approval_once_declared(engine: CompiledPolicy,
                                                                             facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"prompt": "maya okafor waving"},
                                     performers=[performer("Maya Okafor", consent(), depicted=True)]))
    assert decision.outcome == "needs_approval"
    assert decision.approval_rules == ["likeness-needs-approval"]


def test_registered_name_with_likeness_consent_not_declared_is_denied(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"prompt": "maya okafor waving"},
                                     performers=[performer("Maya Okafor", consent(), depicted=False)]))
    assert decision.violated_rules == ["prompt-names-declared"]


def test_names_match_whole_words_in_any_case() -> None:
    assert names_in_prompt("MAYA OKAFOR, at dawn", ["Maya Okafor", "Maya", "Okafor Jr"]) == ["Maya", "Maya Okafor"]
    assert names_in_prompt("Mayana at dawn", ["Maya"]) == []


def test_prompt_terms_are_lowercased_distinct_words() -> None:
    assert prompt_terms("Nude? NUDE! rock'n'roll, x-ray") == ["nude", "rock'n'roll", "x-ray"]

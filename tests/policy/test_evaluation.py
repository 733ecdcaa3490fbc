"""Evaluation is compiled once, deterministic, and the fast path agrees with the closures."""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable

import pytest

from governance.errors import PolicyError
from governance.policy.compiler import CompiledPolicy, compile_bytes
from governance.policy.testing import read_tests_file

from .conftest import DEFAULT_POLICY, consent, performer

Facts = Callable[..., dict[str, Any]]


def test_same_inputs_give_the_same_decision(engine: CompiledPolicy, facts: Facts) -> None:
    made = facts(performers=[performer("Maya Okafor", consent())])
    shuffled = {k: made[k] for k in reversed(list(made))}
    assert engine.evaluate(made) == engine.evaluate(copy.deepcopy(shuffled))
    assert engine.evaluate(made).to_dict() == engine.evaluate(made).to_dict()


def test_inputs_digest_changes_with_any_fact(engine: CompiledPolicy, facts: Facts) -> None:
    assert engine.evaluate(facts()).inputs.digest != engine.evaluate(facts(request={"id": "2"})).inputs.digest


def test_compiled_once_per_file_hash(policy_bytes: bytes) -> None:
    assert compile_bytes(policy_bytes) is compile_bytes(policy_bytes)


def _variants(facts: Facts) -> list[dict[str, Any]]:
    out = []
    tests = read_tests_file(DEFAULT_POLICY.with_name("studio-default.tests.yaml"))
    from governance.policy import facts as F
    from governance.policy.testing import merge
    out += [F.complete(merge(tests.base, case.get("facts") or {})) for case in tests.cases]
    for use, territory, day in itertools.product(["concept", "final_frame", "marketing"], ["GB", "US"],
                                                 ["2024-06-01", "2025-06-01", "2027-06-01"]):
        out.append(facts(request={"use": use, "territory": territory, "date": day},
                         performers=[performer("Maya Okafor", consent()),
                                     performer("Lily Chen", consent(guardian_signed=day > "2025"), minor=True)]))
    return out


def test_fast_path_agrees_with_the_reference_evaluator(engine: CompiledPolicy, facts: Facts) -> None:
    for made in _variants(facts):
        assert engine.evaluate(made) == engine.evaluate(made, interpreted=True)


def test_facts_of_the_wrong_shape_raise_a_policy_error_naming_the_fact(engine: CompiledPolicy, facts: Facts) -> None:
    broken = facts()
    broken["references"][0]["licence"]["grants"] = 5
    with pytest.raises(PolicyError) as caught:
        engine.evaluate(broken)
    assert "licence.grants holds a int" in caught.value.message


def test_a_date_of_the_wrong_kind_fails_its_requirement(engine: CompiledPolicy, facts: Facts) -> None:
    odd = facts()
    odd["references"][0]["licence"]["starts_on"] = 20250101
    assert engine.evaluate(odd).violated_rules == ["licence-in-term"]

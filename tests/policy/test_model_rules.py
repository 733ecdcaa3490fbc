"""Model status: approved, and not retired."""

from __future__ import annotations

from typing import Any, Callable

from governance.policy.compiler import CompiledPolicy

Facts = Callable[..., dict[str, Any]]


def test_unapproved_model_denies_with_its_status(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(model={"status": "registered"}))
    [violation] = decision.violations
    assert (violation.rule, violation.subject) == ("model-approved", "request")
    assert violation.evidence[0].to_dict() == {"path": "model.status", "operator": "eq", "found": "registered",
                                               "required": "approved", "result": False}


def test_retired_model_denies_once(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(model={"status": "retired"}))
    assert decision.violated_rules == ["model-not-retired"]


def test_model_without_training_set_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(model={"training_set_root": None}, training_assets=[]))
    assert decision.violated_rules == ["model-training-set-recorded"]

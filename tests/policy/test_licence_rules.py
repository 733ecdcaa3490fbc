"""Licence scope of every reference image and of every training-set member of the model."""

from __future__ import annotations

from typing import Any, Callable

from governance.policy.compiler import CompiledPolicy

from .conftest import asset, credit_licence, open_licence

Facts = Callable[..., dict[str, Any]]


def violated(decision: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in decision.violations:
        out.setdefault(v.rule, []).append(v.subject)
    return out


def test_reference_without_ai_reference_grant_denies_naming_the_asset(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(references=[asset(1, open_licence()), asset(9, open_licence(grants=["concept"]))]))
    assert violated(decision) == {"reference-ai-reference-granted": [f"asset:{9:064x}"]}
    evidence = decision.violations[0].evidence[0]
    assert (evidence.path, evidence.operator, evidence.found, evidence.required) == \
        ("licence.grants", "hasPart", ("concept",), "ai_reference")


def test_unlicensed_reference_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(references=[asset(5, None)]))
    assert violated(decision) == {"reference-licensed": [f"asset:{5:064x}"]}


def test_reference_licence_not_covering_final_frame_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"use": "final_frame"}, training_assets=[]))
    assert violated(decision) == {"licence-output-use-granted": [f"asset:{2:064x}"]}
    assert decision.violations[0].evidence[0].required_from == "request.use"


def test_reference_licence_outside_its_term_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"date": "2027-01-15"}, training_assets=[]))
    assert violated(decision) == {"licence-in-term": [f"asset:{2:064x}"]}
    # both alternatives of "perpetual, or ends on or after the request date" failed
    assert [(e.path, e.operator, e.found, e.required) for e in decision.violations[0].evidence] == [
        ("licence.ends_on", "exists", "2026-12-31", False),
        ("licence.ends_on", "gteq", "2026-12-31", "2027-01-15")]


def test_reference_licence_outside_its_territory_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"territory": "FR"}, training_assets=[]))
    assert violated(decision) == {"licence-territory": [f"asset:{2:064x}"]}


def test_reference_under_takedown_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(references=[asset(1, open_licence(takedown=True))]))
    assert violated(decision) == {"licence-not-taken-down": [f"asset:{1:064x}"]}


def test_training_asset_without_ai_training_grant_denies(engine: CompiledPolicy, facts: Facts) -> None:
    no_training = open_licence(grants=["ai_reference", "concept"])
    decision = engine.evaluate(facts(training_assets=[asset(3, open_licence()), asset(8, no_training)]))
    assert violated(decision) == {"training-ai-training-granted": [f"asset:{8:064x}"]}
    assert decision.to_dict()["inputs"]["records"]["licences"] == [{"id": "11", "version": 1},
                                                                   {"id": "12", "version": 2}]


def test_training_asset_under_takedown_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(training_assets=[asset(4, credit_licence(takedown=True))]))
    assert violated(decision) == {"licence-not-taken-down": [f"asset:{4:064x}"]}


def test_training_licence_not_covering_marketing_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"use": "marketing"}, references=[]))
    assert violated(decision) == {"licence-output-use-granted": [f"asset:{4:064x}"]}

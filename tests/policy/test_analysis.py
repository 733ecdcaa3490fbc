"""The static analysis legal sees on publish: rules that never fire, rules shadowed by others,
constraints that always hold. Every warning must be true; the studio policy's one is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from governance.policy.analysis import PolicyWarning, analyse
from governance.policy.document import AllOf, Leaf, Not
from governance.policy.loader import load_policy

from .conftest import DEFAULT_POLICY


def leaf(left: str, operator: str, right: Any = None, ref: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"leftOperand": left, "operator": operator}
    if ref is not None:
        out["rightOperandReference"] = ref
    else:
        out["rightOperand"] = right
    return out


def rule(rule_id: str, constraint: dict[str, Any], *, kind: str = "prohibition", target: str = "request",
         when: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {"id": rule_id, "type": kind, "title": f"Rule {rule_id}.", "target": target, "constraint": constraint}
    if when is not None:
        out["when"] = when
    return out


def warnings(*rules: dict[str, Any], duties: list[dict[str, Any]] | None = None) -> list[PolicyWarning]:
    doc: dict[str, Any] = {"uid": "urn:slate:policy:analysis-test", "version": 1, "title": "Analysis test",
                           "rules": list(rules)}
    if duties:
        doc["duties"] = duties
    return analyse(load_policy(json.dumps(doc).encode(), "analysis-test"))  # JSON: no YAML anchors


def kinds(found: list[PolicyWarning]) -> list[tuple[str, str]]:
    return [(w.kind, w.rule) for w in found]


RETIRED = leaf("model.status", "eq", "retired")


def test_the_studio_default_policy_gets_only_its_one_true_warning() -> None:
    # consent-confirmed fires only where a person has no consent Slate counts, and there
    # consent-on-file fires too: it is kept on purpose, to tell legal *why* (a pending consent)
    found = analyse(load_policy(DEFAULT_POLICY.read_bytes(), str(DEFAULT_POLICY)))
    assert [(w.kind, w.rule, w.by) for w in found] == [("shadowed", "consent-confirmed", "consent-on-file")]
    assert found[0].paths == ("consent", "performer.consent_pending")


def test_a_rule_whose_when_and_constraint_name_two_values_of_one_field_never_fires() -> None:
    [w] = warnings(rule("r", RETIRED, when=leaf("model.status", "eq", "approved")))
    assert (w.kind, w.rule, w.paths) == ("never-fires", "r", ("model.status",))
    assert w.message == ("Rule r can never fire: its when and constraint cannot both hold (no value of "
                         "model.status meets all of: model.status eq 'approved'; model.status eq 'retired').")


def test_eq_and_neq_of_the_same_value_never_fire_together() -> None:
    found = warnings(rule("r", {"and": [RETIRED, leaf("model.status", "neq", "retired")]}))
    assert kinds(found) == [("never-fires", "r")]


def test_exists_false_and_a_comparison_on_that_path_or_a_field_of_it_never_fire() -> None:
    found = warnings(
        rule("same-path", leaf("consent.uses", "hasPart", "likeness"), target="performer",
             when=leaf("consent.uses", "exists", False)),
        rule("field-of-absent", leaf("consent.uses", "hasPart", "likeness"), target="performer",
             when=leaf("consent", "exists", False)))
    assert kinds(found) == [("never-fires", "same-path"), ("never-fires", "field-of-absent")]
    assert "consent.uses is read where consent is absent" in found[1].message


def test_date_ranges_that_cannot_meet_never_fire() -> None:
    found = warnings(rule("r", {"and": [leaf("request.date", "before", "2025-01-01"),
                                        leaf("request.date", "gteq", "2025-06-01")]}))
    assert kinds(found) == [("never-fires", "r")]
    touching = warnings(rule("ok", {"and": [leaf("request.date", "lteq", "2025-01-01"),
                                            leaf("request.date", "gteq", "2025-01-01")]}))
    assert touching == []


def test_a_use_outside_the_closed_vocabulary_never_fires() -> None:
    found = warnings(rule("r", leaf("request.use", "isAnyOf", ["trailer", "poster"]), kind="approval"))
    assert kinds(found) == [("never-fires", "r")]
    assert "request.use is always one of concept, previs, final_frame, marketing" in found[0].message


def test_a_requirement_never_violated_when_every_alternative_is_required() -> None:
    found = warnings(rule("r", {"or": [RETIRED, {"not": RETIRED}]}, kind="requirement"))
    assert kinds(found) == [("always-true", "r")]
    assert found[0].message.startswith("The constraint of r holds for every request (")
    assert found[0].message.endswith(", so the requirement is never violated.")


def test_exists_true_on_a_field_always_set_always_holds_wherever_it_is() -> None:
    found = warnings(rule("r", {"and": [leaf("request.prompt_terms", "exists", True),
                                        leaf("request.prompt_terms", "hasAnyOf", ["gore"])]}))
    assert kinds(found) == [("always-true", "r")]
    assert found[0].message.startswith("Part constraint.and[0] of r holds for every request")
    assert found[0].paths == ("request.prompt_terms",)


def test_a_duty_whose_when_cannot_hold_is_never_due() -> None:
    duty = {"id": "credit", "action": "attribute", "title": "Credit.", "target": "reference",
            "when": {"and": [leaf("licence.attribution_required", "eq", True),
                             leaf("licence.attribution_required", "eq", False)]},
            "creditFrom": "licence.credit_text"}
    found = warnings(rule("r", RETIRED), duties=[duty])
    assert kinds(found) == [("never-fires", "credit")] and found[0].message.startswith("Duty credit is never due")


def test_an_approval_implied_by_a_prohibition_is_shadowed() -> None:
    found = warnings(rule("deny-retired", RETIRED),
                     rule("approve-old", {"or": [RETIRED, leaf("model.status", "eq", "legacy")]},
                          kind="approval", when=RETIRED))
    assert [(w.kind, w.rule, w.by) for w in found] == [("shadowed", "approve-old", "deny-retired")]
    assert "(a denial outranks an approval)" in found[0].message


def test_of_two_identical_rules_the_later_is_shadowed() -> None:
    found = warnings(rule("first", RETIRED), rule("second", RETIRED))
    assert [(w.kind, w.rule, w.by) for w in found] == [("shadowed", "second", "first")]


def test_a_prohibition_is_not_shadowed_by_an_approval_nor_an_approval_by_a_different_one() -> None:
    found = warnings(rule("deny", RETIRED), rule("approve", RETIRED, kind="approval"))
    assert [(w.rule, w.by) for w in found] == [("approve", "deny")]  # never the other way round
    # two approvals may ask different people to sign off: only identical ones shadow
    assert warnings(rule("a", RETIRED, kind="approval"),
                    rule("b", {"or": [RETIRED, leaf("model.status", "eq", "x")]}, kind="approval")) == []


def test_rules_on_different_targets_do_not_shadow_each_other() -> None:
    grants = leaf("licence.takedown", "eq", True)
    assert warnings(rule("ref", grants, target="reference"), rule("train", grants, target="training_asset")) == []


def test_neq_is_not_the_negation_of_eq_so_no_false_warning() -> None:
    # both are false when the model is absent: the requirement can still be violated
    assert warnings(rule("r", {"or": [RETIRED, leaf("model.status", "neq", "retired")]}, kind="requirement")) == []


def test_comparisons_with_values_from_the_facts_give_no_false_warning() -> None:
    assert warnings(rule("r", {"and": [leaf("request.date", "gteq", ref="request.date"),
                                       leaf("request.date", "lt", "2025-01-01")]})) == []


def test_a_node_the_analysis_does_not_know_is_opaque() -> None:
    from governance.policy import analysis

    @dataclass(frozen=True)
    class Quantified:  # stands in for the quantifier nodes to come
        over: str

    every, other = Quantified("performers"), Quantified("references")
    a, b = Leaf("model.status", "eq", "a"), Leaf("model.status", "eq", "b")
    assert analysis._unsatisfiable(AllOf((a, b))) is not None
    assert analysis._unsatisfiable(AllOf((a, every))) is None  # type: ignore[arg-type]
    assert analysis._unsatisfiable(AllOf((every, Not(other)))) is None  # type: ignore[arg-type]
    assert analysis._unsatisfiable(Not(every), positive=False) is None  # type: ignore[arg-type]
    # the very same node both holding and failing is a contradiction, whatever it means
    assert analysis._unsatisfiable(AllOf((a, every, Not(every)))) is not None  # type: ignore[arg-type]


# --- soundness: no warning is ever contradicted by facts -----------------------------------

_VALUES: dict[str, list[Any]] = {
    "model.status": ["approved", "retired", "legacy", 1, True],
    "model": [None],
    "request.date": ["2025-01-01", "2025-06-01", "2026-01-01", 3],
    "request.use": ["concept", "final_frame", "trailer"],
    "request.prompt_terms": [["gore"], ["harbour", "gore"], []],
}
_OPERATORS = ["eq", "neq", "isAnyOf", "isNoneOf", "exists", "lt", "lteq", "gt", "gteq", "before", "after",
              "hasPart", "hasAnyOf"]


def _random_leaf(rng: Any) -> Leaf:
    path = rng.choice(list(_VALUES))
    operator = rng.choice(_OPERATORS)
    value = rng.choice(_VALUES[path])
    if operator == "exists":
        return Leaf(path, operator, rng.choice([True, False]))
    if operator in ("isAnyOf", "isNoneOf", "hasAnyOf"):
        picked = rng.sample(_VALUES[path], k=min(2, len(_VALUES[path])))
        return Leaf(path, operator, tuple(v for v in picked if not isinstance(v, list) and v is not None) or ("x",))
    if rng.random() < 0.1:
        return Leaf(path, operator, None, "request.date")
    return Leaf(path, operator, tuple(value) if isinstance(value, list) else value)


def _random_constraint(rng: Any, depth: int = 0) -> Any:
    from governance.policy.document import AnyOf
    if depth >= 3 or rng.random() < 0.4:
        return _random_leaf(rng)
    roll = rng.random()
    if roll < 0.2:
        return Not(_random_constraint(rng, depth + 1))
    items = tuple(_random_constraint(rng, depth + 1) for _ in range(rng.randint(1, 3)))
    return AllOf(items) if roll < 0.6 else AnyOf(items)


def _all_facts() -> list[dict[str, Any]]:
    from itertools import product as every
    out = []
    for status, date, use, terms, has_model in every(
            ["approved", "retired", "legacy", None, 1, True], ["2025-01-01", "2025-06-01", "2026-01-01", None],
            ["concept", "final_frame", None], [["gore"], [], ["harbour"]], [True, False]):
        model = {"status": status} if has_model else None
        out.append({"request": {"date": date, "use": use, "prompt_terms": terms}, "model": model})
    return out


def test_no_warning_is_contradicted_by_any_facts_of_a_small_world() -> None:
    import random

    from governance.errors import PolicyError
    from governance.policy import analysis
    from governance.policy.compiler import compile_constraint

    def outcomes(test: Any, world: list[dict[str, Any]]) -> set[bool]:
        seen = set()
        for f in world:
            try:
                seen.add(test(f, None))
            except PolicyError:  # a comparison the facts cannot make: the request is refused anyway
                pass
        return seen

    rng, world, claimed = random.Random(15), _all_facts(), 0
    for _ in range(3000):
        constraint = _random_constraint(rng)
        test = compile_constraint(constraint).test
        seen = outcomes(test, world)
        if analysis._unsatisfiable(constraint) is not None:
            claimed += 1
            assert True not in seen, constraint
        if analysis._unsatisfiable(constraint, positive=False) is not None:
            claimed += 1
            assert False not in seen, constraint
    assert claimed > 100  # the analysis did claim things, and every claim held

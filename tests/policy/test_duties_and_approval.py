"""Duties travel with permitted requests; approval rules route to a human; deny wins."""

from __future__ import annotations

from typing import Any, Callable

from governance.policy.compiler import CompiledPolicy

from .conftest import FILE_VERSION, consent, performer

Facts = Callable[..., dict[str, Any]]


def test_allow_carries_credit_duties_for_licences_requiring_attribution(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts())
    assert decision.outcome == "allow"
    assert [(d.rule, d.action, d.subject, d.text) for d in decision.duties] == [
        ("credit-reference-licensor", "attribute", f"asset:{2:064x}", "Courtesy of Harbour Archive Ltd"),
        ("credit-training-licensor", "attribute", f"asset:{4:064x}", "Courtesy of Harbour Archive Ltd"),
    ]
    assert decision.credits == ["Courtesy of Harbour Archive Ltd"]


def test_decision_cites_policy_uid_version_and_file_hash(engine: CompiledPolicy, facts: Facts,
                                                         policy_bytes: bytes) -> None:
    import hashlib
    policy = engine.evaluate(facts()).to_dict()["policy"]
    assert policy == {"uid": "urn:slate:policy:studio-default", "version": FILE_VERSION,
                      "sha256": hashlib.sha256(policy_bytes).hexdigest()}


def test_likeness_use_needs_approval_naming_the_rule_and_person(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(performers=[performer("Maya Okafor", consent())]))
    assert decision.outcome == "needs_approval"
    [approval] = decision.approvals
    assert (approval.rule, approval.subject) == ("likeness-needs-approval", "person:Maya Okafor")


def test_final_frame_use_needs_approval(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"use": "final_frame"}, references=[], training_assets=[]))
    assert decision.outcome == "needs_approval"
    assert decision.approval_rules == ["final-and-marketing-need-approval", "final-and-marketing-need-legal"]
    assert [a.approvers.roles for a in decision.approvals] == [("approver",), ("legal",)]  # type: ignore[union-attr]


def test_a_violation_denies_even_when_approval_would_be_needed(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(model={"status": "registered"},
                                     performers=[performer("Maya Okafor", consent())]))
    assert decision.outcome == "deny"
    assert decision.approval_rules == ["likeness-needs-approval"]

"""Performer consent: granted, for this use, production, territory, period; not revoked;
a guardian's signature for minors."""

from __future__ import annotations

from typing import Any, Callable

from governance.policy.compiler import CompiledPolicy

from .conftest import consent, performer

Facts = Callable[..., dict[str, Any]]


def only_violation(decision: Any) -> Any:
    assert decision.outcome == "deny"
    [violation] = decision.violations
    return violation


def test_expired_consent_denies_with_evidence(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"date": "2027-02-01"}, references=[], training_assets=[],
                                     performers=[performer("Maya Okafor", consent())]))
    violation = only_violation(decision)
    assert (violation.rule, violation.subject) == ("consent-in-period", "person:Maya Okafor")
    [evidence] = violation.evidence
    assert evidence.to_dict() == {"path": "consent.valid_until", "operator": "gteq", "found": "2026-12-31",
                                  "required": "2027-02-01", "required_from": "request.date", "result": False}
    assert decision.to_dict()["inputs"]["records"]["consents"] == [{"id": "31", "version": 1}]


def test_revoked_consent_denies_naming_the_performer(engine: CompiledPolicy, facts: Facts) -> None:
    revoked = consent(revoked=True, revoked_at="2025-05-01T00:00:00Z", version=2)
    violation = only_violation(engine.evaluate(facts(performers=[performer("Maya Okafor", revoked)])))
    assert violation.rule == "consent-not-revoked"
    assert violation.evidence[0].found is True


def test_missing_consent_denies(engine: CompiledPolicy, facts: Facts) -> None:
    violation = only_violation(engine.evaluate(facts(performers=[performer("Tom Reyes")])))
    assert violation.rule == "consent-on-file"
    assert violation.evidence[0].found is None


def test_consent_for_voice_only_does_not_cover_likeness(engine: CompiledPolicy, facts: Facts) -> None:
    violation = only_violation(engine.evaluate(facts(performers=[performer("Maya Okafor", consent(uses=["voice"]))])))
    assert violation.rule == "consent-covers-likeness"
    assert violation.evidence[0].found == ("voice",)
    assert violation.evidence[0].required == "likeness"


def test_consent_for_another_production_denies_with_both_alternatives(engine: CompiledPolicy, facts: Facts) -> None:
    other = consent(productions=["night-ferry"])
    decision = engine.evaluate(facts(performers=[performer("Maya Okafor", other)]))
    assert [v.rule for v in decision.violations] == ["consent-covers-production", "replica-consent-names-project"]
    violation = decision.violations[0]
    assert [e.required for e in violation.evidence] == ["harbour-lights", "*"]


def test_consent_outside_the_territory_denies(engine: CompiledPolicy, facts: Facts) -> None:
    decision = engine.evaluate(facts(request={"territory": "US"}, references=[], training_assets=[],
                                     performers=[performer("Maya Okafor", consent())]))
    violation = only_violation(decision)
    assert violation.rule == "consent-covers-territory"
    assert violation.evidence[0].found == ("GB", "IE")


def test_minor_without_guardian_signature_denies(engine: CompiledPolicy, facts: Facts) -> None:
    violation = only_violation(engine.evaluate(facts(performers=[performer("Lily Chen", consent(), minor=True)])))
    assert violation.rule == "minor-guardian-signature"
    assert violation.evidence[0].to_dict()["found"] is False


def test_current_consent_is_chosen_over_an_expired_one(engine: CompiledPolicy, facts: Facts) -> None:
    expired = consent(id="30", valid_from="2023-01-01", valid_until="2024-01-01")
    decision = engine.evaluate(facts(performers=[performer("Maya Okafor", expired, consent())]))
    assert decision.outcome == "needs_approval"
    assert decision.to_dict()["inputs"]["records"]["consents"] == [{"id": "31", "version": 1}]

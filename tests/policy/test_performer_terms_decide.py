"""Performers' terms decided through the registry (studio policy v7): each replica rule refuses
a real request with evidence, and a consent that meets them all goes to the approver."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from governance.policy import requests
from governance.policy.registry_facts import RequestSpec
from governance.policy.tables import DecisionRecord
from governance.registry import people, performer_terms
from governance.registry.performer_terms import description_sha256
from tests import rights

DESCRIPTION = "Ada Moss's likeness as the lighthouse keeper in concept frames of harbour-lights."


def decide(registry: dict[str, Any], person: str) -> dict[str, Any]:
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=registry["model"], prompt="a keeper on the quay at dawn",
                       references=[registry["reference"]], people=[person], date=date(2025, 6, 1))
    return requests.decide_request(spec).to_dict()["decision"]


def ada(db: Any, **terms: Any) -> dict[str, Any]:
    """Ada Moss with one confirmed likeness consent for harbour-lights; the terms as given."""
    if not any(p["name"] == "Ada Moss" for p in people.list_people()):
        people.add_person("Ada Moss")
    values = {"replica_type": "employment_based", "use_description": DESCRIPTION,
              "notice_given_at": datetime(2025, 5, 1, 9, 0, tzinfo=timezone.utc),
              "productions": ["harbour-lights"]} | terms
    return rights.grant_consent(db, "Ada Moss", uses=["likeness"], territories=["GB"], valid_from=date(2025, 1, 1),
                                valid_until=date(2025, 12, 31), **values)


def rules(decision: dict[str, Any]) -> list[str]:
    return [v["rule"] for v in decision["violations"]]


def test_a_consent_with_every_term_goes_to_the_approver_with_the_description_hashed_into_the_decision(
        db: Any, registry: dict[str, Any]) -> None:
    ada(db)
    decision = decide(registry, "Ada Moss")
    assert decision["decision"] == "needs_approval" and decision["violations"] == []
    facts = DecisionRecord.get_by_id(decision["id"]).facts
    [performer] = facts["performers"]
    assert performer["consent"]["use_description_sha256"] == description_sha256(DESCRIPTION)
    assert DESCRIPTION not in str(facts)  # the words stay on the consent; the decision carries their hash
    assert performer["consent"]["notice_hours"] == 30 * 24 + 15  # 1 May 09:00 to 1 June 00:00
    assert performer["consent"]["covers_project_explicitly"] is True


def test_a_consent_for_every_production_does_not_renew_a_replica_for_this_one(
        db: Any, registry: dict[str, Any]) -> None:
    ada(db, productions=["*"])
    decision = decide(registry, "Ada Moss")
    assert rules(decision) == ["replica-consent-names-project"]
    [evidence] = decision["violations"][0]["evidence"]
    assert (evidence["path"], evidence["found"]) == ("consent.covers_project_explicitly", False)


def test_notice_under_48_hours_is_refused_with_the_hours_as_evidence(db: Any, registry: dict[str, Any]) -> None:
    ada(db, notice_given_at=datetime(2025, 5, 30, 12, 0, tzinfo=timezone.utc))
    decision = decide(registry, "Ada Moss")
    assert rules(decision) == ["replica-notice-given"]
    [evidence] = decision["violations"][0]["evidence"]
    assert (evidence["path"], evidence["found"], evidence["required"]) == ("consent.notice_hours", 36, 48)


def test_a_consent_without_replica_type_description_or_notice_is_refused_for_each(
        db: Any, registry: dict[str, Any]) -> None:
    ada(db, replica_type=None, use_description=None, notice_given_at=None)
    assert rules(decide(registry, "Ada Moss")) == ["replica-type-recorded", "replica-use-described",
                                                   "replica-notice-given"]


def test_a_deceased_performer_needs_the_estates_consent(db: Any, registry: dict[str, Any]) -> None:
    ada(db)
    performer_terms.record_death("Ada Moss", date(2025, 3, 1), by=rights.LEE)
    assert rules(decide(registry, "Ada Moss")) == ["deceased-performer-estate-consent"]
    estate = ada(db, estate_consent=True, estate_representative="Moss Family Estate")
    assert estate["status"] == "confirmed" and estate["confirmed_by"] == rights.LOU.name  # four eyes
    decision = decide(registry, "Ada Moss")
    assert decision["decision"] == "needs_approval" and decision["violations"] == []
    assert decision["inputs"]["records"]["consents"] == [{"id": str(estate["id"]), "version": 2}]


def test_of_a_blanket_consent_and_one_naming_the_production_the_named_one_is_judged(
        db: Any, registry: dict[str, Any]) -> None:
    named = ada(db)
    ada(db, productions=["*"])  # recorded later: a tie on every other check would pick it
    decision = decide(registry, "Ada Moss")
    assert decision["decision"] == "needs_approval" and decision["violations"] == []
    assert decision["inputs"]["records"]["consents"] == [{"id": str(named["id"]), "version": 2}]

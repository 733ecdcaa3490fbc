"""Submitting requests through the registry: stored with their decision; bad names are errors."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from governance.errors import InvalidInput, NotFound
from governance.policy import requests
from governance.policy.registry_facts import RequestSpec
from governance.policy.tables import DecisionRecord, GenerationRequest

from .conftest import FILE_VERSION

PROMPT = "Maya Okafor on the quay at dawn, secret ending"


def decide(spec, *args):  # type: ignore[no-untyped-def]
    """Decide and record a request, as plain data (what these tests compare)."""
    return requests.decide_request(spec, *args).to_dict()


def spec(registry: dict[str, Any], **changes: Any) -> RequestSpec:
    base = dict(requester="sam", production="harbour-lights", use="concept", territory="GB",
                model=registry["model"], prompt=PROMPT, references=[registry["reference"]],
                people=["Maya Okafor"], date=date(2025, 6, 1))
    return RequestSpec(**(base | changes))


def test_submit_stores_request_and_decision_with_prompt_hash_only(registry: dict[str, Any]) -> None:
    out = decide(spec(registry))
    assert out["decision"]["decision"] == "needs_approval"
    assert out["decision"]["credits"] == ["Courtesy of Northlight"]
    assert out["decision"]["inputs"]["records"]["consents"] == [{"id": str(registry["maya_consent"]), "version": 2}]
    shown = json.dumps(out, default=str)
    assert "secret" not in shown and "quay" not in shown
    row = GenerationRequest.get_by_id(out["request"]["id"])
    assert row.prompt == PROMPT
    assert DecisionRecord.get(DecisionRecord.request == row).policy_version.version == FILE_VERSION
    assert requests.DecisionView.from_row(requests.latest_decision(row)).id == out["decision"]["id"]


def test_expired_consent_from_the_registry_denies_with_consent_id(registry: dict[str, Any]) -> None:
    out = decide(spec(registry, people=["Tom Reyes"], prompt="a figure on the quay"))
    decision = out["decision"]
    assert decision["decision"] == "deny"
    [violation] = decision["violations"]
    assert (violation["rule"], violation["subject"]) == ("consent-in-period", "person:Tom Reyes")
    assert decision["inputs"]["records"]["consents"] == [{"id": str(registry["tom_consent"]), "version": 2}]


def test_unlicensed_reference_from_the_registry_denies(registry: dict[str, Any]) -> None:
    out = decide(spec(registry, references=[registry["unlicensed"]]))
    assert [v["rule"] for v in out["decision"]["violations"]] == ["reference-licensed"]


def test_person_named_in_prompt_is_checked_even_if_not_listed(registry: dict[str, Any]) -> None:
    out = decide(spec(registry, people=[], prompt="Tom Reyes at the helm"))
    assert {v["rule"] for v in out["decision"]["violations"]} == {"consent-in-period", "prompt-names-declared"}
    assert out["request"]["people"] == []


@pytest.mark.parametrize("changes, error, words", [
    ({"references": ["ab" * 32]}, NotFound, "no asset"),
    ({"people": ["Nobody Known"]}, NotFound, "no person 'Nobody Known'"),
    ({"model": "ghost:9"}, NotFound, "no model"),
    ({"production": "other-film"}, NotFound, "no production"),
    ({"use": "billboard"}, InvalidInput, "not a known intended use"),
    ({"territory": "Europe"}, InvalidInput, "not a territory"),
])
def test_unknown_names_are_clear_errors_and_nothing_is_stored(registry: dict[str, Any], changes: dict[str, Any],
                                                              error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        decide(spec(registry, **changes))
    assert GenerationRequest.select().count() == 0


def _many_members(count: int) -> Any:
    """A model trained on ``count`` images under two licences, one not allowing training."""
    from governance.registry import assets, licences, models_registry, training_sets
    from governance.registry.tables import Model
    licences.add_licence("LIC-STILLS", "Stills Co", grants=["ai_training", "concept"], territories=["WW"],
                         starts_on=date(2024, 1, 1))
    licences.add_licence("LIC-NO-AI", "Careful Co", grants=["concept"], territories=["GB"],
                         starts_on=date(2024, 1, 1), ends_on=date(2026, 1, 1))
    members = []
    for n in range(count):
        asset, _ = assets.register_asset(f"still {n}".encode(), media_type="image/png", title=f"Still {n}")
        members.append((asset["sha256"], "LIC-NO-AI" if n % 5 == 0 else "LIC-STILLS"))
    training_sets.create_training_set("stills", members)
    models_registry.register_model("stills", "1", "12" * 32, training_set="stills")
    models_registry.set_status("stills:1", "approved")
    return Model.get(Model.name == "stills")


def test_training_facts_are_each_members_asset_and_licence_facts(registry: dict[str, Any]) -> None:
    from governance.policy.registry_facts import asset_entry, training_entries
    from governance.registry.tables import Asset, TrainingSetMember
    model = _many_members(12)
    expected = [asset_entry(m.asset, m.licence) for m in
                TrainingSetMember.select().join(Asset).where(TrainingSetMember.training_set == model.training_set_id)
                .order_by(Asset.sha256)]
    assert list(training_entries(model)) == expected
    assert {e["licence"]["ref"] for e in expected} == {"LIC-STILLS", "LIC-NO-AI"}


def test_decisions_share_one_stored_copy_of_the_training_facts(registry: dict[str, Any]) -> None:
    from governance.policy.stored_facts import decision_facts
    from governance.policy.tables import SharedFacts
    from governance.registry.tables import Licence, TrainingSetMember
    _many_members(10)
    first = decide(spec(registry, model="stills:1", people=[], prompt="a boat"))
    second = decide(spec(registry, model="stills:1", people=[], prompt="a gull"))
    # two of the ten members are under a licence without AI training: one finding for their
    # class, naming both
    [found] = [v for v in first["decision"]["violations"] if v["rule"] == "training-ai-training-granted"]
    no_ai = {m.asset.sha256 for m in TrainingSetMember.select().join(Licence).where(Licence.ref == "LIC-NO-AI")}
    assert len(no_ai) == 2 and set(found["subject"].replace("asset:", "").split(", ")) == no_ai
    rows = [DecisionRecord.get_by_id(d["decision"]["id"]) for d in (first, second)]
    shared = {r.facts["training_assets"]["shared"] for r in rows}
    assert len(shared) == 1 and SharedFacts.select().where(SharedFacts.sha256.in_(shared)).count() == 1
    read_back = decision_facts(rows[0])["training_assets"]
    assert sum(e["members"] for e in read_back) == 10
    assert {e["licence"]["ref"]: e["members"] for e in read_back} == {"LIC-STILLS": 8, "LIC-NO-AI": 2}


def test_shared_facts_changed_in_the_database_are_named_not_replayed(registry: dict[str, Any]) -> None:
    from governance.errors import PolicyError
    from governance.policy.stored_facts import decision_facts
    from governance.policy.tables import SharedFacts
    out = decide(spec(registry, people=[], prompt="a boat"))
    record = DecisionRecord.get_by_id(out["decision"]["id"])
    row = SharedFacts.get(SharedFacts.sha256 == record.facts["training_assets"]["shared"])
    row.facts = [dict(row.facts[0], licence=dict(row.facts[0]["licence"], grants=["everything"]))]
    row.save()
    with pytest.raises(PolicyError, match="were changed after they were stored"):
        decision_facts(record)
    SharedFacts.delete().execute()
    with pytest.raises(PolicyError, match="missing from the database"):
        decision_facts(record)


def test_storing_the_same_shared_facts_twice_keeps_one_row_on_either_database(any_db: Any,
                                                                              monkeypatch: Any) -> None:
    from governance.db import transaction
    from governance.policy import stored_facts
    from governance.policy.tables import SharedFacts
    entries = [{"subject": f"asset:{n:064x}", "licence": {"id": "1", "grants": ["ai_training"]}} for n in range(3)]
    with transaction():
        first = stored_facts.facts_to_store({"request": {"id": "1"}, "training_assets": entries})
    # a concurrent request stored the same part between this one's check and its insert
    monkeypatch.setattr(stored_facts, "_stored", lambda sha256: False)
    with transaction():
        second = stored_facts.facts_to_store({"request": {"id": "2"}, "training_assets": list(entries)})
    assert first["training_assets"] == second["training_assets"]
    assert first["request"] == {"id": "1"}
    assert SharedFacts.select().count() == 1


def test_a_person_shown_in_a_reference_image_is_checked_without_being_listed(registry: dict[str, Any]) -> None:
    from governance.registry import assets
    maya_still, _ = assets.register_asset(b"maya on set", media_type="image/png", title="Maya still",
                                          licence="LIC-1", people=["Maya Okafor"])
    tom_still, _ = assets.register_asset(b"tom on set", media_type="image/png", title="Tom still",
                                         licence="LIC-1", people=["Tom Reyes"])
    # Maya's consent covers likeness only: not the use of her image as a reference
    out = decide(spec(registry, references=[maya_still["sha256"]], people=[], prompt="a boat"))
    assert out["decision"]["decision"] == "deny"
    assert [(v["rule"], v["subject"]) for v in out["decision"]["violations"]] == \
        [("consent-covers-reference", "person:Maya Okafor")]
    assert [a["rule"] for a in out["decision"]["approvals"]] == ["likeness-needs-approval"]
    assert out["decision"]["inputs"]["records"]["consents"] == [{"id": str(registry["maya_consent"]), "version": 2}]
    assert out["request"]["people"] == []  # she was not listed as depicted
    # Tom's consent has expired
    out = decide(spec(registry, references=[tom_still["sha256"]], people=[], prompt="a boat"))
    assert {v["rule"] for v in out["decision"]["violations"]} >= {"consent-in-period", "consent-covers-reference"}


def test_a_consent_awaiting_its_second_legal_review_denies_with_evidence_saying_pending(registry, db) -> None:
    from governance.registry import consents, people
    from tests import rights
    people.add_person("Ivy Park", productions=["harbour-lights"])
    pending = rights.grant_consent(db, "Ivy Park", confirm=False, uses=["likeness"], productions=["harbour-lights"],
                                   territories=["GB"], valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31))
    out = decide(spec(registry, people=["Ivy Park"], prompt="a figure on the quay"))
    assert out["decision"]["decision"] == "deny"
    by_rule = {v["rule"]: v for v in out["decision"]["violations"]}
    assert set(by_rule) == {"consent-confirmed", "consent-on-file"}
    assert by_rule["consent-confirmed"]["subject"] == "person:Ivy Park"
    [evidence] = by_rule["consent-confirmed"]["evidence"]
    assert (evidence["path"], evidence["found"]) == ("performer.consent_pending", True)
    assert out["decision"]["inputs"]["records"]["consents"] == []  # the pending consent was not relied on
    # once a second legal user confirms it, the same request is no longer denied
    consents.confirm_consent(pending["id"], by=rights.LOU)
    again = decide(spec(registry, people=["Ivy Park"], prompt="a figure on the quay"))
    assert again["decision"]["decision"] == "needs_approval" and again["decision"]["violations"] == []


def test_a_pending_consent_never_counts_even_under_a_policy_that_does_not_look_at_it(registry, db) -> None:
    """Four eyes holds in the engine, not only in the studio policy: a published policy without
    a rule about pending consents (a studio that has not yet moved to version 3) still refuses."""
    from governance.policy import versions
    from governance.registry import people
    from tests import rights

    from .conftest import policy_text
    older = policy_text(FILE_VERSION + 1, edit=lambda t: t.split("  - id: consent-confirmed")[0]
                        + "  - id: consent-covers-likeness" + t.split("  - id: consent-covers-likeness", 1)[1])
    assert b"consent-confirmed" not in older and b"consent_pending" not in older
    added = versions.add_version(older, "alice", "older policy")
    versions.approve_version(f"{added['uid']}@{added['version']}", "bob")
    versions.publish_version(f"{added['uid']}@{added['version']}", "bob")
    people.add_person("Ivy Park", productions=["harbour-lights"])
    rights.grant_consent(db, "Ivy Park", confirm=False, uses=["likeness"], productions=["harbour-lights"],
                         territories=["GB"], valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31))
    out = decide(spec(registry, people=["Ivy Park"], prompt="a figure on the quay"))
    assert out["decision"]["decision"] == "deny"
    assert [v["rule"] for v in out["decision"]["violations"]] == ["consent-on-file"]

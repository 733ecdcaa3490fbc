"""Per-model clearance: a training set judged by class, computed once, kept, and exact."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from governance.policy import clearance, requests
from governance.policy.registry_facts import RequestSpec, build_facts, training_entries
from governance.registry.tables import Model, TrainingClearance, TrainingSet

from .conftest import DEFAULT_POLICY, policy_text


def _decide(model: str = "stills:1", day: date = date(2025, 6, 1)) -> dict[str, Any]:
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=model, prompt="a quiet quay at dawn", date=day)
    return requests.decide_request(spec).to_dict()["decision"]


@pytest.fixture
def stills(registry: dict[str, Any], db: Any) -> dict[str, Any]:
    """A model trained on seven stills: four under LIC-A, three under LIC-B (both granting AI
    training), one of LIC-B's showing Lin Ito, whose consent covers AI training; and LIC-OTHER,
    under which no member is held."""
    from governance.registry import assets, licences, models_registry, people, training_sets
    from tests import rights
    for ref in ("LIC-A", "LIC-B", "LIC-OTHER"):
        licences.add_licence(ref, "Stills archive", grants=["ai_training", "concept", "previs"],
                             territories=["WW"], starts_on=date(2024, 1, 1))
    people.add_person("Lin Ito")
    consent = rights.grant_consent(db, "Lin Ito", uses=["ai_training"], productions=["*"], territories=["WW"],
                                   valid_from=date(2024, 1, 1), valid_until=date(2030, 12, 31))
    members, under_b = [], []
    for n in range(7):
        lic = "LIC-A" if n < 4 else "LIC-B"
        asset, _ = assets.register_asset(f"still {n}".encode(), media_type="image/png", title=f"Still {n}",
                                         people=["Lin Ito"] if n == 6 else ())
        members.append((asset["sha256"], lic))
        if lic == "LIC-B":
            under_b.append(asset["sha256"])
    training_sets.create_training_set("stills", members)
    models_registry.register_model("stills", "1", "34" * 32, training_set="stills")
    models_registry.set_status("stills:1", "approved")
    return {"under_b": sorted(under_b), "linked": members[6][0], "consent": consent["id"],
            "set": TrainingSet.get(TrainingSet.name == "stills"), "model": Model.get(Model.name == "stills")}


def test_a_set_is_judged_by_class_and_the_decision_names_the_licences_it_relied_on(stills: dict[str, Any]) -> None:
    part = clearance.class_entries(stills["model"])
    assert sorted((e["licence"]["ref"], e["members"]) for e in part) == [("LIC-A", 4), ("LIC-B", 3)]
    decision = _decide()
    assert decision["decision"] == "allow"
    relied = {r["id"] for r in decision["inputs"]["records"]["licences"]}
    assert {str(e["licence"]["id"]) for e in part} <= relied


def test_judging_by_class_gives_the_decision_judging_each_member_gives(stills: dict[str, Any]) -> None:
    from governance.policy.compiler import compile_bytes
    from governance.revocation import take_down
    take_down("LIC-B", "the archive withdrew it", "alice")
    engine = compile_bytes(DEFAULT_POLICY.read_bytes())
    spec = RequestSpec(requester="sam", production="harbour-lights", use="final_frame", territory="US",
                       model="stills:1", prompt="a quay", date=date(2025, 6, 1))
    by_class = engine.evaluate(build_facts(spec, "1", date(2025, 6, 1), training=clearance.class_entries))
    each = engine.evaluate(build_facts(spec, "1", date(2025, 6, 1), training=training_entries))
    assert by_class.outcome == each.outcome == "deny"
    assert by_class.violated_rules == each.violated_rules
    assert by_class.credits == each.credits
    assert by_class.inputs.licences == each.inputs.licences
    # one finding per class for what each member's finding said, naming the members
    named = {v.subject for v in by_class.violations if v.rule == "licence-not-taken-down"}
    assert named == {", ".join(f"asset:{s}" for s in stills["under_b"])}
    assert {v.subject for v in each.violations if v.rule == "licence-not-taken-down"} == \
        {f"asset:{s}" for s in stills["under_b"]}


def test_a_takedown_of_a_members_licence_flips_the_clearance_and_the_next_decision(
        stills: dict[str, Any]) -> None:
    from governance.audit.tables import AuditEntry
    from governance.revocation import take_down
    assert clearance.clearance(stills["set"]).state == "clear"
    assert _decide()["decision"] == "allow"
    take_down("LIC-B", "the archive withdrew it", "alice")
    row = TrainingClearance.get(TrainingClearance.training_set == stills["set"].id)
    assert row.state == "not_clear"  # judged again when the takedown was recorded
    [problem] = row.summary["problems"]
    assert problem == {"reason": "licence of these images was taken down", "licence": "LIC-B", "members": 3,
                       "assets": stills["under_b"]}
    assert AuditEntry.select().where(AuditEntry.action == "training_set.clearance").count() == 2
    decision = _decide()
    assert decision["decision"] == "deny"
    [found] = [v for v in decision["violations"] if v["rule"] == "licence-not-taken-down"]
    assert found["subject"] == ", ".join(f"asset:{s}" for s in stills["under_b"])
    assert found["evidence"][0] == {"path": "licence.takedown", "operator": "eq", "found": True,
                                    "required": True, "result": True}


def test_a_consent_revoked_for_a_person_linked_to_a_member_flips_the_clearance(stills: dict[str, Any]) -> None:
    from governance.revocation import revoke_consent
    assert clearance.clearance(stills["set"]).state == "clear"
    revoke_consent(stills["consent"], "withdrawn by the performer", "alice")
    after = clearance.clearance(stills["set"])
    assert after.state == "not_clear"
    [problem] = after.summary["problems"]
    assert problem["reason"] == ("a person linked to the image has no confirmed consent covering ai_training"
                                 " in every production and territory")
    assert problem["assets"] == [stills["linked"]] and problem["person"].startswith("#")
    assert "Lin Ito" not in str(after.to_dict())  # people are named by number


def test_a_licence_edit_not_touching_the_set_keeps_its_partition_entries_and_clearance(
        stills: dict[str, Any]) -> None:
    from governance.revocation import take_down
    entries = clearance.class_entries(stills["model"])
    part = clearance.partition(stills["set"])
    before = clearance.clearance(stills["set"])
    computed_at = TrainingClearance.get(TrainingClearance.training_set == stills["set"].id).computed_at
    take_down("LIC-OTHER", "not ours", "alice")
    assert clearance.class_entries(stills["model"]) is entries
    assert clearance.partition(stills["set"]) is part
    assert clearance.clearance(stills["set"]).key == before.key
    assert TrainingClearance.get(TrainingClearance.training_set == stills["set"].id).computed_at == computed_at


def test_a_licence_edit_touching_the_set_makes_new_entries_from_the_kept_partition(stills: dict[str, Any]) -> None:
    from governance.revocation import take_down
    entries = clearance.class_entries(stills["model"])
    part = clearance.partition(stills["set"])
    take_down("LIC-A", "withdrawn", "alice")
    after = clearance.class_entries(stills["model"])
    assert after is not entries and after.sha256 != entries.sha256
    assert clearance.partition(stills["set"]) is part  # the members did not change
    assert {e["licence"]["ref"]: e["licence"]["takedown"] for e in after} == {"LIC-A": True, "LIC-B": False}


def test_editing_the_stored_clearance_row_does_not_make_a_refused_model_allowed(stills: dict[str, Any]) -> None:
    """An insider with database access marks the clearance clear (and bumps nothing else):
    decisions never read the row, and the next look rewrites it from the live records."""
    from governance.revocation import take_down
    take_down("LIC-B", "the archive withdrew it", "alice")
    TrainingClearance.update(state="clear", summary={"problems": []}).where(
        TrainingClearance.training_set == stills["set"].id).execute()
    assert _decide()["decision"] == "deny"
    assert clearance.clearance(stills["set"]).state == "not_clear"
    assert TrainingClearance.get(TrainingClearance.training_set == stills["set"].id).state == "not_clear"


def test_a_members_attribute_change_is_judged_by_the_next_decision(stills: dict[str, Any]) -> None:
    from governance.catalogue import versions as catalogue_versions
    from governance.registry.attribute_changes import set_attributes
    from tests.conftest import REPO
    from tests.rights import LEE, LOU
    catalogue_versions.draft_version((REPO / "policies" / "catalogue.yaml").read_bytes(), LEE)
    catalogue_versions.approve_version(1, LOU)
    catalogue_versions.publish_version(1, LEE)
    part = clearance.partition(stills["set"])
    set_attributes("asset", stills["linked"], {"department": "vfx"}, by=LEE)
    assert TrainingClearance.get(TrainingClearance.training_set == stills["set"].id).revision == part.revision + 1
    entries = clearance.class_entries(stills["model"])
    [moved] = [e for e in entries if e["asset"]["attributes"]]
    assert moved["members"] == 1 and moved["asset"]["sha256"] == stills["linked"]
    assert moved["asset"]["attributes"] == {"department": "vfx"}
    assert sorted(e["members"] for e in entries) == [1, 2, 4]


def test_a_policy_that_tells_members_apart_is_given_every_member(stills: dict[str, Any]) -> None:
    from governance.policy.loader import load_policy
    assert clearance.training_facts_for(load_policy(DEFAULT_POLICY.read_bytes())) is clearance.class_entries
    rule = """
  - id: training-not-this-still
    type: prohibition
    title: One still may not be trained on.
    target: training_asset
    constraint: {leftOperand: asset.title, operator: eq, rightOperand: Still 6}
"""
    text = policy_text(99, edit=lambda t: t.replace("\nrules:\n", "\nrules:\n" + rule, 1)).decode()
    policy = load_policy(text.encode())
    assert clearance.judges_each_member(policy)
    assert clearance.training_facts_for(policy) is training_entries


def test_a_decision_made_by_class_replays_per_image_under_a_policy_that_tells_images_apart(
        stills: dict[str, Any]) -> None:
    from governance.policy.compiler import compile_bytes
    from governance.policy.replay import replay
    decision = _decide()
    assert decision["decision"] == "allow"
    rule = """
  - id: training-not-this-still
    type: prohibition
    title: One still may not be trained on.
    target: training_asset
    constraint: {leftOperand: asset.title, operator: eq, rightOperand: Still 6}
"""
    candidate = compile_bytes(policy_text(99, edit=lambda t: t.replace("\nrules:\n", "\nrules:\n" + rule, 1)))
    [entry] = [e for e in replay(candidate).entries if e.request == decision["request"]]
    assert (entry.old, entry.new) == ("allow", "deny")
    assert entry.added == (f"violates training-not-this-still@asset:{stills['linked']}",)


def test_a_policy_that_counts_training_images_is_given_every_member(stills: dict[str, Any]) -> None:
    """A count over classes is not a count of images: such a policy judges each image."""
    from governance.policy.compiler import compile_bytes
    rule = """
  - id: training-at-most-five-images
    type: prohibition
    title: A model trained on more than five images needs a bigger review.
    target: request
    constraint: {count: {over: training_assets, as: t}, operator: gt, rightOperand: 5}
"""
    engine = compile_bytes(policy_text(99, edit=lambda t: t.replace("\nrules:\n", "\nrules:\n" + rule, 1)))
    assert clearance.judges_each_member(engine.policy)
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model="stills:1", prompt="a quay", date=date(2025, 6, 1))
    facts = build_facts(spec, "1", date(2025, 6, 1), training=clearance.training_facts_for(engine.policy))
    assert len(facts["training_assets"]) == 7
    assert "training-at-most-five-images" in engine.evaluate(facts).violated_rules


def _refuse_for_owner(sha256: str) -> None:
    """The member's owner refuses AI training (as credentials read at intake would say), and
    every set holding it is told, as the registry does for any member fact that changes."""
    from governance.registry.set_revisions import member_attributes_changed
    from governance.registry.tables import Asset
    Asset.update(training_mining="notAllowed").where(Asset.sha256 == sha256).execute()
    member_attributes_changed(Asset.get(Asset.sha256 == sha256))


def test_an_owners_refusal_of_one_member_denies_a_decision_made_by_class(stills: dict[str, Any]) -> None:
    first_under_a = min(e["member_assets"][0][1] for e in clearance.class_entries(stills["model"])
                        if e["licence"]["ref"] == "LIC-A")
    _refuse_for_owner(first_under_a)
    decision = _decide()
    assert decision["decision"] == "deny"
    [found] = [v for v in decision["violations"] if v["rule"] == "training-not-refused-by-owner"]
    assert found["subject"] == f"asset:{first_under_a}"


def test_judging_by_class_gives_the_decision_judging_each_member_gives_when_one_owner_refuses(
        stills: dict[str, Any]) -> None:
    from governance.policy.compiler import compile_bytes
    _refuse_for_owner(stills["linked"])
    engine = compile_bytes(DEFAULT_POLICY.read_bytes())
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model="stills:1", prompt="a quay", date=date(2025, 6, 1))
    by_class = engine.evaluate(build_facts(spec, "1", date(2025, 6, 1), training=clearance.class_entries))
    each = engine.evaluate(build_facts(spec, "1", date(2025, 6, 1), training=training_entries))
    assert by_class.outcome == each.outcome == "deny"
    assert by_class.violated_rules == each.violated_rules
    assert "training-not-refused-by-owner" in by_class.violated_rules
    # every fact a per-member entry has, the class entries give back for each member
    assert list(clearance.each_member(clearance.class_entries(stills["model"]))) == \
        list(training_entries(stills["model"]))


def test_an_owners_refusal_read_when_an_old_asset_comes_again_reaches_the_next_decision(
        registry: dict[str, Any], db: Any) -> None:
    """An asset registered before Slate read credentials is in a set, and its partition is
    kept; its bytes come again, carrying the owner's notAllowed: the next decision judges it."""
    from governance.registry import assets, licences, models_registry, training_sets
    from governance.registry.tables import Asset, AssetManifest
    from tests.owner_credentials import not_allowed_image
    licences.add_licence("LIC-A", "Stills archive", grants=["ai_training", "concept"], territories=["WW"],
                         starts_on=date(2024, 1, 1))
    content = not_allowed_image()
    refused, _ = assets.register_asset(content, media_type="image/png", title="Owner's still")
    Asset.update(credential_state=None, credential_signer=None, training_mining=None).execute()
    AssetManifest.delete().execute()
    other, _ = assets.register_asset(b"another still", media_type="image/png", title="Other still")
    training_sets.create_training_set("old", [(refused["sha256"], "LIC-A"), (other["sha256"], "LIC-A")])
    models_registry.register_model("old", "1", "56" * 32, training_set="old")
    models_registry.set_status("old:1", "approved")
    assert _decide("old:1")["decision"] == "allow"  # the partition is now kept
    assets.register_asset(content, media_type="image/png", title="again")
    decision = _decide("old:1")
    assert decision["decision"] == "deny"
    assert "training-not-refused-by-owner" in {v["rule"] for v in decision["violations"]}


@pytest.mark.parametrize("limit, reason", [
    ("territory", "licence of these images does not cover territory WW"),
    ("projects", "licence of these images is limited to other projects"),
    ("owner", "its owner's content credentials say AI training is notAllowed"),
])
def test_a_set_a_training_run_would_be_refused_somewhere_is_not_clear(
        stills: dict[str, Any], limit: str, reason: str) -> None:
    from governance.policy.registry_facts import licence_facts
    from governance.policy.training_facts import licence_refusal
    from governance.registry.tables import Licence
    assert clearance.clearance(stills["set"]).state == "clear"
    if limit == "territory":
        Licence.update(territories=["GB"]).where(Licence.ref == "LIC-B").execute()
    elif limit == "projects":
        Licence.update(attributes={"projects": ["harbour-lights"]}).where(Licence.ref == "LIC-B").execute()
    else:
        _refuse_for_owner(stills["linked"])
    after = clearance.clearance(stills["set"])
    assert after.state == "not_clear" and after.summary["judged_for"] == {"production": "*", "territory": "WW"}
    [problem] = after.summary["problems"]
    assert problem["reason"] == reason and "LIC-B" not in problem["reason"]  # a producer's card shows reasons
    if limit != "owner":  # a training run in another production and territory is refused
        lic = licence_facts(Licence.get(Licence.ref == "LIC-B"))
        assert licence_refusal(lic, "northern-line", "US", "2025-06-01") is not None


def test_a_consent_limited_to_one_production_leaves_the_set_not_clear(stills: dict[str, Any]) -> None:
    from governance.registry.tables import Consent
    assert clearance.clearance(stills["set"]).state == "clear"
    Consent.update(productions=["harbour-lights"]).where(Consent.id == stills["consent"]).execute()
    after = clearance.clearance(stills["set"])
    assert after.state == "not_clear"
    [problem] = after.summary["problems"]
    assert problem["reason"].startswith("a person linked to the image has no confirmed consent")
    assert problem["assets"] == [stills["linked"]]

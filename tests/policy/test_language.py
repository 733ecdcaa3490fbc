"""The policy language's newer parts: requester and production facts, quantifiers over a
request's subjects and lists, several targets for one rule, named lists, nested paths and
approvers. Each is checked on the fast path and the interpreter, which must agree."""

from __future__ import annotations

from typing import Any

import pytest

from governance.policy import facts as F
from governance.policy.compiler import CompiledPolicy, compile_bytes
from governance.policy.loader import PolicyFileError, load_policy

HEAD = """
uid: urn:slate:policy:language
version: 1
title: Language test
"""


def compiled(body: str) -> CompiledPolicy:
    return compile_bytes((HEAD + body).encode())


def problems_of(body: str) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load_policy((HEAD + body).encode())
    return caught.value.problems


def facts(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request": {"id": "1", "requester": "pat", "production": "harbour-lights", "use": "concept",
                    "territory": "GB", "date": "2026-06-01", "prompt": "a harbour at dawn"},
        "model": {"id": "1", "name": "m", "version": "1", "status": "approved"},
    }
    base.update(parts)
    return F.complete(base)


def both(policy: CompiledPolicy, f: dict[str, Any]) -> Any:
    """The decision, after checking that the fast path and the interpreter agree on it."""
    fast, slow = policy.evaluate(f), policy.evaluate(f, interpreted=True)
    assert fast.to_dict() == slow.to_dict()
    return fast


def person(name: str, *, uses: list[str] | None = None, depicted: bool = True, minor: bool = False,
           status: str = "confirmed") -> dict[str, Any]:
    consents = [] if uses is None else [{"id": f"c-{name}", "uses": uses, "productions": ["*"],
                                         "territories": ["WW"], "valid_from": "2026-01-01",
                                         "valid_until": "2026-12-31", "revoked": False, "status": status,
                                         "version": 1}]
    return {"person": {"id": name, "name": name, "is_minor": minor}, "consents": consents, "depicted": depicted}


REQUESTER_RULE = """
rules:
  - id: requester-in-production
    type: requirement
    title: Only members ask.
    target: request
    constraint: {leftOperand: requester.productions, operator: hasPart, rightOperandReference: request.production}
"""


def test_a_requester_outside_the_production_is_denied_with_evidence_naming_their_productions() -> None:
    decision = both(compiled(REQUESTER_RULE),
                    facts(requester={"name": "nat", "roles": ["producer"], "productions": ["northern-line"]}))
    assert decision.outcome == "deny"
    [finding] = decision.violations
    [evidence] = finding.evidence
    assert (evidence.path, evidence.found, evidence.required, evidence.required_from) == (
        "requester.productions", ("northern-line",), "harbour-lights", "request.production")


def test_a_requester_in_the_production_passes_the_membership_rule() -> None:
    assert both(compiled(REQUESTER_RULE), facts()).outcome == "allow"


EVERY_NAME = """
rules:
  - id: prompt-names-declared
    type: requirement
    title: Named people are declared.
    target: request
    constraint:
      every:
        over: request.named_people
        as: name
        satisfies: {leftOperand: request.people, operator: hasPart, rightOperandReference: name}
"""


def test_every_name_in_the_prompt_must_be_declared_and_the_evidence_names_the_one_that_is_not() -> None:
    f = facts(request={"id": "1", "requester": "pat", "production": "harbour-lights", "use": "concept",
                       "territory": "GB", "date": "2026-06-01", "prompt": "Maya Okafor and Tom Reyes at dawn"},
              performers=[person("Maya Okafor", uses=["likeness"]),
                          person("Tom Reyes", uses=["likeness"], depicted=False)])
    decision = both(compiled(EVERY_NAME), f)
    assert decision.outcome == "deny"
    [finding] = decision.violations
    summary, *items = finding.evidence
    assert (summary.path, summary.operator, summary.found, summary.required) == ("request.named_people", "every", 1, 2)
    assert [(e.item, e.path, e.required) for e in items] == [("Tom Reyes", "request.people", "Tom Reyes")]


def test_every_holds_when_each_named_person_is_declared_and_when_none_is_named() -> None:
    named = facts(request={"id": "1", "requester": "pat", "production": "harbour-lights", "use": "concept",
                           "territory": "GB", "date": "2026-06-01", "prompt": "Maya Okafor at dawn"},
                  performers=[person("Maya Okafor", uses=["likeness"])])
    assert both(compiled(EVERY_NAME), named).outcome == "allow"
    assert both(compiled(EVERY_NAME), facts()).outcome == "allow"


NO_MINOR_REFERENCE = """
rules:
  - id: no-minor-in-reference-without-guardian
    type: prohibition
    title: No performer shown in a reference may be a minor without a guardian-signed consent.
    target: request
    constraint:
      any:
        over: performers
        as: p
        satisfies:
          and:
            - {leftOperand: p.performer.in_reference, operator: eq, rightOperand: true}
            - {leftOperand: p.person.is_minor, operator: eq, rightOperand: true}
            - not: {leftOperand: p.consent.guardian_signed, operator: eq, rightOperand: true}
"""


def test_any_over_performers_fires_for_the_minor_and_labels_the_evidence_with_them() -> None:
    kid = person("Kit Young", uses=["reference"], minor=True, depicted=False) | {"in_reference": True}
    adult = person("Maya Okafor", uses=["reference"], depicted=False) | {"in_reference": True}
    decision = both(compiled(NO_MINOR_REFERENCE), facts(performers=[adult, kid]))
    assert decision.violated_rules == ["no-minor-in-reference-without-guardian"]
    [finding] = decision.violations
    assert finding.subject == "request"
    assert {e.item for e in finding.evidence[1:]} == {"person:Kit Young"}


def test_any_over_performers_does_not_fire_when_no_item_satisfies_it() -> None:
    adult = person("Maya Okafor", uses=["reference"], depicted=False) | {"in_reference": True}
    assert both(compiled(NO_MINOR_REFERENCE), facts(performers=[adult])).outcome == "allow"


def test_none_over_a_performers_consents_and_count_with_a_where() -> None:
    policy = compiled("""
rules:
  - id: no-pending-consent
    type: prohibition
    title: A performer must have no consent still pending.
    target: performer
    constraint:
      not:
        none:
          over: performer.consents
          as: c
          satisfies: {leftOperand: c.status, operator: eq, rightOperand: pending}
  - id: at-most-two-people
    type: requirement
    title: At most two people may be depicted.
    target: request
    constraint:
      count: {over: performers, as: p, where: {leftOperand: p.performer.depicted, operator: eq, rightOperand: true}}
      operator: lteq
      rightOperand: 2
""")
    three = [person("A", uses=["likeness"]), person("B", uses=["likeness"], status="pending"),
             person("C", uses=["likeness"])]
    decision = both(policy, facts(performers=three))
    assert [(v.rule, v.subject) for v in decision.violations] == [
        ("no-pending-consent", "person:B"), ("at-most-two-people", "request")]
    pending, count = decision.violations
    assert pending.evidence[1].item == "consent:c-B"
    assert (count.evidence[0].operator, count.evidence[0].found, count.evidence[0].required) == ("count lteq", 3, 2)
    assert both(policy, facts(performers=three[:1])).outcome == "allow"


def test_one_rule_with_two_targets_fires_for_each_subject_in_target_order() -> None:
    policy = compiled("""
rules:
  - id: licence-not-taken-down
    type: prohibition
    title: No taken-down image.
    target: [training_asset, reference]
    constraint: {leftOperand: licence.takedown, operator: eq, rightOperand: true}
""")
    def entry(sha: str) -> dict[str, Any]:
        return {"asset": {"id": sha, "sha256": sha}, "licence": {"id": sha, "takedown": True, "version": 1}}
    decision = both(policy, facts(references=[entry("aa")], training_assets=[entry("bb")]))
    assert [v.subject for v in decision.violations] == ["asset:aa", "asset:bb"]
    assert policy.policy.rules[0].targets == ("reference", "training_asset")


def test_a_rule_with_two_targets_reads_only_the_roots_both_offer() -> None:
    [problem] = problems_of("""
rules:
  - id: mixed
    type: requirement
    title: Mixed.
    target: [reference, performer]
    constraint: {leftOperand: licence.takedown, operator: eq, rightOperand: false}
""")
    assert "not available to a rule about each reference asset and each performer" in problem


LISTS = """
lists:
  banned: [gore, nsfw]
rules:
  - id: prompt-terms
    type: prohibition
    title: No banned term.
    target: request
    constraint: {leftOperand: request.prompt_terms, operator: hasAnyOf, rightOperandList: banned}
"""


def test_a_named_list_is_used_by_a_rule_and_its_evidence_shows_only_the_matched_term() -> None:
    f = facts(request={"id": "1", "requester": "pat", "production": "harbour-lights", "use": "concept",
                       "territory": "GB", "date": "2026-06-01", "prompt": "gore at the harbour"})
    decision = both(compiled(LISTS), f)
    [evidence] = decision.violations[0].evidence
    assert evidence.found == ("gore",)


def test_an_unknown_named_list_is_refused_naming_the_lists_there_are() -> None:
    [problem] = problems_of(LISTS.replace("rightOperandList: banned", "rightOperandList: banned_words"))
    assert "no list named 'banned_words'" in problem and "banned" in problem


def test_quantifier_names_cannot_shadow_a_root_and_prompt_words_cannot_be_ranged_over() -> None:
    found = problems_of("""
rules:
  - id: shadow
    type: requirement
    title: Shadow.
    target: request
    constraint:
      every: {over: performers, as: request, satisfies: {leftOperand: request.use, operator: eq, rightOperand: x}}
  - id: words
    type: requirement
    title: Words.
    target: request
    constraint:
      any: {over: request.prompt_terms, as: w, satisfies: {leftOperand: w, operator: eq, rightOperand: x}}
""")
    assert any("'request' is already a name" in p for p in found)
    assert any("comes from the prompt" in p for p in found)


def test_an_approval_rule_says_who_signs_off_and_the_finding_records_it() -> None:
    policy = compiled("""
rules:
  - id: marketing-needs-two
    type: approval
    title: Marketing needs two approvers from the production and legal.
    target: request
    approvers: {roles: [approver], count: 2, fromProduction: true, notRequesterDepartment: true}
    constraint: {leftOperand: request.use, operator: eq, rightOperand: marketing}
  - id: plain
    type: approval
    title: Anything needs someone.
    target: request
    constraint: {leftOperand: request.use, operator: exists, rightOperand: true}
""")
    f = facts(request={"id": "1", "requester": "pat", "production": "harbour-lights", "use": "marketing",
                       "territory": "GB", "date": "2026-06-01", "prompt": "a poster"})
    decision = both(policy, f)
    by_rule = {a.rule: a.to_dict()["approvers"] for a in decision.approvals}
    assert by_rule == {
        "marketing-needs-two": {"roles": ["approver"], "count": 2, "from_production": True, "department": None,
                                "not_requester_department": True},
        "plain": {"roles": ["approver"], "count": 1, "from_production": False, "department": None,
                  "not_requester_department": False}}


def test_approvers_on_a_rule_that_is_not_an_approval_is_refused() -> None:
    [problem] = problems_of(REQUESTER_RULE + "    approvers: {roles: [legal]}\n")
    assert "only an approval rule says who must sign off" in problem


def test_a_duty_credits_a_performer_from_their_consent() -> None:
    policy = compiled("""
rules:
  - id: any
    type: requirement
    title: Anything.
    target: request
    constraint: {leftOperand: request.use, operator: exists, rightOperand: true}
duties:
  - id: credit-performer
    action: attribute
    title: Credit performers who asked for it.
    target: performer
    when: {leftOperand: consent.attribution_required, operator: eq, rightOperand: true}
    creditFrom: consent.credit_text
""")
    maya = person("Maya Okafor", uses=["likeness"])
    maya["consents"][0] |= {"attribution_required": True, "credit_text": "Maya Okafor courtesy of Quay Talent"}
    decision = both(policy, facts(performers=[maya, person("Tom Reyes", uses=["likeness"])]))
    assert decision.credits == ["Maya Okafor courtesy of Quay Talent"]
    assert [d.subject for d in decision.duties] == ["person:Maya Okafor"]


PROJECTS_RULE = """
rules:
  - id: licence-limited-to-projects
    type: prohibition
    title: A licence limited to named projects cannot serve another production.
    target: [reference, training_asset]
    when: {leftOperand: licence.attributes.projects, operator: exists, rightOperand: true}
    constraint:
      not: {leftOperand: licence.attributes.projects, operator: hasPart, rightOperandReference: request.production}
"""


def studio_catalogue() -> Any:
    from governance.catalogue import load_catalogue
    from tests.conftest import REPO
    path = REPO / "policies" / "catalogue.yaml"
    return load_catalogue(path.read_bytes(), str(path))


def test_a_licence_attribute_the_catalogue_declares_is_read_by_a_rule() -> None:
    policy = compile_bytes((HEAD + PROJECTS_RULE).encode(), catalogue=studio_catalogue())
    def entry(sha: str, projects: list[str] | None) -> dict[str, Any]:
        attributes = {} if projects is None else {"projects": projects}
        return {"asset": {"id": sha, "sha256": sha}, "licence": {"id": sha, "version": 1, "attributes": attributes}}
    f = facts(references=[entry("aa", ["northern-line"]), entry("bb", ["harbour-lights"]), entry("cc", None)])
    decision = both(policy, f)
    [finding] = decision.violations
    assert finding.subject == "asset:aa"
    assert [(e.path, e.found) for e in finding.evidence] == [("licence.attributes.projects", ("northern-line",))]


def test_a_rule_reading_an_attribute_the_catalogue_does_not_declare_is_refused() -> None:
    with pytest.raises(PolicyFileError) as without:
        load_policy((HEAD + PROJECTS_RULE).encode())  # no catalogue published: nothing declared
    assert any("declares no licence attribute 'projects'" in p for p in without.value.problems)
    with pytest.raises(PolicyFileError) as misspelt:
        load_policy((HEAD + PROJECTS_RULE.replace("attributes.projects", "attributes.project")).encode(),
                    catalogue=studio_catalogue())
    assert any("declares no licence attribute 'project'" in p for p in misspelt.value.problems)


def test_an_enum_attribute_is_compared_only_with_the_values_the_catalogue_lists() -> None:
    rule = """
rules:
  - id: rider
    type: approval
    title: A SAG-AFTRA rider needs legal.
    target: performer
    approvers: {roles: [legal]}
    constraint: {leftOperand: consent.attributes.union_rider, operator: eq, rightOperand: sag-aftra-2032}
"""
    with pytest.raises(PolicyFileError) as caught:
        load_policy((HEAD + rule).encode(), catalogue=studio_catalogue())
    assert any("sag-aftra-2032 is not among the catalogue's values" in p for p in caught.value.problems)
    load_policy((HEAD + rule.replace("sag-aftra-2032", "sag-aftra-2023")).encode(), catalogue=studio_catalogue())


def test_quantifiers_over_subjects_cannot_nest_or_run_per_subject_over_the_training_set() -> None:
    found = problems_of("""
rules:
  - id: nested
    type: requirement
    title: Nested.
    target: request
    constraint:
      every:
        over: references
        as: r
        satisfies:
          any: {over: training_assets, as: t, satisfies: {leftOperand: t.asset.sha256, operator: eq,
                                                          rightOperandReference: r.asset.sha256}}
  - id: per-subject
    type: requirement
    title: Per subject.
    target: reference
    constraint:
      none: {over: training_assets, as: t, satisfies: {leftOperand: t.licence.takedown, operator: eq,
                                                      rightOperand: true}}
""")
    assert any("cannot nest" in p for p in found)
    assert any("cannot range over training_assets" in p for p in found)


def test_training_set_assets_carry_their_catalogue_attributes_into_the_facts(registry: dict[str, Any]) -> None:
    from governance.catalogue import versions as catalogue_versions
    from governance.policy.registry_facts import training_entries
    from governance.registry.attribute_changes import set_attributes
    from governance.registry.models_registry import get_model
    from tests.conftest import REPO
    from tests.rights import LEE, LOU

    catalogue_versions.draft_version((REPO / "policies" / "catalogue.yaml").read_bytes(), LEE)
    catalogue_versions.approve_version(1, LOU)
    catalogue_versions.publish_version(1, LEE)
    set_attributes("asset", registry["member"], {"department": "vfx"}, by=LEE)
    [entry] = training_entries(get_model(registry["model"]))
    assert entry["asset"]["attributes"] == {"department": "vfx"}

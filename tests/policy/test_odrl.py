"""ODRL 2.2 interchange: a policy exported as JSON-LD that rights systems read, and the subset
that maps imported back, with everything else refused by name and JSON path."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from governance.cli import cli
from governance.errors import SlateError
from governance.policy.document import Policy
from governance.policy.loader import MAX_DEPTH, load_policy
from governance.policy.odrl import (
    MAX_ODRL_BYTES,
    MAX_RULES,
    ODRL_CONTEXT,
    PROFILE,
    OdrlImportError,
    from_odrl,
    odrl_json,
    read_odrl,
    to_odrl,
)

from .conftest import DEFAULT_POLICY, UID

#: one rule of each kind, each target, each quantifier, a negation with and without an ODRL
#: counterpart, named lists, references, and approvers saying everything they can
EVERY_KIND = """
uid: urn:slate:policy:every-kind
version: 3
title: Every kind of rule
description: For the round trip.
lists:
  release_uses: [final_frame, marketing]
  blocked: [XX, YY]
rules:
  - id: no-retired-model
    type: prohibition
    title: A retired model must not be used.
    target: request
    constraint: {leftOperand: model.status, operator: eq, rightOperand: retired}
  - id: licence-scope
    type: requirement
    title: Licences in term, not blocked, granting the use.
    description: Several targets, a negated when, ordering and set operators.
    target: [reference, training_asset]
    when: {not: {leftOperand: licence.takedown, operator: eq, rightOperand: true}}
    constraint:
      and:
        - {leftOperand: licence.starts_on, operator: before, rightOperandReference: request.date}
        - not: {leftOperand: licence.territories, operator: hasAnyOf, rightOperandList: blocked}
        - not: {leftOperand: licence.grants, operator: hasPart, rightOperand: concept}
        - or:
            - {leftOperand: licence.ends_on, operator: exists, rightOperand: false}
            - {leftOperand: licence.ends_on, operator: after, rightOperand: "2020-01-01"}
  - id: quantified
    type: requirement
    title: Names declared, no pending consent, a minor only with a guardian, at most two depicted.
    target: request
    constraint:
      and:
        - every: {over: request.named_people, as: name,
                  satisfies: {leftOperand: request.people, operator: contains, rightOperandReference: name}}
        - none: {over: performers, as: p,
                 satisfies: {leftOperand: p.performer.consent_pending, operator: eq, rightOperand: true}}
        - not:
            any: {over: performers, as: q,
                  satisfies: {leftOperand: q.person.is_minor, operator: eq, rightOperand: true}}
        - count: {over: performers, as: r, where: {leftOperand: r.performer.depicted, operator: eq,
                                                   rightOperand: true}}
          operator: lteq
          rightOperand: 2
        - count: {over: references, as: s}
          operator: lt
          rightOperand: 10
  - id: release-needs-two
    type: approval
    title: Release use needs two approvers from the production, outside the requester's department.
    target: request
    approvers: {roles: [approver, producer], count: 2, fromProduction: true, department: finance,
                notRequesterDepartment: true}
    constraint: {leftOperand: request.use, operator: isAnyOf, rightOperandList: release_uses}
  - id: likeness-needs-legal
    type: approval
    title: Likeness needs legal.
    target: performer
    when: {leftOperand: consent, operator: exists, rightOperand: true}
    constraint: {leftOperand: performer.depicted, operator: eq, rightOperand: true}
  - id: plain-approval
    type: approval
    title: Anything needs someone.
    target: request
    constraint: {leftOperand: request.territory, operator: isNoneOf, rightOperand: [GB, FR]}
duties:
  - id: credit-text
    action: attribute
    title: A fixed credit line.
    target: reference
    credit: Courtesy of the archive
  - id: credit-performer
    action: attribute
    title: Credit each performer whose consent says so.
    target: performer
    when: {leftOperand: consent.attribution_required, operator: eq, rightOperand: true}
    creditFrom: consent.credit_text
"""


@pytest.fixture(scope="module")
def studio() -> Policy:
    return load_policy(DEFAULT_POLICY.read_bytes(), str(DEFAULT_POLICY))


@pytest.fixture(scope="module")
def every_kind() -> Policy:
    return load_policy(EVERY_KIND.encode(), "every-kind")


def rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    uid = f"{doc['uid']}#{rule_id}"
    return next(r for key in ("permission", "prohibition") for r in doc.get(key, []) if r["uid"] == uid)


def round_trip(policy: Policy) -> Policy:
    return load_policy(from_odrl(json.loads(odrl_json(to_odrl(policy)))).encode("utf-8"), "imported")


# --- export -------------------------------------------------------------------------------------

def test_the_studio_policy_exports_as_json_ld_with_the_odrl_context_and_every_rule_uid(studio: Policy) -> None:
    text = odrl_json(to_odrl(studio))
    doc = json.loads(text)
    assert doc["@context"][0] == ODRL_CONTEXT and doc["@context"][1]["slate"] == "urn:slate:odrl:"
    assert doc["@type"] == "Set" and doc["uid"] == UID and doc["profile"] == PROFILE
    uids = [r["uid"] for key in ("permission", "prohibition") for r in doc[key]]
    assert sorted(uids) == sorted(f"{UID}#{i}" for i in studio.rule_ids())
    assert doc["slate:order"] == [f"{UID}#{i}" for i in studio.rule_ids()]
    assert all(r["action"] == "use" and r["dc:title"] for key in ("permission", "prohibition") for r in doc[key])


def test_the_export_is_deterministic_so_two_exports_diff_clean(studio: Policy) -> None:
    again = load_policy(DEFAULT_POLICY.read_bytes(), "again")
    assert odrl_json(to_odrl(studio)) == odrl_json(to_odrl(again))
    assert list(json.loads(odrl_json(to_odrl(studio)))) == sorted(json.loads(odrl_json(to_odrl(studio))))


def test_a_prohibition_is_an_odrl_prohibition_of_use_on_its_target(studio: Policy) -> None:
    doc = to_odrl(studio)
    retired = rule(doc, "model-not-retired")
    assert retired in doc["prohibition"]
    assert retired["target"] == {"@type": "AssetCollection", "uid": "urn:slate:target:request"}
    assert retired["constraint"] == [{"leftOperand": "slate:model.status", "operator": "eq",
                                      "rightOperand": "retired"}]
    several = rule(doc, "licence-not-taken-down")
    assert several["target"]["slate:union"] == ["urn:slate:target:reference", "urn:slate:target:training_asset"]
    assert several["slate:when"] == {"leftOperand": "slate:licence", "operator": "slate:exists",
                                     "rightOperand": True}


def test_a_requirement_is_a_permission_whose_constraint_must_hold(studio: Policy) -> None:
    doc = to_odrl(studio)
    member = rule(doc, "requester-in-production")
    assert member in doc["permission"] and "duty" not in member
    assert member["constraint"] == [{"leftOperand": "slate:requester.productions", "operator": "hasPart",
                                     "rightOperandReference": "slate:request.production"}]


def test_an_approval_is_a_permission_with_an_obtain_consent_duty_naming_who_signs_off(every_kind: Policy) -> None:
    approval = rule(to_odrl(every_kind), "release-needs-two")
    (duty,) = approval["duty"]
    assert duty["action"] == "obtainConsent"
    assert duty["consentingParty"] == [{"@type": "PartyCollection", "uid": "urn:slate:role:approver"},
                                       {"@type": "PartyCollection", "uid": "urn:slate:role:producer"}]
    assert (duty["slate:count"], duty["slate:fromProduction"], duty["slate:department"],
            duty["slate:notRequesterDepartment"]) == (2, True, "finance", True)
    assert duty["constraint"] == [{"leftOperand": "slate:request.use", "operator": "isAnyOf",
                                   "rightOperand": ["final_frame", "marketing"], "slate:list": "release_uses"}]
    assert "constraint" not in approval


def test_a_credit_duty_is_an_attribute_duty_with_its_text_or_source(every_kind: Policy) -> None:
    doc = to_odrl(every_kind)
    assert rule(doc, "credit-text")["duty"] == [{"action": "attribute", "slate:credit": "Courtesy of the archive"}]
    performer = rule(doc, "credit-performer")["duty"][0]
    assert performer["slate:creditFrom"] == "consent.credit_text"
    assert performer["constraint"] == [{"leftOperand": "slate:consent.attribution_required", "operator": "eq",
                                        "rightOperand": True}]


@pytest.mark.parametrize(("slate", "odrl"), [
    *[(op, op) for op in ("eq", "neq", "lt", "lteq", "gt", "gteq", "isAnyOf", "isNoneOf", "isPartOf",
                          "isAllOf", "hasPart")],
    *[(op, f"slate:{op}") for op in ("contains", "hasAnyOf", "hasNoneOf", "exists", "before", "after")],
])
def test_each_operator_maps_to_odrl_or_to_the_slate_profile(slate: str, odrl: str) -> None:
    from governance.policy.document import Leaf
    from governance.policy.odrl import constraint_to_odrl
    assert constraint_to_odrl(Leaf("request.use", slate, "x"))["operator"] == odrl


def test_not_is_the_negated_operator_where_odrl_has_one_and_slate_not_otherwise(every_kind: Policy) -> None:
    doc = to_odrl(every_kind)
    scope = rule(doc, "licence-scope")
    assert scope["slate:when"] == {"leftOperand": "slate:licence.takedown", "operator": "neq",
                                   "rightOperand": True, "slate:negated": True}
    parts = scope["constraint"][0]["and"]
    assert parts[1] == {"leftOperand": "slate:licence.territories", "operator": "slate:hasNoneOf",
                        "rightOperand": ["XX", "YY"], "slate:list": "blocked", "slate:negated": True}
    assert parts[2] == {"slate:not": {"leftOperand": "slate:licence.grants", "operator": "hasPart",
                                      "rightOperand": "concept"}}


def test_quantifiers_are_profile_extensions(every_kind: Policy) -> None:
    parts = rule(to_odrl(every_kind), "quantified")["constraint"][0]["and"]
    assert parts[0] == {"slate:every": {"slate:over": "request.named_people", "slate:as": "name", "slate:satisfies": {
        "leftOperand": "slate:request.people", "operator": "slate:contains", "rightOperandReference": "slate:name"}}}
    assert set(parts[1]) == {"slate:none"} and set(parts[2]["slate:not"]) == {"slate:any"}
    assert parts[3]["slate:count"]["slate:over"] == "performers"
    assert (parts[3]["operator"], parts[3]["rightOperand"]) == ("lteq", 2)
    assert "slate:where" not in parts[4]["slate:count"]


# --- round trip ---------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["studio", "every_kind"])
def test_import_of_an_export_gives_the_same_policy(which: str, request: pytest.FixtureRequest) -> None:
    policy: Policy = request.getfixturevalue(which)
    back = round_trip(policy)
    assert back.rules == policy.rules  # ids, kinds, titles, targets, when, constraint trees, approvers
    assert back.duties == policy.duties
    assert (back.uid, back.version, back.title, back.description) == \
        (policy.uid, policy.version, policy.title, policy.description)
    assert dict(back.lists) == dict(policy.lists)


def test_an_import_without_slate_order_or_lists_takes_them_from_the_document(every_kind: Policy) -> None:
    doc = to_odrl(every_kind)
    del doc["slate:order"], doc["slate:lists"]
    back = load_policy(from_odrl(doc).encode(), "imported")
    assert {r.id: r for r in back.rules} == {r.id: r for r in every_kind.rules}
    assert dict(back.lists) == dict(every_kind.lists)


# --- hostile and unmappable documents -------------------------------------------------------------

def _nested(depth: int) -> dict[str, Any]:
    c: dict[str, Any] = {"leftOperand": "slate:model.status", "operator": "eq", "rightOperand": "x"}
    for _ in range(depth):
        c = {"and": [c]}
    return c


def _edit(path: list[Any], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        here: Any = doc
        for part in path[:-1]:
            here = here[part]
        here[path[-1]] = value
    return edit


HOSTILE = {
    "unknown operator": (_edit(["permission", 0, "constraint", 0, "operator"], "regex"),
                         "$.permission[0].constraint[0].operator: 'regex' is not an operator"),
    "party constraint": (_edit(["permission", 0, "assignee"], {"@type": "PartyCollection", "refinement": [
        {"leftOperand": "role", "operator": "eq", "rightOperand": "producer"}]}),
        "$.permission[0].assignee: parties do not map"),
    "ODRL left operand": (_edit(["prohibition", 0, "constraint", 0, "leftOperand"], "spatial"),
                          "$.prohibition[0].constraint[0].leftOperand: 'spatial' is not a Slate fact"),
    "xone": (_edit(["permission", 0, "constraint", 0], {"xone": [_nested(0), _nested(0)]}),
             "$.permission[0].constraint[0].xone: xone does not map"),
    "obligation": (_edit(["obligation"], [{"action": "compensate"}]), "$.obligation: obligations do not map"),
    "an offer": (_edit(["@type"], "Offer"), "$.@type: only a Set maps"),
    "action refinement": (_edit(["permission", 0, "action"], {"rdf:value": "use", "refinement": []}),
                          "$.permission[0].action: Slate's rules are about the action use"),
    "ten thousand rules": (_edit(["permission"], [{"uid": f"{UID}#r{i}"} for i in range(10_000)]),
                           f"more than {MAX_RULES:,} rules"),
    "deep logic": (_edit(["permission", 0, "constraint"], [_nested(10_000)]),
                   f"nested deeper than {MAX_DEPTH} levels"),
    "just past the depth": (_edit(["permission", 0, "constraint"], [_nested(MAX_DEPTH)]),
                            f"nested deeper than {MAX_DEPTH} levels"),
    "constraints not objects": (_edit(["permission", 0, "constraint"], [5, "x", None, [1]]),
                                "$.permission[0].constraint[3]: a constraint is an object"),
    "rule not an object": (_edit(["prohibition", 0], ["x"]), "$.prohibition[0]: a rule is an object"),
    "right operand an object": (_edit(["prohibition", 0, "constraint", 0, "rightOperand"], {"a": {"b": 1}}),
                                "$.prohibition[0].constraint[0].rightOperand: a right operand is"),
    "a foreign target": (_edit(["prohibition", 0, "target"], "http://example.com/asset/9"),
                         "$.prohibition[0].target: a target is one of"),
    "a list name reused": (_edit(["slate:lists"], 5), "$.slate:lists: named lists are an object"),
    "a rule uid of another policy": (_edit(["prohibition", 0, "uid"], "urn:other#x"),
                                     "$.prohibition[0].uid: a rule's uid is the policy's uid"),
    "a huge unknown key": (_edit(["x" * 100_000], 1), "does not map to Slate's policy language"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_an_unmappable_or_hostile_document_is_refused_by_name_and_path_quickly(studio: Policy, case: str) -> None:
    edit, expected = HOSTILE[case]
    doc = copy.deepcopy(to_odrl(studio))
    edit(doc)
    started = time.perf_counter()
    with pytest.raises(OdrlImportError) as refused:
        from_odrl(doc)
    assert time.perf_counter() - started < 1.0
    assert refused.value.status == 422
    assert expected in refused.value.message
    assert len(refused.value.message) < 20_000


@pytest.mark.parametrize("doc", [None, "a policy", 7, [], [{"@type": "Set"}], True])
def test_a_document_that_is_not_an_object_is_refused(doc: Any) -> None:
    with pytest.raises(OdrlImportError, match=r"\$: an ODRL policy is a JSON object"):
        from_odrl(doc)


def test_a_document_that_maps_to_an_invalid_policy_is_refused_with_the_loaders_problems(studio: Policy) -> None:
    doc = to_odrl(studio)
    doc["prohibition"][0]["constraint"][0]["leftOperand"] = "slate:model.colour"
    with pytest.raises(SlateError) as refused:
        from_odrl(doc)
    assert refused.value.status == 422 and "model.colour" in refused.value.message


@pytest.mark.parametrize(("data", "status", "said"), [
    (b"[" * 200_000, 422, f"nested deeper than {MAX_DEPTH}"),
    (b"{" + b" " * MAX_ODRL_BYTES + b"}", 413, "at most"),
    (b'{"uid": NaN}', 422, "not readable as JSON"),
    (b"\xff\xfe\x00garbage", 422, "not readable as JSON"),
    (b"", 422, "not readable as JSON"),
])
def test_bytes_that_are_not_a_readable_document_are_refused(data: bytes, status: int, said: str) -> None:
    with pytest.raises(SlateError) as refused:
        read_odrl(data, "upload.json")
    assert refused.value.status == status and said in refused.value.message


# --- the command line ------------------------------------------------------------------------------

def run(settings: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"SLATE_HOME": str(settings.home)}, catch_exceptions=False)


def test_export_then_import_odrl_from_the_command_line(settings: Any, tmp_path: Path, studio: Policy) -> None:
    printed = run(settings, "policy", "export", str(DEFAULT_POLICY), "--format", "odrl")
    assert printed.exit_code == 0 and json.loads(printed.output) == json.loads(odrl_json(to_odrl(studio)))
    exported, imported = tmp_path / "studio.jsonld", tmp_path / "studio.yaml"
    assert run(settings, "policy", "export", str(DEFAULT_POLICY), "--out", str(exported)).exit_code == 0
    result = run(settings, "policy", "import-odrl", str(exported), "--out", str(imported))
    assert result.exit_code == 0, result.output
    assert load_policy(imported.read_bytes(), "imported").rules == studio.rules


def test_import_odrl_of_an_unmappable_file_is_one_clear_error(settings: Any, tmp_path: Path) -> None:
    bad = tmp_path / "offer.jsonld"
    bad.write_text(json.dumps({"@context": ODRL_CONTEXT, "@type": "Offer", "uid": "urn:x:y",
                               "permission": [{"uid": "urn:x:y#a", "action": "play", "assigner": "urn:p"}]}))
    result = run(settings, "policy", "import-odrl", str(bad), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 6
    assert "$.@type: only a Set maps" in result.output and "$.permission[0].assigner" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.yaml").exists()


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [path] + [p for key, child in children for p in _places(child, (*path, key))]


def test_any_value_anywhere_is_mapped_or_refused_never_a_crash(every_kind: Policy) -> None:
    """Every place in an export (one rule of each kind), given each kind of JSON value."""
    base = to_odrl(every_kind)
    base["permission"] = [rule(base, "licence-scope"), rule(base, "release-needs-two"), rule(base, "credit-text")]
    base["prohibition"] = base["prohibition"][:1]
    del base["slate:order"]
    started, tried = time.perf_counter(), 0
    for place in _places(base)[1:]:
        for value in (None, 0, True, "x", [], {}, [{}], {"@id": []}, [[1]]):
            doc = copy.deepcopy(base)
            _edit(list(place), value)(doc)
            tried += 1
            try:
                load_policy(from_odrl(doc).encode(), "imported")
            except SlateError as refused:
                assert 400 <= refused.status < 500, (place, value)
    assert tried > 1000 and time.perf_counter() - started < 60

"""A policy as ODRL 2.2 JSON-LD, so rights systems can read Slate's rules; and back.

``to_odrl(policy)`` writes an ODRL ``Set`` in JSON-LD; ``from_odrl(doc)`` reads the subset
of ODRL that means exactly what a Slate rule means, as a Slate policy file (YAML text that
``load_policy`` accepts), and refuses everything else, each construct named with its JSON
path. Importing something partly would silently drop a restriction, so nothing is ignored.
Pure: no database, no Flask, no clock.

How Slate maps (the Slate profile, ``urn:slate:odrl:`` with the prefix ``slate:``):

* a **prohibition** is an ODRL ``prohibition`` of action ``use``; a **requirement** is a
  ``permission`` of ``use`` whose ``constraint`` must hold (ODRL: use is permitted only when
  it is satisfied); an **approval** is a ``permission`` with a ``duty`` of action
  ``obtainConsent`` whose ``constraint`` says when sign-off is needed, and whose
  ``consentingParty`` names the approver roles as ``PartyCollection`` s
  (``urn:slate:role:legal``; several mean *any of them*), with ``slate:count``,
  ``slate:fromProduction``, ``slate:department`` and ``slate:notRequesterDepartment``;
  a **duty** (a credit line) is a ``permission`` with a ``duty`` of action ``attribute``
  whose ``constraint`` is the duty's ``when``, carrying ``slate:credit`` (the text) or
  ``slate:creditFrom`` (a path).
* a rule's ``uid`` is the policy uid + ``#`` + the rule id; ``dc:title``, ``dc:description``.
* a rule's ``target`` is an ``AssetCollection``: ``urn:slate:target:performer``; a rule with
  several targets names them in ``slate:union``.
* a rule's ``when`` is ``slate:when`` on the rule: the rule applies only to subjects for
  which it holds. A reader without the profile reads every rule as at least as strict
  as Slate applies it (a prohibition or requirement everywhere, not only where ``when`` holds).
* a comparison is an ODRL ``constraint``: ``leftOperand`` is a Slate path in the profile
  (``slate:consent.uses``); ODRL's operators (eq, neq, lt, lteq, gt, gteq, isAnyOf, isNoneOf,
  isPartOf, isAllOf, hasPart) keep their names; Slate's others are profile operators
  (``slate:contains``, ``slate:hasAnyOf``, ``slate:hasNoneOf``, ``slate:exists``,
  ``slate:before``, ``slate:after``). ``rightOperandReference`` is a path in the profile; a
  named list is written out as ``rightOperand`` with its name in ``slate:list`` (and all the
  lists in ``slate:lists``).
* ``and`` / ``or`` are ODRL logical constraints. ODRL has no ``not``: a negated comparison
  whose operator has a negation is written with that operator and ``slate:negated: true``
  (a reader without the profile reads ``neq`` for ``not eq``, which differs only where the
  fact is absent: Slate's ``not`` holds there, a comparison never does); any other ``not`` is
  ``slate:not``.
* the quantifiers ``every`` / ``any`` / ``none`` / ``count`` are ``slate:every`` (...) with
  ``slate:over``, ``slate:as``, ``slate:satisfies`` (``slate:where`` for a count, whose
  ``operator`` and ``rightOperand`` sit beside it). They have no ODRL counterpart and are
  not portable: a reader without the Slate profile cannot evaluate them.
* ``slate:version`` is the policy version; ``slate:order`` lists the rules' uids in the
  file's order (ODRL's rule lists are unordered sets).

Output is deterministic: ``odrl_json`` writes sorted keys and rules in the file's order, so
two exports can be diffed.

An ODRL document is hostile input: ``read_odrl`` refuses more than ``MAX_ODRL_BYTES``;
``from_odrl`` refuses nesting past ``MAX_DEPTH`` and more than ``MAX_VALUES`` values (both
measured without recursion before anything is read), more than ``MAX_RULES`` rules, and
every key it does not know, with at most ``MAX_PROBLEMS`` problems reported.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import yaml

from ..errors import PolicyError
from .document import (
    AllOf,
    AnyOf,
    Approvers,
    Constraint,
    Count,
    Duty,
    Leaf,
    Not,
    Policy,
    Quantified,
    Rule,
)
from .loader import MAX_DEPTH, MAX_PROBLEM_CHARS, MAX_PROBLEMS, PolicyTooLarge, load_policy
from .paths import Declarations

ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
ODRL_NS = "http://www.w3.org/ns/odrl/2/"
SLATE_NS = "urn:slate:odrl:"
DC_NS = "http://purl.org/dc/terms/"
PROFILE = "urn:slate:odrl:profile:1"
TARGET_NS = "urn:slate:target:"
ROLE_NS = "urn:slate:role:"
CONTEXT: list[Any] = [ODRL_CONTEXT, {
    "slate": SLATE_NS, "dc": DC_NS,
    "slate:lists": {"@type": "@json"},
    "slate:order": {"@container": "@list", "@type": "@id"},
}]
MEDIA_TYPE = "application/ld+json"

#: An ODRL export of the studio's policy is about 40 KB; a file eight times the largest
#: policy Slate accepts (128 KiB of YAML, which ODRL writes about three times longer).
MAX_ODRL_BYTES = 1024 * 1024
#: A policy legal writes has a few dozen rules.
MAX_RULES = 1000
#: JSON values (objects, arrays and scalars) in one document: the studio's has about 1,500.
MAX_VALUES = 100_000

#: ODRL's own operators, which Slate's keep the name of.
ODRL_OPERATORS = frozenset({"eq", "neq", "lt", "lteq", "gt", "gteq", "isAnyOf", "isNoneOf", "isPartOf",
                            "isAllOf", "hasPart"})
#: Slate's operators with no ODRL counterpart: profile operators.
PROFILE_OPERATORS = frozenset({"contains", "hasAnyOf", "hasNoneOf", "exists", "before", "after"})
#: ``not (x OP y)`` written as ``x NEGATED[OP] y``; equal wherever the fact is present.
NEGATED = {"eq": "neq", "neq": "eq", "lt": "gteq", "gteq": "lt", "gt": "lteq", "lteq": "gt",
           "isAnyOf": "isNoneOf", "isNoneOf": "isAnyOf", "hasAnyOf": "hasNoneOf", "hasNoneOf": "hasAnyOf"}
_QUANTIFIERS = ("every", "any", "none")
_TARGETS = ("request", "reference", "training_asset", "performer", "output", "training")
_SET_TYPES = frozenset({"Set", "odrl:Set", ODRL_NS + "Set", "Policy", "odrl:Policy", ODRL_NS + "Policy"})
_USE = frozenset({"use", "odrl:use", ODRL_NS + "use"})


# --- export ----------------------------------------------------------------------------------

def to_odrl(policy: Policy) -> dict[str, Any]:
    """``policy`` as an ODRL 2.2 ``Set`` in JSON-LD (see the module docstring for the mapping)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT, "@type": "Set", "uid": policy.uid, "profile": PROFILE,
        "dc:title": policy.title, "slate:version": policy.version,
    }
    if policy.description:
        doc["dc:description"] = policy.description
    if policy.lists:
        doc["slate:lists"] = {name: list(values) for name, values in policy.lists.items()}
    if policy.disclosure.approvers_see_prompt:
        doc["slate:disclosure"] = policy.disclosure.to_dict()
    permissions: list[dict[str, Any]] = []
    prohibitions: list[dict[str, Any]] = []
    for rule in policy.rules:
        (prohibitions if rule.type == "prohibition" else permissions).append(_rule(policy.uid, rule))
    permissions += [_duty(policy.uid, duty) for duty in policy.duties]
    if permissions:
        doc["permission"] = permissions
    if prohibitions:
        doc["prohibition"] = prohibitions
    doc["slate:order"] = [_rule_uid(policy.uid, rule_id) for rule_id in policy.rule_ids()]
    return doc


def odrl_json(doc: Mapping[str, Any]) -> str:
    """The one text of an export: sorted keys, two-space indents, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _rule_uid(policy_uid: str, rule_id: str) -> str:
    return f"{policy_uid}#{rule_id}"


def _header(policy_uid: str, rule_id: str, title: str, description: str,
            targets: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"uid": _rule_uid(policy_uid, rule_id), "dc:title": title,
                           "target": _target(targets), "action": "use"}
    if description:
        out["dc:description"] = description
    return out


def _target(targets: tuple[str, ...]) -> dict[str, Any]:
    if len(targets) == 1:
        return {"@type": "AssetCollection", "uid": TARGET_NS + targets[0]}
    return {"@type": "AssetCollection", "uid": TARGET_NS + "+".join(targets),
            "slate:union": [TARGET_NS + t for t in targets]}


def _rule(policy_uid: str, rule: Rule) -> dict[str, Any]:
    out = _header(policy_uid, rule.id, rule.title, rule.description, rule.targets)
    if rule.when is not None:
        out["slate:when"] = constraint_to_odrl(rule.when)
    if rule.type == "approval":
        out["duty"] = [_sign_off(rule.approvers or Approvers(), rule.constraint)]
    else:
        out["constraint"] = [constraint_to_odrl(rule.constraint)]
    return out


def _sign_off(approvers: Approvers, constraint: Constraint) -> dict[str, Any]:
    duty: dict[str, Any] = {
        "action": "obtainConsent", "constraint": [constraint_to_odrl(constraint)],
        "consentingParty": [{"@type": "PartyCollection", "uid": ROLE_NS + role} for role in approvers.roles],
        "slate:count": approvers.count, "slate:fromProduction": approvers.from_production,
        "slate:notRequesterDepartment": approvers.not_requester_department,
    }
    if approvers.department is not None:
        duty["slate:department"] = approvers.department
    return duty


def _duty(policy_uid: str, duty: Duty) -> dict[str, Any]:
    out = _header(policy_uid, duty.id, duty.title, duty.description, duty.targets)
    attribute: dict[str, Any] = {"action": "attribute"}
    if duty.when is not None:
        attribute["constraint"] = [constraint_to_odrl(duty.when)]
    if duty.credit is not None:
        attribute["slate:credit"] = duty.credit
    if duty.credit_from is not None:
        attribute["slate:creditFrom"] = duty.credit_from
    out["duty"] = [attribute]
    return out


def constraint_to_odrl(c: Constraint) -> dict[str, Any]:
    """One Slate constraint as an ODRL constraint, logical constraint or profile extension."""
    if isinstance(c, Leaf):
        return _leaf(c)
    if isinstance(c, AllOf):
        return {"and": [constraint_to_odrl(i) for i in c.items]}
    if isinstance(c, AnyOf):
        return {"or": [constraint_to_odrl(i) for i in c.items]}
    if isinstance(c, Not):
        if isinstance(c.item, Leaf) and c.item.operator in NEGATED:
            negated = Leaf(c.item.left, NEGATED[c.item.operator], c.item.right, c.item.right_ref,
                           c.item.right_list)
            return {**_leaf(negated), "slate:negated": True}
        return {"slate:not": constraint_to_odrl(c.item)}
    if isinstance(c, Quantified):
        return {f"slate:{c.quantifier}": {"slate:over": c.over, "slate:as": c.var,
                                          "slate:satisfies": constraint_to_odrl(c.body)}}
    return _count(c)


def _count(c: Count) -> dict[str, Any]:
    count: dict[str, Any] = {"slate:over": c.over, "slate:as": c.var}
    if c.where is not None:
        count["slate:where"] = constraint_to_odrl(c.where)
    return {"slate:count": count, "operator": c.operator, "rightOperand": c.right}


def _leaf(leaf: Leaf) -> dict[str, Any]:
    operator = leaf.operator if leaf.operator in ODRL_OPERATORS else f"slate:{leaf.operator}"
    out: dict[str, Any] = {"leftOperand": f"slate:{leaf.left}", "operator": operator}
    if leaf.right_ref is not None:
        out["rightOperandReference"] = f"slate:{leaf.right_ref}"
    else:
        out["rightOperand"] = list(leaf.right) if isinstance(leaf.right, tuple) else leaf.right
    if leaf.right_list is not None:
        out["slate:list"] = leaf.right_list
    return out


# --- import ----------------------------------------------------------------------------------

class OdrlImportError(PolicyError):
    """An ODRL document Slate cannot import; ``problems`` names each construct with its JSON
    path. At most ``MAX_PROBLEMS`` lines of at most ``MAX_PROBLEM_CHARS`` are kept."""

    def __init__(self, source: str, problems: list[str]) -> None:
        count = len(problems)
        kept = [p if len(p) <= MAX_PROBLEM_CHARS else p[:MAX_PROBLEM_CHARS - 1] + "\u2026"
                for p in problems[:MAX_PROBLEMS]]
        more = f"\n  ... and {count - MAX_PROBLEMS} more" if count > MAX_PROBLEMS else ""
        super().__init__(
            f"{source[:120]} cannot be imported as a Slate policy ({count} problem{'s' if count != 1 else ''}):\n"
            + "\n".join(f"  {p}" for p in kept) + more,
            hint="Slate imports the ODRL its own export writes (a Set in the Slate profile "
                 f"{PROFILE}); see governance/policy/odrl.py",
            fields={"problems": kept, "problem_count": count})
        self.problems = kept


def read_odrl(data: bytes, source: str = "the ODRL document") -> Any:
    """Parse an ODRL document's bytes (JSON), refusing more than ``MAX_ODRL_BYTES`` unread."""
    if len(data) > MAX_ODRL_BYTES:
        raise PolicyTooLarge(source, [f"the file is {len(data):,} bytes; at most {MAX_ODRL_BYTES:,} are read"])
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise OdrlImportError(source, [f"$: nested deeper than {MAX_DEPTH} levels"]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise OdrlImportError(source, [f"$: not readable as JSON: {str(exc)[:200]}"]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def from_odrl(doc: Any, source: str = "the ODRL document", catalogue: Declarations | None = None) -> str:
    """A Slate policy file (YAML text) from an ODRL document in the subset that maps.

    Raises ``OdrlImportError`` listing every construct that does not map, each with its JSON
    path (``$.permission[2].constraint[0].operator``), and ``PolicyFileError`` if what it
    maps to is not a valid policy (an unknown fact, say); what it returns loads with
    ``load_policy``."""
    _check_size(doc, source)
    reader = _Reader()
    policy = reader.policy(doc)
    if reader.problems:
        raise OdrlImportError(source, reader.problems)
    text = _HEADER + yaml.safe_dump(policy, sort_keys=False, allow_unicode=True, width=100)
    load_policy(text.encode("utf-8"), f"{source} (as a Slate policy)", catalogue)
    return text


_HEADER = "# Imported from ODRL 2.2 JSON-LD by `slate policy import-odrl`.\n"


def _check_size(doc: Any, source: str) -> None:
    """Nesting and size of a parsed document, measured without recursion."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    values = 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise OdrlImportError(source, [f"$: more than {MAX_VALUES:,} values"])
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise OdrlImportError(source, [f"$: nested deeper than {MAX_DEPTH} levels"])
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


_POLICY_KEYS = {"@context", "@type", "uid", "profile", "dc:title", "dc:description", "slate:version",
                "slate:lists", "slate:order", "slate:disclosure", "permission", "prohibition"}
_RULE_KEYS = {"uid", "dc:title", "dc:description", "target", "action", "constraint", "slate:when"}
_LEAF_KEYS = {"leftOperand", "operator", "rightOperand", "rightOperandReference", "slate:list", "slate:negated"}
_SIGN_OFF_KEYS = {"action", "constraint", "consentingParty", "slate:count", "slate:fromProduction",
                  "slate:department", "slate:notRequesterDepartment"}
_ATTRIBUTE_KEYS = {"action", "constraint", "slate:credit", "slate:creditFrom"}
#: what ODRL has and Slate does not, with what to write instead
_WHY_NOT = {
    "assigner": "parties do not map: a Slate rule applies to every request; constrain requester.* instead",
    "assignee": "parties do not map: a Slate rule applies to every request; constrain requester.* instead",
    "obligation": "obligations do not map: Slate's duties are credit lines attached to a permission",
    "remedy": "remedies do not map",
    "consequence": "consequences do not map",
    "refinement": "refinements do not map: write the condition as a constraint",
    "xone": "xone does not map: Slate has and, or and not",
    "andSequence": "andSequence does not map: Slate has and, or and not",
    "inheritFrom": "inherited policies do not map: export the whole policy",
    "conflict": "conflict strategies do not map: in Slate a prohibition always wins",
    "unit": "units do not map", "dataType": "data types do not map", "status": "status does not map",
}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


class _Reader:
    """Reads one ODRL document into the dict a Slate policy file holds, collecting problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.uid = ""
        self.found_lists: dict[str, list[Any]] = {}

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def unknown(self, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(map(str, set(data) - allowed)):
            shown = key if len(key) <= 60 else key[:59] + "\u2026"  # the explanation must survive the cut
            self.problem(f"{where}.{shown}", _WHY_NOT.get(key, "does not map to Slate's policy language"))

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is None or _is_text(value):
            return value
        self.problem(f"{where}.{key}", "must be text")
        return None

    # the policy

    def policy(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict):
            self.problem("$", "an ODRL policy is a JSON object")
            return {}
        self.unknown(doc, _POLICY_KEYS, "$")
        self.context(doc.get("@context"))
        if not _one_of(doc.get("@type", "Set"), _SET_TYPES):
            self.problem("$.@type", "only a Set maps: an Offer or Agreement names parties, and Slate's rules "
                                    "apply to every request")
        if doc.get("profile", PROFILE) not in (PROFILE, [PROFILE]):
            self.problem("$.profile", f"Slate reads its own profile, {PROFILE}")
        self.uid = self.text(doc, "uid", "$") or ""
        if not self.uid:
            self.problem("$.uid", "a policy needs a uid (a URI)")
        out: dict[str, Any] = {"uid": self.uid, "version": self.version(doc.get("slate:version", 1)),
                               "title": self.text(doc, "dc:title", "$") or self.uid}
        description = self.text(doc, "dc:description", "$")
        if description:
            out["description"] = description
        declared = self.lists(doc.get("slate:lists"))
        items = self.rules(doc)
        lists = declared if declared is not None else self.found_lists
        if lists:
            out["lists"] = lists
        if doc.get("slate:disclosure") is not None:
            out["disclosure"] = doc["slate:disclosure"]  # the policy schema checks it
        ordered = self.ordered(items, doc.get("slate:order"))
        out["rules"] = [rule for kind, rule in ordered if kind == "rule"]
        duties = [rule for kind, rule in ordered if kind == "duty"]
        if duties:
            out["duties"] = duties
        return out

    def context(self, context: Any) -> None:
        parts = context if isinstance(context, list) else [context]
        if ODRL_CONTEXT not in parts:
            self.problem("$.@context", f"an ODRL policy names the ODRL context, {ODRL_CONTEXT}")
        for i, part in enumerate(parts):
            if isinstance(part, dict) and part.get("slate", SLATE_NS) != SLATE_NS:
                self.problem(f"$.@context[{i}].slate", f"the prefix slate is the Slate profile's, {SLATE_NS}")

    def version(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem("$.slate:version", "a policy version is a whole number from 1")
            return 1
        return value

    def lists(self, value: Any) -> dict[str, list[Any]] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
            self.problem("$.slate:lists", "named lists are an object of lists of values")
            return None
        return value

    def rules(self, doc: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, uid, Slate rule or duty) for each rule, prohibitions first."""
        found: list[tuple[str, str, dict[str, Any]]] = []
        total = 0
        for key in ("prohibition", "permission"):
            rules = doc.get(key, [])
            if not isinstance(rules, list):
                rules = [rules]
            total += len(rules)
            if total > MAX_RULES:
                self.problem(f"$.{key}", f"more than {MAX_RULES:,} rules; a policy is a few dozen")
                return []
            for i, rule in enumerate(rules):
                read = self.rule(key, rule, f"$.{key}[{i}]")
                if read is not None:
                    found.append(read)
        return found

    def ordered(self, items: list[tuple[str, str, dict[str, Any]]], order: Any) -> list[tuple[str, dict[str, Any]]]:
        if order is None:
            return [(kind, rule) for kind, _, rule in items]
        by_uid = {uid: (kind, rule) for kind, uid, rule in items}
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(by_uid):
            self.problem("$.slate:order", "lists each rule's uid once, and nothing else")
            return [(kind, rule) for kind, _, rule in items]
        return [by_uid[str(uid)] for uid in order]

    # one rule

    def rule(self, key: str, rule: Any, where: str) -> tuple[str, str, dict[str, Any]] | None:
        if not isinstance(rule, dict):
            self.problem(where, "a rule is an object")
            return None
        self.unknown(rule, _RULE_KEYS | ({"duty"} if key == "permission" else set()), where)
        uid = self.text(rule, "uid", where) or ""
        if not _one_of(rule.get("action"), _USE):
            self.problem(f"{where}.action", "Slate's rules are about the action use (a plain IRI, no refinement)")
        out: dict[str, Any] = {"id": self.rule_id(uid, where)}
        out["title"] = self.text(rule, "dc:title", where) or out["id"]
        description = self.text(rule, "dc:description", where)
        if description:
            out["description"] = description
        out["target"] = self.targets(rule.get("target"), f"{where}.target")
        duties = rule.get("duty", [])
        duties = duties if isinstance(duties, list) else [duties]
        if len(duties) > 1:
            self.problem(f"{where}.duty", "a Slate rule has at most one duty: a sign-off or a credit line")
            return None
        kind = self.duty(duties[0], f"{where}.duty[0]", out) if duties else "rule"
        if kind == "rule":
            out["type"] = "requirement" if key == "permission" else "prohibition"
            out["constraint"] = self.constraints(rule.get("constraint"), f"{where}.constraint")
        elif "constraint" in rule:
            self.problem(f"{where}.constraint", "a rule with a duty says when in the duty's constraint")
        if "slate:when" in rule:
            if kind == "duty":
                self.problem(f"{where}.slate:when", "a credit line applies where its duty's constraint holds")
            else:
                out["when"] = self.constraint(rule["slate:when"], f"{where}.slate:when")
        return ("duty" if kind == "duty" else "rule"), uid, _in_file_order(out)

    def rule_id(self, uid: str, where: str) -> str:
        prefix = f"{self.uid}#"
        rule_id = uid[len(prefix):] if uid.startswith(prefix) else ""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", rule_id):
            self.problem(f"{where}.uid", f"a rule's uid is the policy's uid, #, and a rule id "
                                         f"({prefix}my-rule: lower case, digits and -)")
            return "rule"
        return rule_id

    def targets(self, target: Any, where: str) -> str | list[str]:
        iris: Any = target
        if isinstance(target, dict):
            self.unknown(target, {"@type", "uid", "slate:union"}, where)
            iris = target.get("slate:union", target.get("uid"))
        iris = iris if isinstance(iris, list) else [iris]
        names = [iri[len(TARGET_NS):] if isinstance(iri, str) and iri.startswith(TARGET_NS) else None
                 for iri in iris]
        if not names or not all(n in _TARGETS for n in names):
            self.problem(where, f"a target is one of {', '.join(TARGET_NS + t for t in _TARGETS)} "
                                "(an AssetCollection), or several in slate:union")
            return "request"
        return names[0] if len(names) == 1 else names  # type: ignore[return-value]

    def duty(self, duty: Any, where: str, out: dict[str, Any]) -> str:
        """Reads a sign-off (an approval rule) or a credit line (a duty) into ``out``; says which."""
        if not isinstance(duty, dict):
            self.problem(where, "a duty is an object")
            return "rule"
        action = duty.get("action")
        if _one_of(action, {"obtainConsent", "odrl:obtainConsent", ODRL_NS + "obtainConsent"}):
            self.unknown(duty, _SIGN_OFF_KEYS, where)
            out.update(type="approval", approvers=self.approvers(duty, where))
            out["constraint"] = self.constraints(duty.get("constraint"), f"{where}.constraint")
            return "approval"
        if _one_of(action, {"attribute", "odrl:attribute", ODRL_NS + "attribute"}):
            self.unknown(duty, _ATTRIBUTE_KEYS, where)
            out["action"] = "attribute"
            if "constraint" in duty:
                out["when"] = self.constraints(duty["constraint"], f"{where}.constraint")
            for key, slate_key in (("slate:credit", "credit"), ("slate:creditFrom", "creditFrom")):
                value = self.text(duty, key, where)
                if value is not None:
                    out[slate_key] = value
            return "duty"
        self.problem(f"{where}.action", "a duty is obtainConsent (a sign-off) or attribute (a credit line)")
        return "approval"

    def approvers(self, duty: Mapping[str, Any], where: str) -> dict[str, Any]:
        parties = duty.get("consentingParty", [])
        parties = parties if isinstance(parties, list) else [parties]
        roles = []
        for i, party in enumerate(parties):
            iri = party.get("uid") if isinstance(party, dict) else party
            if isinstance(party, dict):
                self.unknown(party, {"@type", "uid"}, f"{where}.consentingParty[{i}]")
            if not (isinstance(iri, str) and iri.startswith(ROLE_NS)):
                self.problem(f"{where}.consentingParty[{i}]", f"an approver is a role, {ROLE_NS}legal "
                                                              "(a PartyCollection)")
                continue
            roles.append(iri[len(ROLE_NS):])
        out: dict[str, Any] = {}
        if roles:
            out["roles"] = roles
        for key, slate_key in (("slate:count", "count"), ("slate:fromProduction", "fromProduction"),
                               ("slate:department", "department"),
                               ("slate:notRequesterDepartment", "notRequesterDepartment")):
            if key in duty:
                out[slate_key] = duty[key]
        return out

    # constraints

    def constraints(self, value: Any, where: str) -> dict[str, Any]:
        """A rule's ``constraint`` (ODRL: a list, all of which hold) as one Slate constraint."""
        items = value if isinstance(value, list) else [value]
        if not items or value is None:
            self.problem(where, "a rule needs a constraint")
            return {}
        read = [self.constraint(c, f"{where}[{i}]" if isinstance(value, list) else where)
                for i, c in enumerate(items)]
        return read[0] if len(read) == 1 else {"and": read}

    def constraint(self, c: Any, where: str) -> dict[str, Any]:
        if not isinstance(c, dict):
            self.problem(where, "a constraint is an object")
            return {}
        for key in ("and", "or"):
            if key in c:
                self.unknown(c, {key}, where)
                return {key: self.each(c[key], f"{where}.{key}")}
        if "slate:not" in c:
            self.unknown(c, {"slate:not"}, where)
            return {"not": self.constraint(c["slate:not"], f"{where}.slate:not")}
        for quantifier in _QUANTIFIERS:
            if f"slate:{quantifier}" in c:
                self.unknown(c, {f"slate:{quantifier}"}, where)
                return {quantifier: self.quantified(c[f"slate:{quantifier}"], f"{where}.slate:{quantifier}",
                                                    "slate:satisfies")}
        if "slate:count" in c:
            self.unknown(c, {"slate:count", "operator", "rightOperand"}, where)
            return {"count": self.quantified(c["slate:count"], f"{where}.slate:count", "slate:where"),
                    "operator": self.operator(c.get("operator"), f"{where}.operator"),
                    "rightOperand": c.get("rightOperand")}
        return self.leaf(c, where)

    def each(self, items: Any, where: str) -> list[dict[str, Any]]:
        if isinstance(items, dict) and "@list" in items:
            items = items["@list"]
        if not isinstance(items, list) or not items:
            self.problem(where, "lists one or more constraints")
            return []
        return [self.constraint(c, f"{where}[{i}]") for i, c in enumerate(items)]

    def quantified(self, q: Any, where: str, body: str) -> dict[str, Any]:
        if not isinstance(q, dict):
            self.problem(where, "a quantifier is an object with slate:over, slate:as and " + body)
            return {}
        self.unknown(q, {"slate:over", "slate:as", body}, where)
        out: dict[str, Any] = {"over": self.text(q, "slate:over", where), "as": self.text(q, "slate:as", where)}
        if body in q:
            out["where" if body == "slate:where" else "satisfies"] = self.constraint(q[body], f"{where}.{body}")
        return out

    def leaf(self, c: Mapping[str, Any], where: str) -> dict[str, Any]:
        self.unknown(c, _LEAF_KEYS, where)
        if "leftOperand" not in c or "operator" not in c:
            self.problem(where, "a constraint is a comparison (leftOperand, operator, rightOperand), and/or, "
                                "or a Slate profile extension")
            return {}
        out: dict[str, Any] = {"leftOperand": self.path(c["leftOperand"], f"{where}.leftOperand"),
                               "operator": self.operator(c["operator"], f"{where}.operator")}
        if "rightOperandReference" in c:
            out["rightOperandReference"] = self.path(c["rightOperandReference"], f"{where}.rightOperandReference")
        elif "slate:list" in c:
            out["rightOperandList"] = self.named_list(c, where)
        else:
            out["rightOperand"] = self.value(c.get("rightOperand"), f"{where}.rightOperand")
        negated = c.get("slate:negated", False)
        if negated is True:
            if out["operator"] not in NEGATED:
                self.problem(f"{where}.slate:negated", f"{out['operator']} has no negation in Slate's profile")
                return out
            return {"not": {**out, "operator": NEGATED[out["operator"]]}}
        if negated is not False:
            self.problem(f"{where}.slate:negated", "is true or false")
        return out

    def named_list(self, c: Mapping[str, Any], where: str) -> str:
        name = c["slate:list"]
        values = c.get("rightOperand")
        if not isinstance(name, str) or not isinstance(values, list):
            self.problem(f"{where}.slate:list", "names the list whose values are the rightOperand")
            return str(name)
        if self.found_lists.setdefault(name, values) != values:
            self.problem(f"{where}.rightOperand", f"the list {name} has other values elsewhere in the document")
        return name

    def path(self, value: Any, where: str) -> str:
        if isinstance(value, dict) and set(value) == {"@id"}:
            value = value["@id"]
        if isinstance(value, str):
            for prefix in ("slate:", SLATE_NS):
                if value.startswith(prefix):
                    return value[len(prefix):]
        self.problem(where, f"{str(value)[:80]!r} is not a Slate fact: write a path in the Slate profile "
                            "(slate:consent.uses); ODRL's own left operands (dateTime, spatial, purpose, ...) "
                            "do not map")
        return "unknown"

    def operator(self, value: Any, where: str) -> str:
        if isinstance(value, dict) and set(value) == {"@id"}:
            value = value["@id"]
        name = _strip(value, ("odrl:", ODRL_NS)) if isinstance(value, str) else None
        if name in ODRL_OPERATORS:
            return name
        name = _strip(value, ("slate:", SLATE_NS)) if isinstance(value, str) else None
        if name in PROFILE_OPERATORS:
            return name
        self.problem(where, f"{str(value)[:80]!r} is not an operator Slate reads: ODRL's "
                            f"{', '.join(sorted(ODRL_OPERATORS))}, or the profile's "
                            f"{', '.join('slate:' + o for o in sorted(PROFILE_OPERATORS))}")
        return "eq"

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, dict) and "@value" in value:
            value = value["@value"]
        if isinstance(value, list) and all(_scalar(v) and v is not None for v in value):
            return value
        if _scalar(value):
            return value
        self.problem(where, "a right operand is a string, number, true/false, or a list of them")
        return None


def _one_of(value: Any, names: frozenset[str] | set[str]) -> bool:
    """``value in names`` for any JSON value (a list or an object is never one of them)."""
    return isinstance(value, str) and value in names


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _strip(value: str, prefixes: tuple[str, ...]) -> str | None:
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix):]
    return None if any(value.startswith(p) for p in ("slate:", SLATE_NS, "odrl:", ODRL_NS)) or ":" in value \
        else value


_FILE_ORDER = ("id", "type", "action", "title", "description", "target", "when", "approvers", "constraint",
               "credit", "creditFrom")


def _in_file_order(item: dict[str, Any]) -> dict[str, Any]:
    """A rule's keys in the order legal writes them."""
    return {k: item[k] for k in _FILE_ORDER if k in item}

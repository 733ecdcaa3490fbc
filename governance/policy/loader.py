"""Reading a policy file: YAML, then the JSON Schema, then the checks a schema cannot say.

Every problem is reported with its place in the file (``rules[3].constraint.operator``),
all of them at once, so legal can fix a file in one pass. Nothing is evaluated here.

Any legal user can send a policy over the API, so nothing here may grow beyond the input:
a file is refused unread past ``MAX_POLICY_BYTES``; anchors, aliases and merge keys (which
let a few bytes stand for billions of values) and nesting past ``MAX_DEPTH`` are refused
as the parser meets them, before any node is built; and an error quotes a bounded excerpt
of the file (``MAX_PROBLEM_CHARS`` a line, ``MAX_PROBLEMS`` lines).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonschema

from ..canonical import sha256_hex
from ..errors import PolicyError
from ..safeyaml import MAX_DEPTH as MAX_DEPTH
from ..safeyaml import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from ..safeyaml import MAX_PROBLEM_CHARS as MAX_PROBLEM_CHARS
from ..safeyaml import MAX_PROBLEMS as MAX_PROBLEMS
from ..safeyaml import LimitedLoader, ReuseLoader, YamlRefused, problem_report, read_document
from . import facts as F
from .document import DEFAULT_APPROVERS, Approvers, Disclosure, Duty, Policy, Rule, constraint_from_dict, targets_of
from .operators import DATE_ONLY, OPERATORS, ORDERING
from .paths import Declarations, NoDeclarations, PathProblem, Resolved, Scope, over, resolve, scope_of

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LEAF_KEYS = {"leftOperand", "operator", "rightOperand", "rightOperandReference", "rightOperandList"}
_LOGIC_KEYS = ("and", "or", "not", "every", "any", "none")


#: A policy file legal writes is a few dozen rules: the studio's is about 13 KB. 128 KiB is
#: ten times that, and small enough that PyYAML's pure-Python parser (kept: libyaml accepts
#: and refuses slightly different files) and the schema get through the worst file allowed
#: in about half a second of one core.
MAX_POLICY_BYTES = 128 * 1024
#: A tests file grows with its cases (a few hundred bytes each); it is read from the policies
#: folder, never uploaded, so it may be larger.
MAX_TESTS_BYTES = 1024 * 1024
#: The schema stops looking after this many problems (see ``_schema_problems``).
MAX_SCHEMA_ERRORS = 1000


class PolicyFileError(PolicyError):
    """A policy file that cannot be used; ``problems`` lists each one with its place.

    Problems quote the file, so each line is cut to ``MAX_PROBLEM_CHARS`` and only the
    first ``MAX_PROBLEMS`` are kept (the count says how many there were)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        message, kept = problem_report(source, "policy", problems)
        super().__init__(message, hint="fix each line above; the schema is governance/policy/schema.json",
                         fields={"problems": kept, "problem_count": len(problems)})
        self.problems = kept


class PolicyTooLarge(PolicyFileError):
    """A file over the size limit, refused before any of it is parsed."""

    status = 413
    title = "Policy file too large"


def read_policy_yaml(text: str | bytes, source: str) -> Any:
    """Parse a policy file, which any legal user may send over the API: at most
    ``MAX_POLICY_BYTES`` and ``MAX_DEPTH`` deep, with no anchors, aliases or merge keys
    (policies never need them)."""
    return _read(text, source, MAX_POLICY_BYTES, LimitedLoader)


def read_yaml(text: str | bytes, source: str) -> Any:
    """Parse one of legal's own files in the policies folder (a ``*.tests.yaml``, which
    reuses facts with anchors, aliases and merge keys): at most ``MAX_TESTS_BYTES`` and
    ``MAX_DEPTH`` deep, and its aliases may expand to at most ``MAX_EXPANDED_NODES`` values.
    Anything a user sends goes through ``read_policy_yaml``."""
    return _read(text, source, MAX_TESTS_BYTES, ReuseLoader)


def _read(text: str | bytes, source: str, max_bytes: int, loader: type[LimitedLoader]) -> Any:
    """The limits are ``governance.safeyaml``'s, shared with the catalogue's reader."""
    try:
        value, _ = read_document(text, max_bytes, loader)
    except YamlRefused as exc:
        raise (PolicyTooLarge if exc.too_large else PolicyFileError)(source, [str(exc)]) from None
    return value


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("governance.policy").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def place(path: Iterable[Any]) -> str:
    """``['rules', 3, 'constraint']`` -> ``rules[3].constraint``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_problems(data: Any) -> list[str]:
    # jsonschema writes every message in full as it finds it; a file with thousands of
    # mistakes is told about the first MAX_SCHEMA_ERRORS, which is more than anyone reads
    found = list(islice(jsonschema.Draft202012Validator(schema()).iter_errors(data), MAX_SCHEMA_ERRORS + 1))
    errors = sorted(found[:MAX_SCHEMA_ERRORS], key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems = [f"{place(e.absolute_path)}: {e.message}" for e in errors]
    if len(found) > MAX_SCHEMA_ERRORS:
        problems.insert(0, f"(top level): more than {MAX_SCHEMA_ERRORS:,} problems; the first "
                           f"{MAX_SCHEMA_ERRORS:,} found are counted")
    return problems


def load_policy(data: bytes, source: str = "policy", catalogue: Declarations | None = None) -> Policy:
    """Validate and read a policy file's bytes; raise ``PolicyFileError`` listing every problem.

    ``catalogue`` declares the studio's custom attributes (``licence.attributes.projects``);
    a rule reading an attribute it does not declare is refused, as is an unknown fact."""
    declarations: Declarations = catalogue if catalogue is not None else NoDeclarations()
    raw = read_policy_yaml(data, source)
    problems = _schema_problems(raw)
    if not problems:
        problems = list(_meaning_problems(raw, declarations))
    if problems:
        raise PolicyFileError(source, problems)
    lists = {name: tuple(values) for name, values in (raw.get("lists") or {}).items()}
    return Policy(
        uid=raw["uid"], version=raw["version"], title=raw["title"],
        description=raw.get("description", ""),
        rules=tuple(_rule(r, lists) for r in raw["rules"]),
        duties=tuple(_duty(d, lists) for d in raw.get("duties", [])),
        sha256=sha256_hex(data), raw=raw, lists=lists,
        disclosure=Disclosure(bool((raw.get("disclosure") or {}).get("approversSeePrompt", False))))


def load_policy_file(path: Path, catalogue: Declarations | None = None) -> tuple[Policy, bytes]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    return load_policy(data, str(path), catalogue), data


def _rule(r: dict[str, Any], lists: dict[str, tuple[Any, ...]]) -> Rule:
    approvers = None
    if r["type"] == "approval":
        said = r.get("approvers") or {}
        approvers = Approvers(tuple(said.get("roles") or DEFAULT_APPROVERS.roles), said.get("count", 1),
                              said.get("fromProduction", False), said.get("department"),
                              said.get("notRequesterDepartment", False))
    return Rule(id=r["id"], type=r["type"], title=r["title"], targets=targets_of(r["target"]),
                constraint=constraint_from_dict(r["constraint"], lists),
                when=constraint_from_dict(r["when"], lists) if "when" in r else None,
                description=r.get("description", ""), approvers=approvers)


def _duty(d: dict[str, Any], lists: dict[str, tuple[Any, ...]]) -> Duty:
    return Duty(id=d["id"], action=d["action"], title=d["title"], targets=targets_of(d["target"]),
                when=constraint_from_dict(d["when"], lists) if "when" in d else None,
                credit=d.get("credit"), credit_from=d.get("creditFrom"),
                description=d.get("description", ""))


# --- what the schema cannot say ------------------------------------------------------------

class _Checker:
    """The checks a schema cannot say, for one policy file under one catalogue."""

    def __init__(self, raw: dict[str, Any], catalogue: Declarations) -> None:
        self.lists: dict[str, list[Any]] = raw.get("lists") or {}
        self.catalogue = catalogue

    def item(self, key: str, item: dict[str, Any], where: str) -> Iterator[str]:
        named = [item["target"]] if isinstance(item["target"], str) else item["target"]
        if len(set(named)) != len(named):
            yield f"{where}.target: each target is named once"
        scope = scope_of(targets_of(item["target"]))
        for part in ("when", "constraint"):
            if part in item:
                yield from self.constraint(item[part], f"{where}.{part}", scope)
        if key == "duties":
            yield from self.duty(item, where, scope)
        elif "approvers" in item and item["type"] != "approval":
            yield f"{where}.approvers: only an approval rule says who must sign off"

    def duty(self, duty: dict[str, Any], where: str, scope: Scope) -> Iterator[str]:
        if ("credit" in duty) == ("creditFrom" in duty):
            yield f"{where}: an attribute duty needs exactly one of 'credit' (the text) or 'creditFrom' (a path)"
        if "creditFrom" in duty:
            try:
                kind = resolve(duty["creditFrom"], scope, self.catalogue).kind
            except PathProblem as exc:
                yield f"{where}.creditFrom: {exc}"
                return
            if kind != "string":
                yield f"{where}.creditFrom: a credit line is text, and {duty['creditFrom']} is a {kind}"

    def constraint(self, c: dict[str, Any], where: str, scope: Scope) -> Iterator[str]:
        logic = [k for k in _LOGIC_KEYS if k in c]
        leaf = _LEAF_KEYS & c.keys()
        if "count" in c:
            logic.append("count")
            leaf -= {"operator", "rightOperand"}
        if (logic and leaf) or len(logic) > 1:
            yield f"{where}: a constraint is either one comparison or one of and/or/not/every/any/none/count"
            return
        if not logic:
            yield from self.leaf(c, where, scope)
            return
        key = logic[0]
        if key == "not":
            yield from self.constraint(c["not"], f"{where}.not", scope)
        elif key in ("and", "or"):
            for i, item in enumerate(c[key]):
                yield from self.constraint(item, f"{where}.{key}[{i}]", scope)
        else:
            yield from self.quantified(key, c, where, scope)

    def quantified(self, key: str, c: dict[str, Any], where: str, scope: Scope) -> Iterator[str]:
        q = c[key]
        here = f"{where}.{key}"
        name = q["as"]
        if name in F.FIELDS or name in F.COLLECTIONS or name in scope.bound:
            yield f"{here}.as: '{name}' is already a name in this rule; choose another"
            return
        try:
            binding = over(q["over"], scope, self.catalogue)
        except PathProblem as exc:
            yield f"{here}.over: {exc}"
            return
        if binding.shape == "subject":
            # what a decision costs must grow with the request, not with its square: a model's
            # training set runs to tens of thousands of images
            if any(b.shape == "subject" for b in scope.bound.values()):
                yield (f"{here}.over: quantifiers over the request's subjects cannot nest (each would "
                       "run once per item of the other)")
                return
            if q["over"] == "training_assets" and scope.targets != ("request",):
                yield (f"{here}.over: a rule about {scope.about} cannot range over training_assets "
                       "(it would run once per subject); range over them in a rule about the request")
                return
        inner = scope.binding(name, binding)
        if key == "count":
            if "operator" not in c or "rightOperand" not in c:
                yield f"{where}: a count needs an operator and a number in rightOperand"
            elif c["operator"] not in _COUNT_OPERATORS:
                yield f"{where}.operator: a count compares with one of {', '.join(_COUNT_OPERATORS)}"
            elif isinstance(c["rightOperand"], bool) or not isinstance(c["rightOperand"], int):
                yield f"{where}.rightOperand: a count compares with a whole number"
            if "where" in q:
                yield from self.constraint(q["where"], f"{here}.where", inner)
        elif "satisfies" not in q:
            yield f"{here}: say what each item satisfies ('satisfies')"
        else:
            yield from self.constraint(q["satisfies"], f"{here}.satisfies", inner)

    def leaf(self, c: dict[str, Any], where: str, scope: Scope) -> Iterator[str]:
        missing = [k for k in ("leftOperand", "operator") if k not in c]
        if missing:
            yield f"{where}: a comparison needs {' and '.join(missing)}"
            return
        rights = [k for k in ("rightOperand", "rightOperandReference", "rightOperandList") if k in c]
        if len(rights) != 1:
            yield f"{where}: a comparison needs exactly one of rightOperand, rightOperandReference or rightOperandList"
            return
        try:
            left = resolve(c["leftOperand"], scope, self.catalogue)
        except PathProblem as exc:
            yield f"{where}.leftOperand: {exc}"
            return
        if rights[0] == "rightOperandReference":
            ref = c["rightOperandReference"]
            try:
                right_kind = resolve(ref, scope, self.catalogue).kind
            except PathProblem as exc:
                yield f"{where}.rightOperandReference: {exc}"
                return
            if ref in F.SENSITIVE:
                yield f"{where}.rightOperandReference: '{ref}' comes from the prompt and cannot be a right operand"
                return
            right = None
        else:
            if rights[0] == "rightOperandList":
                if c["rightOperandList"] not in self.lists:
                    yield (f"{where}.rightOperandList: no list named '{c['rightOperandList']}'; "
                           f"the policy's lists are: {', '.join(self.lists) or '(none)'}")
                    return
                right = self.lists[c["rightOperandList"]]
            else:
                right = c["rightOperand"]
            right_kind = _value_kind(right)
        yield from _operand_problems(c, where, left, right_kind, right)


_COUNT_OPERATORS = ("eq", "neq", "lt", "lteq", "gt", "gteq")


def _meaning_problems(raw: dict[str, Any], catalogue: Declarations) -> Iterator[str]:
    checker = _Checker(raw, catalogue)
    seen: dict[str, str] = {}
    for key in ("rules", "duties"):
        for i, item in enumerate(raw.get(key, [])):
            where = f"{key}[{i}]"
            if item["id"] in seen:
                yield f"{where}.id: '{item['id']}' is already the id of {seen[item['id']]}"
            seen.setdefault(item["id"], where)
            yield from checker.item(key, item, where)


def _value_kind(right: Any) -> str:
    return "list" if isinstance(right, list) else "bool" if isinstance(right, bool) else \
        "null" if right is None else "number" if isinstance(right, (int, float)) else "string"


def _operand_problems(c: dict[str, Any], where: str, left: Resolved, right_kind: str,
                      right: Any) -> Iterator[str]:
    op = OPERATORS[c["operator"]]
    left_kind = left.kind
    said = f"'{c['leftOperand']} {op.name}'"
    if op.left == "list" and left_kind != "list":
        yield f"{where}.operator: {said} needs a list on the left, and {c['leftOperand']} is a {left_kind}"
    elif op.left == "scalar" and left_kind in ("list", "record", "records"):
        yield f"{where}.operator: {said} needs a single value on the left, and {c['leftOperand']} is a {left_kind}"
    if op.right == "list" and right_kind != "list":
        yield f"{where}.rightOperand: {said} needs a list of values on the right"
    elif op.right == "scalar" and right_kind in ("list", "record", "records", "null"):
        yield f"{where}.rightOperand: {said} needs a single value on the right"
    elif op.right == "bool" and right_kind != "bool":
        yield f"{where}.rightOperand: {said} needs true or false on the right"
    if op.name in ORDERING:
        yield from _ordering_problems(op.name, left_kind, right_kind, right, where, said)
    if left.values and op.name != "exists" and right is not None:
        unknown = [v for v in (right if isinstance(right, list) else [right]) if v not in left.values]
        if unknown:
            yield (f"{where}.rightOperand: {', '.join(map(str, unknown))} is not among the catalogue's "
                   f"values for {c['leftOperand']}: {', '.join(left.values)}")


def _ordering_problems(name: str, left_kind: str, right_kind: str, right: Any, where: str,
                       said: str) -> Iterator[str]:
    if left_kind not in ("number", "date") or (name in DATE_ONLY and left_kind != "date"):
        yield f"{where}.operator: {said} compares {'dates' if name in DATE_ONLY else 'numbers or dates'}, " \
              f"and the left operand is a {left_kind}"
    elif left_kind == "date" and right_kind == "string" and not _DATE.match(str(right)):
        yield f"{where}.rightOperand: '{right}' is not a date; write it as YYYY-MM-DD"
    elif left_kind == "date" and right_kind not in ("date", "string"):
        yield f"{where}.rightOperand: {said} needs a date (YYYY-MM-DD) on the right"
    elif left_kind == "number" and right_kind != "number":
        yield f"{where}.rightOperand: {said} needs a number on the right"

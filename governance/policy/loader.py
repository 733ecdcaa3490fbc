"""Reading a policy file: YAML, then the JSON Schema, then the checks a schema cannot say.

Every problem is reported with its place in the file (``rules[3].constraint.operator``),
all of them at once, so legal can fix a file in one pass. Nothing is evaluated here.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonschema
import yaml

from ..canonical import sha256_hex
from ..errors import PolicyError
from . import facts as F
from .document import Duty, Policy, Rule, constraint_from_dict
from .operators import DATE_ONLY, OPERATORS, ORDERING

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LEAF_KEYS = {"leftOperand", "operator", "rightOperand", "rightOperandReference"}
_LOGIC_KEYS = ("and", "or", "not")
TARGET_WORDS = {"request": "the request", "reference": "each reference asset",
                "training_asset": "each training-set asset", "performer": "each performer"}


class PolicyFileError(PolicyError):
    """A policy file that cannot be used; ``problems`` lists each one with its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source} is not a valid policy ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}):\n{shown}{more}",
                         hint="fix each line above; the schema is governance/policy/schema.json",
                         fields={"problems": problems})
        self.problems = problems


class _StrictLoader(yaml.SafeLoader):
    """YAML without YAML 1.1's surprises: dates stay strings, and only true/false are booleans
    (so the territory code NO stays 'NO', not False)."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(text: str | bytes, source: str) -> Any:
    """Parse YAML safely; a syntax error names the line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise PolicyFileError(source, [f"{where}: {exc.problem or 'YAML syntax error'}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PolicyFileError(source, [f"not readable as YAML: {type(exc).__name__}"]) from None


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("governance.policy").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


def place(path: Iterable[Any]) -> str:
    """``['rules', 3, 'constraint']`` -> ``rules[3].constraint``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_problems(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{place(e.absolute_path)}: {e.message}" for e in errors]


def load_policy(data: bytes, source: str = "policy") -> Policy:
    """Validate and read a policy file's bytes; raise ``PolicyFileError`` listing every problem."""
    raw = read_yaml(data, source)
    problems = _schema_problems(raw)
    if not problems:
        problems = list(_meaning_problems(raw))
    if problems:
        raise PolicyFileError(source, problems)
    return Policy(
        uid=raw["uid"], version=raw["version"], title=raw["title"],
        description=raw.get("description", ""),
        rules=tuple(_rule(r) for r in raw["rules"]),
        duties=tuple(_duty(d) for d in raw.get("duties", [])),
        sha256=sha256_hex(data), raw=raw)


def load_policy_file(path: Path) -> tuple[Policy, bytes]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    return load_policy(data, str(path)), data


def _rule(r: dict[str, Any]) -> Rule:
    return Rule(id=r["id"], type=r["type"], title=r["title"], target=r["target"],
                constraint=constraint_from_dict(r["constraint"]),
                when=constraint_from_dict(r["when"]) if "when" in r else None,
                description=r.get("description", ""))


def _duty(d: dict[str, Any]) -> Duty:
    return Duty(id=d["id"], action=d["action"], title=d["title"], target=d["target"],
                when=constraint_from_dict(d["when"]) if "when" in d else None,
                credit=d.get("credit"), credit_from=d.get("creditFrom"),
                description=d.get("description", ""))


# --- what the schema cannot say ------------------------------------------------------------

def _meaning_problems(raw: dict[str, Any]) -> Iterator[str]:
    seen: dict[str, str] = {}
    for key in ("rules", "duties"):
        for i, item in enumerate(raw.get(key, [])):
            where = f"{key}[{i}]"
            if item["id"] in seen:
                yield f"{where}.id: '{item['id']}' is already the id of {seen[item['id']]}"
            seen.setdefault(item["id"], where)
            target = item["target"]
            for part in ("when", "constraint"):
                if part in item:
                    yield from _constraint_problems(item[part], f"{where}.{part}", target)
            if key == "duties":
                yield from _duty_problems(item, where, target)


def _duty_problems(duty: dict[str, Any], where: str, target: str) -> Iterator[str]:
    if ("credit" in duty) == ("creditFrom" in duty):
        yield f"{where}: an attribute duty needs exactly one of 'credit' (the text) or 'creditFrom' (a path)"
    if "creditFrom" in duty:
        problem = _path_problem(duty["creditFrom"], target)
        if problem:
            yield f"{where}.creditFrom: {problem}"


def _constraint_problems(c: dict[str, Any], where: str, target: str) -> Iterator[str]:
    logic = [k for k in _LOGIC_KEYS if k in c]
    leaf = _LEAF_KEYS & c.keys()
    if logic and leaf or len(logic) > 1:
        yield f"{where}: a constraint is either one comparison or one of and/or/not, not both"
        return
    if logic:
        key = logic[0]
        if key == "not":
            yield from _constraint_problems(c["not"], f"{where}.not", target)
        else:
            for i, item in enumerate(c[key]):
                yield from _constraint_problems(item, f"{where}.{key}[{i}]", target)
        return
    yield from _leaf_problems(c, where, target)


def _leaf_problems(c: dict[str, Any], where: str, target: str) -> Iterator[str]:
    missing = [k for k in ("leftOperand", "operator") if k not in c]
    if missing:
        yield f"{where}: a comparison needs {' and '.join(missing)}"
        return
    has_value, has_ref = "rightOperand" in c, "rightOperandReference" in c
    if has_value == has_ref:
        yield f"{where}: a comparison needs exactly one of rightOperand or rightOperandReference"
        return
    left_problem = _path_problem(c["leftOperand"], target)
    if left_problem:
        yield f"{where}.leftOperand: {left_problem}"
        return
    if has_ref:
        ref = c["rightOperandReference"]
        problem = _path_problem(ref, target)
        if problem is None and ref in F.SENSITIVE:
            problem = f"'{ref}' comes from the prompt and cannot be a right operand"
        if problem:
            yield f"{where}.rightOperandReference: {problem}"
            return
    yield from _operand_problems(c, where)


def _path_problem(path: str, target: str) -> str | None:
    root, _, field = path.partition(".")
    allowed = F.ROOTS[target]
    if root not in F.FIELDS:
        return f"'{path}' is outside the facts a policy may read; paths start with one of: {', '.join(F.FIELDS)}"
    if root not in allowed:
        return (f"'{path}' is not available to a rule about {TARGET_WORDS[target]}; "
                f"use a path starting with one of: {', '.join(allowed)}")
    if field and field not in F.FIELDS[root]:
        return f"'{path}' is not a known fact; {root} has: {', '.join(F.FIELDS[root])}"
    return None


def kind_of(path: str) -> str:
    root, _, field = path.partition(".")
    return F.FIELDS[root][field] if field else "record"


def _operand_problems(c: dict[str, Any], where: str) -> Iterator[str]:
    op = OPERATORS[c["operator"]]
    left_kind = kind_of(c["leftOperand"])
    if "rightOperand" in c:
        right = c["rightOperand"]
        right_kind = "list" if isinstance(right, list) else "bool" if isinstance(right, bool) else \
            "null" if right is None else "number" if isinstance(right, (int, float)) else "string"
    else:
        right = None
        right_kind = kind_of(c["rightOperandReference"])
    said = f"'{c['leftOperand']} {op.name}'"
    if op.left == "list" and left_kind != "list":
        yield f"{where}.operator: {said} needs a list on the left, and {c['leftOperand']} is a {left_kind}"
    elif op.left == "scalar" and left_kind in ("list", "record"):
        yield f"{where}.operator: {said} needs a single value on the left, and {c['leftOperand']} is a {left_kind}"
    if op.right == "list" and right_kind != "list":
        yield f"{where}.rightOperand: {said} needs a list of values on the right"
    elif op.right == "scalar" and right_kind in ("list", "record", "null"):
        yield f"{where}.rightOperand: {said} needs a single value on the right"
    elif op.right == "bool" and right_kind != "bool":
        yield f"{where}.rightOperand: {said} needs true or false on the right"
    if op.name in ORDERING:
        yield from _ordering_problems(op.name, left_kind, right_kind, right, where, said)


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

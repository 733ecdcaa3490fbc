"""Rule-level differences between two versions of a policy, for legal's review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .document import Policy

_HEADER = ("uid", "version", "title", "description", "disclosure")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class RuleChange:
    id: str
    kind: str  # rule | duty | list
    change: str  # added | removed | changed
    title: str
    fields: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "change": self.change, "title": self.title,
                "fields": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True)
class PolicyDiff:
    old: tuple[str, int, str]
    new: tuple[str, int, str]
    header: tuple[FieldChange, ...]
    rules: tuple[RuleChange, ...]

    @property
    def unchanged(self) -> bool:
        return not self.rules and all(f.field == "version" for f in self.header)

    def to_dict(self) -> dict[str, Any]:
        def ref(t: tuple[str, int, str]) -> dict[str, Any]:
            return {"uid": t[0], "version": t[1], "sha256": t[2]}
        return {"old": ref(self.old), "new": ref(self.new),
                "header": [f.to_dict() for f in self.header],
                "rules": [r.to_dict() for r in self.rules]}

    def render(self) -> str:
        lines = [f"{self.old[0]} v{self.old[1]} -> {self.new[0]} v{self.new[1]}"]
        lines += [f"  {f.field}: {f.old!r} -> {f.new!r}" for f in self.header]
        mark = {"added": "+", "removed": "-", "changed": "~"}
        for r in self.rules:
            lines.append(f"{mark[r.change]} {r.kind} {r.id} ({r.change}): {r.title}")
            lines += [f"    {f.field}: {_short(f.old)} -> {_short(f.new)}" for f in r.fields]
        if not self.rules:
            lines.append("no rule changed")
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = "(absent)" if value is None else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _listed(values: tuple[Any, ...] | None) -> list[Any] | None:
    return None if values is None else list(values)


def _items(policy: Policy, key: str) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in (policy.raw or {}).get(key, [])}


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    keys = list(dict.fromkeys([*old, *new]))
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _lists_used(item: Any) -> set[str]:
    """The named lists a rule's comparisons take their values from."""
    if isinstance(item, dict):
        found = {item["rightOperandList"]} if isinstance(item.get("rightOperandList"), str) else set()
        return found.union(*(_lists_used(v) for v in item.values()))
    if isinstance(item, list):
        return set().union(*(_lists_used(v) for v in item))
    return set()


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Added, removed and changed named lists, rules and duties (with each changed field), in the
    new file's order. A rule whose text is unchanged but which uses a changed list is changed
    too: its meaning is, and legal reviews rules."""
    old_lists, new_lists = dict(old.lists), dict(new.lists)
    changed_lists = {n for n in set(old_lists) | set(new_lists) if old_lists.get(n) != new_lists.get(n)}
    changes: list[RuleChange] = []
    for name in dict.fromkeys([*new_lists, *old_lists]):
        if name in changed_lists:
            users = sorted(r["id"] for key in ("rules", "duties") for r in (new.raw or {}).get(key, [])
                           if name in _lists_used(r))
            change = "added" if name not in old_lists else "removed" if name not in new_lists else "changed"
            changes.append(RuleChange(name, "list", change, f"used by {', '.join(users) or 'no rule'}",
                                      (FieldChange("values", _listed(old_lists.get(name)),
                                                   _listed(new_lists.get(name))),)))
    for key, kind in (("rules", "rule"), ("duties", "duty")):
        before, after = _items(old, key), _items(new, key)
        for rid, item in after.items():
            if rid not in before:
                changes.append(RuleChange(rid, kind, "added", item["title"]))
            else:
                fields = _field_changes(before[rid], item) + tuple(
                    FieldChange(f"lists.{name}", _listed(old_lists.get(name)), _listed(new_lists.get(name)))
                    for name in sorted(_lists_used(item) & changed_lists))
                if fields:
                    changes.append(RuleChange(rid, kind, "changed", item["title"], fields))
        changes += [RuleChange(rid, kind, "removed", item["title"])
                    for rid, item in before.items() if rid not in after]
    header = _field_changes({k: (old.raw or {}).get(k) for k in _HEADER},
                            {k: (new.raw or {}).get(k) for k in _HEADER})
    return PolicyDiff((old.uid, old.version, old.sha256), (new.uid, new.version, new.sha256),
                      header, tuple(changes))

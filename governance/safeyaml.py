"""Reading YAML that a user may send, within limits that keep it the size it looks.

Legal's files (policies, the fact catalogue) arrive over the API from any legal user, so
nothing read here may grow beyond the input: a file over ``max_bytes`` is refused unread;
anchors, aliases and merge keys (which let a few bytes stand for billions of values) and
nesting past ``MAX_DEPTH`` are refused as the parser meets them, before any node is built.
Files that reuse values on purpose (legal's tests files, read from the policies folder)
may use aliases, and what they expand to is measured before anything is constructed.

The YAML is YAML 1.1 without its surprises: dates stay strings, and only true/false are
booleans (so the territory code NO stays 'NO'). PyYAML's pure-Python parser is used:
libyaml accepts and refuses slightly different files.

A problem is a ``YamlRefused`` holding one line that names the place in the file; each
caller turns it into its own error (a policy's, a catalogue's). Nothing above the errors
layer is imported: every domain that reads YAML may use this.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

#: The studio's policy nests eight collections deep and its tests file ten; 32 leaves room for
#: long and/or chains, and stops a deep document long before anything recurses.
MAX_DEPTH = 32
#: What aliases in a tests file may expand to, counted as YAML values (the studio's expands
#: to about 2,000): facts are copied per case, so this bounds the memory a tests file takes.
MAX_EXPANDED_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlRefused(Exception):
    """A file that cannot be read: ``problem`` says why and where, ``too_large`` that it was
    refused unread for its size."""

    def __init__(self, problem: str, *, too_large: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.too_large = too_large


class _StrictLoader(yaml.SafeLoader):
    """YAML without YAML 1.1's surprises: dates stay strings, only true/false are booleans."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class _Refused(yaml.MarkedYAMLError):
    """A document the limits refuse, with the place in the file where it crossed them."""


class LimitedLoader(_StrictLoader):
    """The strict loader whose compose step looks at each parser event before it builds a
    node from it, and refuses: nesting past ``MAX_DEPTH`` (after ``MAX_DEPTH`` + 1 events,
    before anything recurses), and anchors, aliases and merge keys. Nothing is expanded."""

    #: subclasses for files that reuse values on purpose set this (see ``ReuseLoader``)
    allow_reuse = False
    #: how the refusals name the file: "a policy file", "a catalogue"
    what = "this file"

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in PyYAML's stubs
        if not self.allow_reuse:
            self._refuse_reuse(event)
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return self._checked(super().compose_node(parent, index), event)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refused(f"nested deeper than {MAX_DEPTH} levels", event)
            return self._checked(super().compose_node(parent, index), event)
        finally:
            self._depth -= 1

    def _checked(self, node: yaml.Node | None, event: yaml.Event) -> yaml.Node | None:
        # a plain << is a merge key only once the resolver has tagged it
        if not self.allow_reuse and node is not None and node.tag == _MERGE_TAG:
            raise _refused(f"merge keys (<<) are not allowed in {self.what}; write the keys out in full", event)
        return node

    def _refuse_reuse(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.AliasEvent):
            raise _refused(f"aliases (*name) are not allowed in {self.what}; write the value out in full", event)
        if getattr(event, "anchor", None) is not None:
            raise _refused(f"anchors (&name) are not allowed in {self.what}; write the value out in full", event)


def _refused(problem: str, event: yaml.Event) -> _Refused:
    """``problem``, placed where ``event`` starts in the file. (The loaders are PyYAML's pure
    Python ones, whose marks are all ``yaml.error.Mark``; libyaml's are never met.)"""
    mark = event.start_mark
    return _Refused(None, None, problem, mark if isinstance(mark, yaml.error.Mark) else None)


class ReuseLoader(LimitedLoader):
    """For legal's own files that reuse values: anchors, aliases and merge keys allowed, and
    what they expand to measured on the composed nodes, before anything is constructed."""

    allow_reuse = True

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _ExpansionBudget().measure(node)
        return node


def read_document(text: str | bytes, max_bytes: int,
                  loader: type[LimitedLoader] = LimitedLoader) -> tuple[Any, yaml.Node | None]:
    """The value of a YAML document and its node tree (whose marks give each value's line);
    ``YamlRefused`` for a file over ``max_bytes``, one the limits refuse, or one that is not
    YAML."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
    if size > max_bytes:
        raise YamlRefused(f"the file is {size:,} bytes; at most {max_bytes:,} are read "
                          "(split it, or shorten its descriptions)", too_large=True)
    try:
        reader = loader(text)
        try:
            node = reader.get_single_node()
            return (reader.construct_document(node) if node is not None else None), node
        finally:
            reader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise YamlRefused(f"{where}: {exc.problem or 'YAML syntax error'}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise YamlRefused(f"not readable as YAML: {type(exc).__name__}") from None
    except ValueError:  # e.g. an integer longer than Python converts (4,300 digits)
        raise YamlRefused("not readable as YAML: a value is too long to convert "
                          "(a number with thousands of digits?)") from None


def line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """The line (from 1) where the value at ``path`` is named in a node tree from
    ``read_document`` (its key's line, in a mapping), or where the deepest part of it that
    exists is; None without a tree."""
    found, named = node, node
    for part in path:
        child = _child(found, part) if found is not None else None
        if child is None:
            break
        named, found = child
    return named.start_mark.line + 1 if named is not None else None


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    """(the node naming ``part``, its value) under ``node``."""
    if isinstance(node, yaml.MappingNode):
        return next(((key, value) for key, value in node.value
                     if isinstance(key, yaml.ScalarNode) and key.value == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None


class _ExpansionBudget:
    """Size and nesting of a node graph as if every alias were copied out, without copying:
    each node is measured once, however often it is referred to. A cycle (an alias inside
    its own anchor) never ends, so it is refused as too deep."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[int, int]] = {}  # id(node) -> (values, collection levels)

    def measure(self, node: yaml.Node, above: int = 0) -> tuple[int, int]:
        """``above``: how many collections hold ``node``."""
        if isinstance(node, yaml.ScalarNode):
            return 1, 0
        if id(node) not in self._seen:
            if above >= MAX_DEPTH:
                raise self._too_deep(node)
            size, levels = 1, 0
            for child in _children(node):
                child_size, child_levels = self.measure(child, above + 1)
                size, levels = size + child_size, max(levels, child_levels)
                if size > MAX_EXPANDED_NODES:
                    raise _Refused(None, None, f"aliases expand to more than {MAX_EXPANDED_NODES:,} "
                                   "values", node.start_mark)
            self._seen[id(node)] = (size, levels + 1)
        size, levels = self._seen[id(node)]
        if above + levels > MAX_DEPTH:
            raise self._too_deep(node)
        return size, levels

    @staticmethod
    def _too_deep(node: yaml.Node) -> _Refused:
        return _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded",
                        node.start_mark)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


#: Error messages quote the input (jsonschema repeats whole values): each problem line is cut
#: to this many characters and at most ``MAX_PROBLEMS`` lines are kept, so a reply about a
#: hostile file stays a few kilobytes.
MAX_PROBLEM_CHARS = 300
MAX_PROBLEMS = 50
_MAX_SOURCE_CHARS = 120


def excerpt(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis saying it was."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def problem_report(source: str, what: str, problems: list[str]) -> tuple[str, list[str]]:
    """The message for a file with ``problems`` ("SOURCE is not a valid WHAT (N problems): ...")
    and the problems kept: each cut to ``MAX_PROBLEM_CHARS``, the first ``MAX_PROBLEMS``,
    the count saying how many there were."""
    count = len(problems)
    kept = [excerpt(p, MAX_PROBLEM_CHARS) for p in problems[:MAX_PROBLEMS]]
    more = f"\n  ... and {count - MAX_PROBLEMS} more" if count > MAX_PROBLEMS else ""
    message = (f"{excerpt(source, _MAX_SOURCE_CHARS)} is not a valid {what} ({count} problem"
               f"{'s' if count != 1 else ''}):\n" + "\n".join(f"  {p}" for p in kept) + more)
    return message, kept

"""RFC 6902 JSON Patch over plain JSON values, with RFC 6901 JSON Pointers.

Legal's policy tests use it to change one element of a list in the base facts
(``replace /references/0/licence/grants/2``) without restating the whole list. All six
operations are supported (add, remove, replace, move, copy, test). ``apply`` never changes
its input; a patch that cannot apply raises ``PatchError`` naming the operation and why,
and nothing else (a patch written by hand is input, not a programming error).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import PolicyError

OPS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(PolicyError):
    """A JSON Patch operation that is malformed or cannot apply to the document."""


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer (``""`` is the whole document)."""
    if not isinstance(pointer, str):
        raise PatchError(f"a JSON Pointer is a string, not {type(pointer).__name__}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"the JSON Pointer '{pointer}' must start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _index(token: str, items: list[Any], pointer: str, *, for_add: bool) -> int:
    if token == "-" and for_add:
        return len(items)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"'{token}' in {pointer} is not a list index")
    index = int(token)
    if index > len(items) or (index == len(items) and not for_add):
        raise PatchError(f"{pointer}: index {index} is past the end of a list of {len(items)}")
    return index


def _parent(doc: Any, tokens: list[str], pointer: str) -> Any:
    """The container the last token of ``pointer`` names a place in."""
    node = doc
    for depth, token in enumerate(tokens[:-1]):
        node = _child(node, token, "/" + "/".join(tokens[:depth + 1]))
    return node


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"{pointer} does not exist")
        return node[token]
    if isinstance(node, list):
        return node[_index(token, node, pointer, for_add=False)]
    raise PatchError(f"{pointer} goes inside a {type(node).__name__}, which has no members")


def resolve(doc: Any, pointer: str) -> Any:
    """The value at ``pointer`` in ``doc``."""
    node = doc
    tokens = parse_pointer(pointer)
    for depth, token in enumerate(tokens):
        node = _child(node, token, "/" + "/".join(tokens[:depth + 1]))
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, pointer), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, parent, pointer, for_add=True), value)
    else:
        raise PatchError(f"{pointer} goes inside a {type(parent).__name__}, which has no members")
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, last = _parent(doc, tokens, pointer), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer} does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, parent, pointer, for_add=False))
    raise PatchError(f"{pointer} goes inside a {type(parent).__name__}, which has no members")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers compare by value (1 == 1.0), but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _fresh(value: Any) -> Any:
    """A copy sharing nothing with ``value``, not even between its own parts: YAML aliases make
    one list appear in two places, and a patch to one place must not change the other."""
    if isinstance(value, Mapping):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fresh(v) for v in value]
    return value


def _member(op: Mapping[str, Any], name: str) -> Any:
    if name not in op:
        raise PatchError(f"a '{op.get('op')}' operation needs '{name}'")
    return op[name]


def apply_op(doc: Any, op: Mapping[str, Any]) -> Any:
    """``doc`` with one operation applied (``doc`` may be changed in place; use ``apply``)."""
    if not isinstance(op, Mapping):
        raise PatchError(f"an operation is a mapping with 'op' and 'path', not {type(op).__name__}")
    kind = op.get("op")
    if kind not in OPS:
        raise PatchError(f"'op' must be one of {', '.join(OPS)}, not {kind!r}")
    path = _member(op, "path")
    if kind == "add":
        return _add(doc, path, _fresh(_member(op, "value")))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        resolve(doc, path)  # replace needs something there to replace
        value = _fresh(_member(op, "value"))
        return value if path == "" else _add(_remove(doc, path)[0], path, value)
    if kind == "test":
        found = resolve(doc, path)
        if not _equal(found, _member(op, "value")):
            raise PatchError(f"test failed: {path} is {found!r}, not {op['value']!r}")
        return doc
    source = _member(op, "from")
    if kind == "move":
        if path.startswith(source + "/"):
            raise PatchError(f"cannot move {source} into its own child {path}")
        doc, value = _remove(doc, source)
        return _add(doc, path, value)
    return _add(doc, path, _fresh(resolve(doc, source)))  # copy


def apply(doc: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """``doc`` with every operation of ``patch`` applied in order; ``doc`` itself is unchanged.

    Raises ``PatchError`` saying which operation (its 0-based position) failed and why.
    """
    if len(patch) > MAX_OPERATIONS:
        raise PatchError(f"a patch has at most {MAX_OPERATIONS} operations; this one has {len(patch):,}")
    out = _fresh(doc)
    for position, op in enumerate(patch):
        try:
            out = apply_op(out, op)
            if op.get("op") in ("add", "copy", "replace") and _size(out) > MAX_NODES:
                # copy doubles what it copies: a few dozen operations would fill memory
                raise PatchError(f"the patched facts would hold more than {MAX_NODES:,} values")
        except PatchError as exc:
            what = f"{op.get('op')} {op.get('path')}" if isinstance(op, Mapping) else repr(op)
            raise PatchError(f"patch operation {position} ({what}): {exc.message}") from None
    return out


#: A case's patch changes an element or two of the base facts; these bound what a tests file
#: (which the API and the pages run for a version) can make a patch build.
MAX_OPERATIONS = 200
MAX_NODES = 100_000


def _size(value: Any) -> int:
    """How many values ``value`` holds, counted without recursion, stopping past ``MAX_NODES``."""
    count, stack = 0, [value]
    while stack and count <= MAX_NODES:
        item = stack.pop()
        count += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count

"""RFC 6902 JSON Patch as legal's tests use it: the RFC's own examples (appendix A) and the
errors a hand-written patch can hit."""

from __future__ import annotations

from typing import Any

import pytest

from governance.policy.jsonpatch import PatchError, apply, resolve


@pytest.mark.parametrize(("doc", "patch", "expected"), [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),  # A.1
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),  # A.2
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),  # A.3
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),  # A.4
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),  # A.5
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),  # A.6
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),  # A.7
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),  # A.16
    ({"a/b": 1, "m~n": 2}, [{"op": "replace", "path": "/a~1b", "value": 3},
                           {"op": "copy", "from": "/m~0n", "path": "/c"}], {"a/b": 3, "m~n": 2, "c": 2}),
    ({"baz": "qux", "foo": ["a", 2, "c"]}, [{"op": "test", "path": "/baz", "value": "qux"},
                                            {"op": "test", "path": "/foo/1", "value": 2.0}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),  # A.8
])
def test_the_rfc_examples_apply(doc: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    assert apply(doc, patch) == expected


@pytest.mark.parametrize(("patch", "message"), [
    ([{"op": "add", "path": "/nope/bat", "value": "qux"}], "patch operation 0 (add /nope/bat): /nope does not exist"),
    ([{"op": "test", "path": "/baz", "value": "bar"}], "test failed: /baz is 'qux', not 'bar'"),
    ([{"op": "test", "path": "/n", "value": True}], "test failed: /n is 1, not True"),
    ([{"op": "remove", "path": "/foo/01"}], "'01' in /foo/01 is not a list index"),
    ([{"op": "replace", "path": "/missing", "value": 1}], "/missing does not exist"),
    ([{"op": "add", "path": "baz", "value": 1}], "the JSON Pointer 'baz' must start with '/'"),
    ([{"op": "add", "path": "/baz/x", "value": 1}], "/baz/x goes inside a str, which has no members"),
    ([{"op": "move", "from": "/foo", "path": "/foo/0"}], "cannot move /foo into its own child /foo/0"),
    ([{"op": "add", "path": "/x"}], "a 'add' operation needs 'value'"),
    ([{"op": "rename", "path": "/x"}], "'op' must be one of add, remove, replace, move, copy, test"),
])
def test_a_patch_that_cannot_apply_says_which_operation_and_why(patch: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PatchError) as failed:
        apply({"baz": "qux", "foo": ["a"], "n": 1}, patch)
    assert message in failed.value.message


def test_apply_changes_neither_the_document_nor_an_alias_of_the_changed_part() -> None:
    shared = ["x", "y"]
    doc = {"a": shared, "b": shared}
    assert apply(doc, [{"op": "replace", "path": "/a/0", "value": "z"}]) == {"a": ["z", "y"], "b": ["x", "y"]}
    assert doc == {"a": ["x", "y"], "b": ["x", "y"]}


def test_resolve_reads_the_whole_document_at_the_empty_pointer() -> None:
    assert resolve({"a": [1]}, "") == {"a": [1]} and resolve({"a": [1]}, "/a/0") == 1


def test_a_patch_that_doubles_the_facts_is_refused_before_it_fills_memory() -> None:
    bomb = [{"op": "copy", "from": "/a", "path": "/a/-"} for _ in range(40)]
    with pytest.raises(PatchError, match="more than 100,000 values"):
        apply({"a": [1, 2]}, bomb)
    with pytest.raises(PatchError, match="at most 200 operations"):
        apply({"a": 1}, [{"op": "test", "path": "/a", "value": 1}] * 201)

"""A policy upload cannot amplify: YAML that would expand, nest or grow without bound is
refused quickly, with a small answer and almost nothing in the log (issue 13)."""

from __future__ import annotations

import json
import logging
import time

from governance.policy.loader import MAX_POLICY_BYTES, MAX_PROBLEM_CHARS
from tests.api.conftest import auth

SMALL_ANSWER = 100_000  # bytes; the unguarded loader answered the alias bomb with 184 MB


def alias_bomb(levels: int = 9, fan: int = 6) -> str:
    """'Billion laughs': each anchor is ``fan`` aliases of the one before, so the title
    stands for ``fan ** levels`` (ten million) strings in under 400 bytes."""
    lines = ["uid: urn:slate:policy:bomb", "version: 1", "a0: &a0 lol"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels + 1)]
    lines += [f"title: *a{levels}", "rules: []"]
    return "\n".join(lines) + "\n"


def post_policy(client, tokens, text: str):
    return client.post("/api/v1/policies", headers=auth(tokens["legal"]), json={"text": text})


def test_an_alias_bomb_is_refused_in_under_a_second_with_a_small_answer(client, tokens):
    bomb = alias_bomb()
    assert len(bomb) < 500

    started = time.perf_counter()
    response = post_policy(client, tokens, bomb)
    elapsed = time.perf_counter() - started

    assert response.status_code == 422
    assert elapsed < 1.0
    assert len(response.get_data()) < SMALL_ANSWER
    problem = response.get_json()
    assert "anchors (&name) are not allowed" in problem["detail"]
    assert problem["errors"]["problems"] == [
        "line 3, column 5: anchors (&name) are not allowed in this file; write the value out in full"]


def test_a_merge_key_is_refused(client, tokens):
    text = "uid: urn:slate:policy:m\nversion: 1\ntitle: {<<: {a: b}}\nrules: []\n"
    response = post_policy(client, tokens, text)
    assert response.status_code == 422
    assert "merge keys (<<) are not allowed" in response.get_json()["detail"]


def test_ten_thousand_levels_of_nesting_is_a_4xx_with_a_handful_of_log_lines(client, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    response = post_policy(client, tokens, "[" * 10_000 + "]" * 10_000)
    assert response.status_code == 422
    assert "nested deeper than 32 levels" in response.get_json()["detail"]
    assert len(caplog.text.splitlines()) <= 5


def test_an_oversized_policy_is_refused_as_too_large(client, tokens):
    text = "description: " + "x" * MAX_POLICY_BYTES + "\n"
    response = post_policy(client, tokens, text)
    assert response.status_code == 413
    assert len(response.get_data()) < 2_000
    assert f"at most {MAX_POLICY_BYTES:,} are read" in response.get_json()["detail"]


def test_a_huge_wrong_typed_value_gets_a_bounded_error(client, tokens):
    huge = "y" * 60_000
    text = f"uid: urn:slate:policy:t\nversion: 1\ntitle: [{huge}]\nrules: [{huge}]\n"
    response = post_policy(client, tokens, text)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert len(body) < 5_000 and "y" * (MAX_PROBLEM_CHARS + 1) not in body
    problems = response.get_json()["errors"]["problems"]
    assert [p.split(":")[0] for p in problems] == ["rules[0]", "title"]
    assert all(len(p) <= MAX_PROBLEM_CHARS for p in problems)


def test_thousands_of_problems_are_counted_but_only_fifty_are_told(client, tokens):
    rules = "".join(f"  - {{id: R{i}, type: hope, title: [t], target: crew, constraint: []}}\n" for i in range(1_500))
    response = post_policy(client, tokens, f"uid: urn:slate:policy:t\nversion: 1\ntitle: T\nrules:\n{rules}")
    assert response.status_code == 422
    assert len(response.get_data()) < SMALL_ANSWER
    errors = response.get_json()["errors"]
    assert len(errors["problems"]) == 50 and errors["problem_count"] > 1_000
    assert "more than 1,000 problems" in json.dumps(errors)

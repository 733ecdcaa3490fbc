"""Rule-level differences between two policy versions."""

from __future__ import annotations

from governance.policy.diff import diff_policies
from governance.policy.loader import load_policy

from .conftest import FILE_VERSION, NEXT_VERSION, policy_text


def test_diff_lists_added_removed_and_changed_rules_with_fields() -> None:
    old = load_policy(policy_text(FILE_VERSION))

    def edit(text: str) -> str:
        text = text.replace("forbidden_terms: [nude, naked,", "forbidden_terms: [nude, naked, blood,")
        start = text.index("  - id: model-not-retired")
        end = text.index("  - id: model-training-set-recorded")
        text = text[:start] + text[end:]
        return text.replace("duties:\n", "duties:\n  - id: credit-studio\n    action: attribute\n"
                            "    title: Credit the studio.\n    target: request\n    credit: Made at Slate Studios\n")
    new = load_policy(policy_text(NEXT_VERSION, edit=edit))
    result = diff_policies(old, new)
    changes = {(c.id, c.change) for c in result.rules}
    assert changes == {("forbidden_terms", "changed"), ("prompt-forbidden-terms", "changed"),
                       ("model-not-retired", "removed"), ("credit-studio", "added")}
    listed = next(c for c in result.rules if c.kind == "list")
    assert listed.title == "used by prompt-forbidden-terms"
    assert "blood" in listed.fields[0].new and "blood" not in listed.fields[0].old
    changed = next(c for c in result.rules if c.kind == "rule" and c.change == "changed")
    assert [f.field for f in changed.fields] == ["lists.forbidden_terms"]
    assert "blood" in changed.fields[0].new
    assert [(f.field, f.old, f.new) for f in result.header] == [("version", FILE_VERSION, NEXT_VERSION)]
    assert "~ rule prompt-forbidden-terms (changed)" in result.render()


def test_diff_of_a_policy_with_itself_is_empty() -> None:
    policy = load_policy(policy_text(FILE_VERSION))
    assert diff_policies(policy, policy).unchanged

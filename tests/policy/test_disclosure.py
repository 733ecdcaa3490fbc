"""A policy says whether approvers may read a request's prompt (``disclosure``): off unless it
says so, checked like any other field, kept through ODRL, and shown by the diff legal reviews."""

from __future__ import annotations

import pytest

from governance.policy.diff import diff_policies
from governance.policy.loader import PolicyFileError, load_policy
from governance.policy.odrl import from_odrl, to_odrl
from tests.policy.conftest import NEXT_VERSION, policy_text

DISCLOSE = ("lists:\n", "disclosure: {approversSeePrompt: true}\n\nlists:\n")


def test_approvers_read_no_prompt_unless_the_policy_says_so():
    assert load_policy(policy_text(NEXT_VERSION)).disclosure.approvers_see_prompt is False
    opened = load_policy(policy_text(NEXT_VERSION, edit=lambda t: t.replace(*DISCLOSE, 1)))
    assert opened.disclosure.approvers_see_prompt is True


@pytest.mark.parametrize("setting", ["{approversSeePrompt: yes please}", "{everyoneSeesPrompt: true}", "true"])
def test_a_malformed_disclosure_is_refused_naming_its_place(setting):
    text = policy_text(NEXT_VERSION, edit=lambda t: t.replace("lists:\n", f"disclosure: {setting}\n\nlists:\n", 1))
    with pytest.raises(PolicyFileError) as refused:
        load_policy(text)
    assert "disclosure" in str(refused.value.problems)


def test_disclosure_survives_odrl_and_shows_in_the_diff():
    closed = load_policy(policy_text(NEXT_VERSION))
    opened = load_policy(policy_text(NEXT_VERSION, edit=lambda t: t.replace(*DISCLOSE, 1)))
    back = load_policy(from_odrl(to_odrl(opened)).encode())
    assert back.disclosure.approvers_see_prompt is True
    assert load_policy(from_odrl(to_odrl(closed)).encode()).disclosure.approvers_see_prompt is False
    changed = {f.field: (f.old, f.new) for f in diff_policies(closed, opened).header}
    assert changed == {"disclosure": (None, {"approversSeePrompt": True})}

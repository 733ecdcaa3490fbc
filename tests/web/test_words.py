"""Words, not codes: operators, statuses, consent states and error hints as people read them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from governance.policy.operators import OPERATORS
from governance.web import words
from governance.web.hints import PageHint, field_problems, page_hint, readable_size

TODAY = date(2026, 6, 15)


def test_every_policy_operator_has_words_and_none_reads_as_its_code():
    missing = set(OPERATORS) - set(words.OPERATOR_WORDS)
    assert not missing, f"operators without words: {sorted(missing)}"
    assert words.operator_words("gteq") == "at least"
    assert words.operator_words("isAnyOf") == "one of"
    assert words.operator_words("lteq") == "at most"
    for code in OPERATORS:
        if code not in ("before", "after"):  # these two are words already
            assert words.operator_words(code) != code


def test_statuses_read_as_words():
    assert words.status_words("awaiting_approval") == "waiting for approval"
    assert words.status_words("output_refused") == "output refused"
    assert words.status_words("taken_down") == "taken down"
    assert words.status_words("succeeded") == "succeeded"


CONSENT = {"status": "confirmed", "revoked": False, "revoked_at": None,
           "valid_from": date(2026, 1, 1), "valid_until": date(2026, 12, 31)}


@pytest.mark.parametrize(("changes", "label"), [
    ({}, "active"),
    ({"valid_until": date(2026, 6, 14)}, "expired on 2026-06-14"),
    ({"valid_until": TODAY}, "active"),  # its last valid day is the day it ends
    ({"valid_from": date(2026, 7, 1)}, "not yet in force"),
    ({"status": "pending"}, "pending confirmation"),
    ({"revoked": True, "revoked_at": datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)}, "revoked on 2026-03-02"),
    # revocation outranks an expiry and a pending confirmation
    ({"revoked": True, "revoked_at": "2026-03-02T09:30:00Z", "status": "pending",
      "valid_until": date(2026, 4, 1)}, "revoked on 2026-03-02"),
    ({"valid_until": "2026-05-31", "valid_from": "2026-01-01"}, "expired on 2026-05-31"),
])
def test_a_consent_state_label_follows_its_dates_and_status(changes, label):
    assert words.consent_state({**CONSENT, **changes}, TODAY) == label


def test_consent_state_badges_are_good_bad_or_waiting():
    assert words.consent_state_class("active") == "active"
    assert words.consent_state_class("expired on 2026-05-31") == "revoked"
    assert words.consent_state_class("revoked on 2026-03-02") == "revoked"
    assert words.consent_state_class("pending confirmation") == "pending"
    assert words.consent_state_class("not yet in force") == "pending"


def test_waiting_time_uses_the_largest_unit_that_says_it():
    now = datetime(2026, 6, 15, 12, tzinfo=timezone.utc)
    assert words.waiting_time(now - timedelta(seconds=20), now) == "under a minute"
    assert words.waiting_time(now - timedelta(minutes=42), now) == "42 min"
    assert words.waiting_time(now - timedelta(hours=3, minutes=59), now) == "3 h"
    assert words.waiting_time(now - timedelta(days=1, hours=2), now) == "1 day"
    assert words.waiting_time(now - timedelta(days=9), now) == "9 days"
    assert words.waiting_time(None, now) == ""


def test_a_domain_message_becomes_a_sentence():
    assert words.sentence("no request #9 exists") == "No request #9 exists."
    assert words.sentence("Done.") == "Done."


def test_a_hint_naming_a_command_becomes_a_link_to_the_page_that_does_its_job():
    assert page_hint("list them with: slate consent list") == PageHint(
        "See the people and their consents on the", "web.registry", "people", "Registry page")
    assert page_hint("publish one: slate policy publish UID@VERSION").endpoint == "web.policies"
    assert page_hint("run slate audit verify").endpoint == "web.audit"
    assert page_hint("ask an admin for a new token: slate token create USER") == PageHint(
        "An administrator can do this for you.")


@pytest.mark.parametrize("hint", [
    "raise SLATE_MAX_IMAGE_BYTES if such images are expected",
    "the facts do not have the shape the policy expects (see governance/policy/facts.py)",
    "fix each line above; the schema is governance/policy/schema.json",
    "pass the roots with --trust-anchors FILE",
    "add --output FILE.pdf",
    "run this where the studio's data is (SLATE_HOME, SLATE_DATABASE_URL)",
    "ask the studio for a new kit (slate export verification-kit), and check it ",
])
def test_a_hint_a_page_visitor_cannot_act_on_is_never_shown(hint):
    assert page_hint(hint) is None


def test_a_hint_in_plain_words_is_kept():
    assert page_hint("Slate signs PNG, JPEG and WebP") == PageHint("Slate signs PNG, JPEG and WebP")
    assert page_hint(None) is None


def test_sizes_read_as_people_say_them():
    assert readable_size(25_000_000) == "25 MB"
    assert readable_size(1_500_000) == "1.5 MB"
    assert readable_size(2_000_000_000) == "2 GB"
    assert readable_size(800) == "800 bytes"


def test_validation_problems_become_one_sentence_per_field_whatever_their_nesting():
    marshmallow = {"prompt": ["Missing data for required field."],
                   "params": {"seed": ["Not a valid integer."], "steps": ["Must be at most 200.", "Too many."]},
                   "references": {"0": ["Not a valid string."]}}
    assert field_problems(marshmallow) == {
        "prompt": "Missing data for required field.", "seed": "Not a valid integer.",
        "steps": "Must be at most 200. Too many.", "references": "Not a valid string."}
    assert field_problems({"valid_from": "give a date"}) == {"valid_from": "give a date"}

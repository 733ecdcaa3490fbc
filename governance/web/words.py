"""Words, not codes: how the pages say an operator, a status or a consent's state.

Plain functions of plain values (no Flask, no database), registered as Jinja filters on the
``web`` blueprint, so every page says the same thing the same way. The API and the policy
files keep their codes (``gteq``, ``awaiting_approval``); only what a person reads changes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

#: each policy operator as a person reads it between a fact and the value it is tested against;
#: ``tests/web/test_words.py`` pins that every operator of ``governance.policy.operators`` has one
OPERATOR_WORDS: Mapping[str, str] = {
    "eq": "is",
    "neq": "is not",
    "lt": "less than",
    "lteq": "at most",
    "gt": "more than",
    "gteq": "at least",
    "before": "before",
    "after": "after",
    "isAnyOf": "one of",
    "isNoneOf": "none of",
    "isPartOf": "each among",
    "isAllOf": "includes all of",
    "hasPart": "includes",
    "contains": "includes",
    "hasAnyOf": "includes any of",
    "hasNoneOf": "includes none of",
    "exists": "present",
}

#: statuses whose plain form (underscores as spaces) would read badly or mislead
STATUS_WORDS: Mapping[str, str] = {
    "awaiting_approval": "waiting for approval",
    "awaiting_output_review": "waiting for output review",
    "output_refused": "output refused",
    "changes_requested": "changes requested",
    "taken_down": "taken down",
    "undecided": "not decided yet",
    "in_review": "in review",
}


def operator_words(code: str | None) -> str:
    """``gteq`` → "at least"; an unknown code is shown as it is rather than hidden."""
    if not code:
        return ""
    return OPERATOR_WORDS.get(code, code)


def status_words(code: str | None) -> str:
    """``awaiting_approval`` → "waiting for approval"; other statuses with spaces for underscores."""
    if not code:
        return ""
    return STATUS_WORDS.get(code, code.replace("_", " "))


def sentence(text: str | None) -> str:
    """A domain message ("no request #9 exists") as a sentence on a page: capital, full stop."""
    if not text:
        return ""
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def consent_state(consent: Mapping[str, Any], today: date) -> str:
    """A consent's state in words, from its status and dates as of ``today``.

    Revocation wins over everything (a revoked consent never counts again), then a missing
    second confirmation, then the term: "expired on D" from the day after ``valid_until``
    (the last valid day is ``valid_until`` itself), "not yet in force" before ``valid_from``.
    """
    revoked_at = _day(consent.get("revoked_at"))
    if revoked_at is not None or consent.get("revoked"):
        return f"revoked on {revoked_at.isoformat()}" if revoked_at else "revoked"
    if consent.get("status") == "pending":
        return "pending confirmation"
    until = _day(consent.get("valid_until"))
    if until is not None and until < today:
        return f"expired on {until.isoformat()}"
    start = _day(consent.get("valid_from"))
    if start is not None and start > today:
        return "not yet in force"
    return "active"


def consent_state_class(label: str) -> str:
    """The badge class for a consent state label: good, bad or waiting."""
    if label == "active":
        return "active"
    if label.startswith(("revoked", "expired")):
        return "revoked"
    return "pending"


def waiting_time(since: datetime | None, now: datetime) -> str:
    """How long something has waited, in the largest unit that says it: "3 h", "2 days"."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return "1 day" if days == 1 else f"{days} days"

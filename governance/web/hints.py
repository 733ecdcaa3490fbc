"""Hints for people on pages: the errors' hints, pointed at pages instead of commands.

``governance.errors`` hints are written for the command line and the API ("list them with:
slate consent list", "raise SLATE_MAX_IMAGE_BYTES"), and the API and CLI keep them as they
are. A page visitor can run no command and set no environment variable, so a page shows the
page that does the same job, or nothing: a hint that names a command, an environment
variable, a command-line option or a source file never reaches a page.

Plain functions (no Flask): the blueprint turns a ``PageHint`` endpoint into a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PageHint:
    """What a page says after an error: words, and optionally a page that helps."""

    text: str
    endpoint: str | None = None
    anchor: str | None = None
    link_text: str | None = None


#: hints that name a command whose job a page does: (pattern, words, endpoint, anchor, link text)
_REWRITES: tuple[tuple[re.Pattern[str], str, str | None, str | None, str | None], ...] = (
    (re.compile(r"slate consent list"), "See the people and their consents on the", "web.registry", "people",
     "Registry page"),
    (re.compile(r"slate licence list"), "See the licences on the", "web.registry", "licences", "Registry page"),
    (re.compile(r"slate (asset|model) list"), "See what is registered on the", "web.registry", None,
     "Registry page"),
    (re.compile(r"slate request list"), "See your requests on the", "web.requests", None, "Requests page"),
    (re.compile(r"slate policy (list|publish|add|approve)"), "See the policy versions on the", "web.policies",
     None, "Policies page"),
    (re.compile(r"slate audit (verify|checkpoint)"), "Check the audit log on the", "web.audit", None,
     "Audit log page"),
    (re.compile(r"slate provenance"), "Search on the", "web.provenance", None, "Provenance page"),
    (re.compile(r"slate (user|token|identity|keys|worker)\b"), "An administrator can do this for you.",
     None, None, None),
)

#: what a page visitor cannot act on: a command, an environment variable, an option, a source file
_OPERATOR_ONLY = re.compile(
    r"\bslate [a-z]|`|\bSLATE_[A-Z_]+|(^|\s)--[a-z]|\.py\b|governance/|\bschema\.json\b|\bpip\b")


def page_hint(hint: str | None) -> PageHint | None:
    """The hint a page shows for an error's ``hint``: rewritten to a page, kept, or dropped."""
    if not hint:
        return None
    for pattern, text, endpoint, anchor, link_text in _REWRITES:
        if pattern.search(hint):
            return PageHint(text, endpoint, anchor, link_text)
    if _OPERATOR_ONLY.search(hint):
        return None
    return PageHint(hint)


def readable_size(count: int) -> str:
    """A byte count as people say it: 25000000 → "25 MB", 1500000 → "1.5 MB", 800 → "800 bytes"."""
    for unit, size in (("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


def field_problems(fields: dict[str, object]) -> dict[str, str]:
    """A validation error's fields as one sentence each, whatever nesting the validator used.

    marshmallow answers ``{"params": {"seed": ["Not a valid integer."]}}``; a page says
    ``{"seed": "Not a valid integer."}`` and never shows the dict or list it came in.
    """
    flat: dict[str, str] = {}

    def walk(name: str, problem: object) -> None:
        if isinstance(problem, dict):
            for key, inner in problem.items():
                walk(str(key) if not str(key).isdigit() else name, inner)
        elif isinstance(problem, (list, tuple)):
            texts = [p for p in problem if isinstance(p, str)]
            for p in problem:
                if not isinstance(p, str):
                    walk(name, p)
            if texts:
                flat[name] = " ".join(texts) if name not in flat else f"{flat[name]} {' '.join(texts)}"
        else:
            flat[name] = str(problem)

    for key, problem in fields.items():
        walk(str(key), problem)
    return flat

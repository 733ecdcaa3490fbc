"""Every page each role can reach, photographed and checked with axe-core: each demo user
starts on the start page and follows the links the pages show them (same site, GET, not a
download or a picture), breadth first, one visit per kind of page (endpoint and the set of
query fields), so a page no day test thought of is still checked for serious or critical
accessibility violations, and none answers a 5xx or an error in its script console.

Runs after the other days in the package (its name sorts late), so the studio has requests,
signed outputs, reviews, drafts and audit entries to link to.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.e2e.harness import SlateServer
from tests.web.browser import Person, Screens

USERS = ("pat-producer", "ada-approver", "lee-legal", "aud-auditor")
#: links that leave the pages: files, pictures, downloads, exports, sign-out
NOT_PAGES = re.compile(r"/(image|thumbnail|download|document|lineage\.svg|odrl)$"
                       r"|\.(csv|jsonl|json|pdf|html|svg|jpg|png)$|^/sign-out|^/web-static/|^/api/")
#: at most this many pages per person (the walk is breadth first: the nearest pages first)
PAGES_EACH = 45


def kind(path: str) -> tuple[str, frozenset[str]]:
    """A page's kind: its path with numbers and hashes generalised, and its query's field names."""
    parts = urlsplit(path)
    shape = re.sub(r"/(\d+|[0-9a-f]{12,64}|(or|run|job)_[0-9a-f]+)(?=/|$)", "/<id>", parts.path)
    return shape, frozenset(k for k, _ in parse_qsl(parts.query))


def links(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("main a[href], header a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/") and not h.startswith("//") and not NOT_PAGES.search(
        urlsplit(h).path) and "#" not in h]


def test_every_page_a_role_can_reach_is_accessible_and_answers(server: SlateServer, chromium: Any,
                                                               screens: Screens) -> None:
    answered: list[tuple[str, int]] = []
    for user in USERS:
        person = Person(chromium, server, user, screens)
        page = person.page
        seen: set[tuple[str, frozenset[str]]] = set()
        todo = deque(["/"])
        visits = 0
        while todo and visits < PAGES_EACH:
            path = todo.popleft()
            if kind(path) in seen:
                continue
            seen.add(kind(path))
            response = page.goto(path)
            visits += 1
            status = response.status if response is not None else 0
            answered.append((f"{user} {path}", status))
            slug = re.sub(r"[^a-z0-9]+", "-", kind(path)[0].lower()).strip("-") or "start"
            person.shot(f"{user}-{slug}")
            todo.extend(h for h in links(page) if kind(h) not in seen)
        person.close()
    assert len(answered) >= 40, answered  # the walk reached the pages, not just the start page
    assert [a for a in answered if a[1] >= 500] == []
    assert screens.problems == [], screens.problems
    screens.assert_accessible()

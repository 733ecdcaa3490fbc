"""The home page's dashboard: what waits for the visitor, per role, with links.

The queues themselves are ``governance.lifecycle.dashboard`` (plain values, bounded queries);
this module only says which page each kind of item opens, and only for a page the visitor's
roles open (an item never links to a 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for

from ..clock import utcnow
from ..lifecycle import dashboard as queues
from ..principal import Principal
from . import words

#: each kind of item, the page that shows it and the URL argument its ref fills
PAGES: dict[str, tuple[str, str | None]] = {
    "request": ("web.request_page", "request_id"),
    "output_review": ("web.output_review_page", "review_id"),
    "policy": ("web.policy", "ref"),
    "training_run": ("web.training_runs", None),
    "output": ("web.lineage", "sha256"),
}
#: the page listing a whole queue, for its "see all" link
QUEUE_PAGES = {"approvals": "web.approvals", "output_reviews": "web.output_reviews", "policy_drafts": "web.policies",
               "training_runs": "web.training_runs", "my_refusals": "web.requests", "lost_standing": "web.provenance"}
#: queues of things waiting for someone ("waiting 3 h"); the others are things that happened ("3 h ago")
WAITING = frozenset({"approvals", "output_reviews", "policy_drafts", "training_runs"})


@dataclass(frozen=True)
class Row:
    label: str
    url: str | None
    waiting: str
    detail: str


def _url(item: queues.Item, principal: Principal) -> str | None:
    endpoint, argument = PAGES[item.kind]
    if not _opens(principal, endpoint):
        return None
    values: dict[str, Any] = {argument: item.ref} if argument else {}
    return url_for(endpoint, **values)


def view(principal: Principal) -> dict[str, Any]:
    now = utcnow()
    board = queues.dashboard(principal, now)
    shown = []
    for queue in board.queues:
        rows = [Row(i.label, _url(i, principal), _age(queue.key, i, now), i.detail) for i in queue.items]
        endpoint = QUEUE_PAGES.get(queue.key)
        shown.append({"queue": queue, "rows": rows,
                      "all_url": url_for(endpoint) if endpoint and _opens(principal, endpoint) else None})
    return {"queues": shown, "audit": board.audit, "now": now}


def _age(key: str, item: queues.Item, now: datetime) -> str:
    if item.since is None:
        return ""
    age = words.waiting_time(item.since, now)
    return f"waiting {age}" if key in WAITING else f"{age} ago"


def _opens(principal: Principal, endpoint: str) -> bool:
    """Do the principal's roles open this page (its ``@page`` roles)?"""
    view_function = current_app.view_functions[endpoint]
    roles: frozenset[str] = getattr(view_function, "slate_roles", frozenset())
    return principal.has_any(tuple(roles))

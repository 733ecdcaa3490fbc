"""Every page, every role: a role outside a page's list gets 403; anonymous visitors go to sign in."""

from __future__ import annotations

import re

import pytest

from governance.web.access import SECTIONS

#: one demo user per role (gen-only has the generator role alone)
USERS = {"legal": "lee-legal", "producer": "pat-producer", "approver": "ada-approver",
         "auditor": "aud-auditor", "admin": "root-admin", "generator": "gen-only"}


def pages(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web."):
            continue
        roles = getattr(app.view_functions[rule.endpoint], "slate_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, roles


def concrete(path: str) -> str:
    return re.sub(r"<(?:int:)?[^>]*>", lambda m: "999999" if "int:" in m.group(0) else "x", path)


def test_every_page_declares_its_roles(app):
    undeclared = [f"{m} {r.rule}" for r, m, roles in pages(app) if roles is None and r.endpoint != "web.static"]
    assert undeclared == []


def test_page_role_matrix_has_zero_unauthorised_successes(app, browser):
    sessions = {role: browser(user) for role, user in USERS.items()}
    anonymous = browser()
    anonymous.get("/sign-in")
    failures, refused = [], 0
    for rule, method, roles in pages(app):
        if roles is None or "public" in roles:
            continue
        path = concrete(rule.rule)
        for role, b in sessions.items():
            response = b.get(path) if method == "GET" else b.post(path, {})
            if role in roles:
                if response.status_code in (401, 403):
                    failures.append(f"{role} wrongly refused on {method} {rule.rule}")
            else:
                refused += 1
                if response.status_code != 403:
                    failures.append(f"{role} NOT refused on {method} {rule.rule}: {response.status_code}")
        response = anonymous.get(path) if method == "GET" else anonymous.post(path, {})
        expected = (302,) if method == "GET" else (401,)
        if response.status_code not in expected:
            failures.append(f"anonymous got {response.status_code} on {method} {rule.rule}")
    assert refused > 50
    assert failures == []


def test_a_producer_opening_the_legal_page_gets_403_in_words(browser):
    response = browser("pat-producer").get("/policies")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "This page is for the roles: legal, auditor." in body and response.mimetype == "text/html"


@pytest.mark.parametrize("role", sorted(USERS))
def test_the_navigation_shows_only_what_the_roles_open(browser, role):
    body = browser(USERS[role]).get("/").get_data(as_text=True)
    for section in SECTIONS:
        shown = f">{section.label}</a>" in body
        assert shown == (role in section.roles), f"{section.label} for {role}"

"""An app on a temporary database, and one user + token per role."""

from __future__ import annotations

import pytest

from governance.app import create_app
from governance.auth.users import ROLES, add_user, issue_token
from governance.db import close_database
from governance.registry.people import add_production
from tests.conftest import home_for


@pytest.fixture
def app(settings, request):
    home_for(request, settings)
    application = create_app(settings, testing=True)
    yield application
    close_database()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """A token per role, each user alone in that role; producers belong to 'harbour-lights'."""
    add_production("harbour-lights")
    add_production("northern-line")
    out = {}
    for role in ROLES:
        add_user(f"{role}-user", [role], ["harbour-lights"] if role == "producer" else [])
        out[role] = issue_token(f"{role}-user")["token"]
    add_user("other-producer", ["producer"], ["northern-line"])
    out["other-producer"] = issue_token("other-producer")["token"]
    return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

"""An app with the demo studio seeded (users, policy, plate) and a registered model, and a
browser-like test client per user that signs in through the sign-in form."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from governance import demo
from governance.app import create_app
from governance.auth.users import add_user, issue_token
from governance.db import close_database
from governance.registry.assets import register_asset
from governance.registry.licences import add_licence
from governance.registry.models_registry import register_model, set_status
from governance.registry.training_sets import create_training_set
from governance.registry.vocabulary import OUTPUT_USES
from tests.conftest import Templates, home_for
from tests.training import attest_model
from tests.web.browser import chromium  # noqa: F401  (one browser for the whole package, days included)

REPO = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(settings: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    settings = type(settings)(**{**settings.__dict__, "policies_dir": REPO / "policies"})
    home_for(request, settings)
    application = create_app(settings, testing=True)
    yield application
    close_database()


@pytest.fixture
def studio(app: Flask, demo_template: Templates) -> dict[str, Any]:
    """The demo studio, an approved model, one token per demo user, and a user with no web role."""
    seeded = demo_template.seeded(app)
    add_licence("LIC-STUDIO-OWN", "The studio", grants=["ai_training", *OUTPUT_USES], territories=["WW"],
                starts_on=date(2020, 1, 1))
    frame, _ = register_asset(demo.plate_png(64, 64), media_type="image/png", title="Studio training frame",
                              licence="LIC-STUDIO-OWN")
    create_training_set("studio-frames", [(frame["sha256"], "LIC-STUDIO-OWN")])
    register_model("studio", "1", "ab" * 32, training_set="studio-frames")
    set_status("studio:1", "approved", "tests")
    # final frames need an attested model; the pages' tests are about other things
    attest_model("studio:1", app.config["SLATE_SETTINGS"])
    add_user("gen-only", ["generator"])
    tokens = {**seeded.tokens, "gen-only": issue_token("gen-only")["token"]}
    return {"tokens": tokens, "plate": seeded.reference_sha256, "model": "studio:1"}


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


class Browser:
    """A test client that behaves like one user's browser: cookies kept, forms carry the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        found = CSRF.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def sign_in(self, token: str) -> Any:
        self.get("/sign-in")
        response = self.post("/sign-in", {"token": token})
        self.get("/")
        return response


@pytest.fixture
def browser(app: Flask, studio: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``browser("pat-producer")``: a client signed in as that demo user."""
    def open_as(user: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if user:
            response = b.sign_in(studio["tokens"][user])
            assert response.status_code == 302, response.get_data(as_text=True)
        return b
    return open_as

"""A NUL in any text of a request is refused with one 422, before it reaches a database:
PostgreSQL cannot store one (psycopg2 raises, which was a 500 on 23 routes)."""

from __future__ import annotations

import io

import pytest

from governance.app import create_app
from governance.auth.users import add_user, issue_token
from governance.db import close_database
from governance.registry.people import add_production
from governance.registry.tables import Person
from governance.settings import Settings
from tests.api.conftest import auth


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client_and_tokens(request, tmp_path):
    settings = Settings.for_folder(tmp_path)
    if request.param == "postgresql":
        settings = Settings.for_folder(tmp_path, database_url=request.getfixturevalue("postgres_server")
                                       .create_database())
    app = create_app(settings, testing=True)
    add_production("harbour-lights")
    tokens = {}
    for name, roles, productions in (("pat", ["producer"], ["harbour-lights"]), ("lee", ["legal"], []),
                                     ("gpu", ["generator"], [])):
        add_user(name, roles, productions)
        tokens[name] = issue_token(name)["token"]
    yield app.test_client(), tokens
    close_database()


CASES = [
    ("pat", "GET", "/api/v1/people/a%00b", {}),
    ("pat", "GET", "/api/v1/consents?person=a%00b", {}),
    ("pat", "POST", "/api/v1/people", {"json": {"name": "Mara\u0000Quinn", "productions": ["harbour-lights"]}}),
    ("pat", "POST", "/api/v1/people", {"json": {"name": "Mara", "guardian": "x\u0000", "is_minor": True,
                                                "productions": ["harbour-lights"]}}),
    ("lee", "POST", "/api/v1/people/Mara%00/productions", {"json": {"production": "harbour-lights"}}),
    ("lee", "POST", "/api/v1/consents/1/revoke", {"json": {"reason": "gone\u0000"}}),
    ("lee", "POST", "/api/v1/assets/abc%00def/licence", {"json": {"licence": "L"}}),
    ("gpu", "POST", "/api/v1/jobs/job_%00/claim", {"json": {}}),
    ("pat", "POST", "/api/v1/assets", {"content_type": "multipart/form-data",
                                       "data": {"title": "t\u0000", "production": "harbour-lights"}}),
]


@pytest.mark.parametrize("who, method, path, kwargs", CASES, ids=[f"{m} {p}" for _, m, p, _ in CASES])
def test_a_nul_character_anywhere_is_a_422_and_writes_nothing(client_and_tokens, who, method, path, kwargs):
    client, tokens = client_and_tokens
    if "data" in kwargs:  # a fresh upload per run: the test client closes the one it sent
        kwargs = {**kwargs, "data": {**kwargs["data"], "file": (io.BytesIO(b"x"), "x.png", "image/png")}}
    response = client.open(path, method=method, headers=auth(tokens[who]), **kwargs)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json" and "NUL" in response.json["detail"]
    assert Person.select().count() == 0

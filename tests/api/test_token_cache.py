"""A verified token is reused for a few seconds without reading the database again; what
that may never change: revocation in this process takes effect at once, revocation in
another process within the stated bound, expiry on every use, failures are never cached."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from governance.auth import users
from governance.auth.tables import ApiToken
from governance.auth.users import TOKEN_CACHE_SECONDS, add_membership, hash_token, issue_token, revoke_token
from governance.registry.people import add_production
from tests.api.conftest import auth


@pytest.fixture
def monotonic(monkeypatch):
    """The cache's clock, moved by hand."""
    now = [1_000.0]
    monkeypatch.setattr(users.time, "monotonic", lambda: now[0])
    return now


def test_a_token_revoked_by_another_process_is_refused_once_the_bound_has_passed(client, tokens, monotonic):
    token = issue_token("auditor-user")
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 200
    # another process (another gunicorn worker, the CLI on another host) revokes it: this
    # process learns nothing of it but the database row
    ApiToken.update(revoked_at=datetime.now(timezone.utc)).where(ApiToken.id == token["id"]).execute()
    monotonic[0] += TOKEN_CACHE_SECONDS - 0.5
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 200  # the stated staleness
    monotonic[0] += 0.5
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 401


def test_a_token_revoked_in_this_process_is_refused_at_once(client, tokens, monotonic):
    token = issue_token("auditor-user")
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 200
    revoke_token(token["id"])
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 401


def test_a_cached_token_is_refused_the_moment_it_expires(client, tokens, monkeypatch, monotonic):
    token = issue_token("auditor-user", expires_in=timedelta(hours=1))
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 200
    later = datetime.now(timezone.utc) + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(users, "utcnow", lambda: later)
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 401


def test_a_new_membership_is_seen_at_once_by_a_cached_token(client, tokens, monotonic):
    add_production("quiet-harbour")
    before = client.get("/api/v1/me", headers=auth(tokens["producer"]))
    assert before.json["productions"] == ["harbour-lights"]
    add_membership("producer-user", "quiet-harbour")
    after = client.get("/api/v1/me", headers=auth(tokens["producer"]))
    assert after.json["productions"] == ["harbour-lights", "quiet-harbour"]


def test_unknown_tokens_are_never_remembered(client, tokens, monotonic):
    guess = "slt_" + "x" * 43
    for _ in range(3):
        assert client.get("/api/v1/people", headers=auth(guess)).status_code == 401
    assert users.verified_tokens.get(hash_token(guess), datetime.now(timezone.utc)) is None


def test_the_cache_keeps_hashes_not_tokens(client, tokens, monotonic):
    assert client.get("/api/v1/people", headers=auth(tokens["auditor"])).status_code == 200
    kept = repr(users.verified_tokens._entries())
    assert tokens["auditor"] not in kept and hash_token(tokens["auditor"]) in kept


def test_a_verification_that_read_before_a_revocation_keeps_nothing(client, tokens, monotonic):
    """Thread A reads the token row; thread B revokes it and forgets; A must not then keep
    what it read, or the revoked token would work for the rest of the bound."""
    token = issue_token("auditor-user")
    real_put = users.verified_tokens.put

    def revoked_meanwhile(*args):
        revoke_token(token["id"])  # lands between A's read and its put
        real_put(*args)
    users.verified_tokens.put = revoked_meanwhile  # type: ignore[method-assign]
    try:
        assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 200
    finally:
        users.verified_tokens.put = real_put  # type: ignore[method-assign]
    assert client.get("/api/v1/people", headers=auth(token["token"])).status_code == 401


def test_what_one_database_verified_is_not_used_for_another(client, tokens, monotonic, tmp_path):
    from governance.db import database, open_database
    from governance.migrations import migrate
    assert client.get("/api/v1/people", headers=auth(tokens["auditor"])).status_code == 200
    previous = database.obj
    open_database(f"sqlite:///{tmp_path}/other.db")
    try:
        migrate()
        assert users.verified_tokens.get(hash_token(tokens["auditor"]), datetime.now(timezone.utc)) is None
    finally:
        database.close()
        database.initialize(previous)

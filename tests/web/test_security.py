"""The pages as a browser app: session cookie, CSRF, headers, escaping, the secret key."""

from __future__ import annotations

import os
import stat

import pytest

from governance.auth.users import list_tokens, revoke_token
from governance.registry.people import add_person
from governance.settings import Settings
from governance.web import security
from tests.web.conftest import csrf_of


def test_sign_in_keeps_the_token_out_of_urls_and_the_cookie_readable_by_no_script(app, studio):
    token = studio["tokens"]["pat-producer"]
    client = app.test_client()
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"token": token, "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert token not in response.headers["Location"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert token not in cookie and token[4:20] not in cookie  # sealed, not merely signed
    home = client.get("/")
    assert home.status_code == 200 and "pat-producer" in home.get_data(as_text=True)
    assert token not in home.get_data(as_text=True)


def test_the_session_cookie_is_secure_over_https(app, studio):
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://slate.example")
    csrf = csrf_of(page.get_data(as_text=True))
    response = client.post("/sign-in", base_url="https://slate.example",
                           data={"token": studio["tokens"]["pat-producer"], "csrf_token": csrf})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_wrong_token_is_refused_without_echoing_it(browser):
    b = browser()
    b.get("/sign-in")
    response = b.post("/sign-in", {"token": "slt_not-a-real-token-<b>"})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "unknown, expired or revoked" in body and "slt_not-a-real-token" not in body


def test_pages_send_the_security_headers(browser):
    b = browser("lee-legal")
    for path in ("/sign-in", "/policies", "/policies/nope@9", "/web-static/slate.css"):
        response = b.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert b.get("/policies").headers["Cache-Control"] == "no-store"


def test_a_form_without_this_sessions_csrf_token_is_refused_and_changes_nothing(browser, studio):
    legal = browser("lou-legal")
    for data in ({}, {"csrf_token": "forged"}):
        response = legal.client.post("/policies", data={**data, "text": "uid: x"})
        assert response.status_code == 400
        assert "did not come from a Slate page" in response.get_data(as_text=True)
    approver = browser("ada-approver")
    other_csrf = approver.csrf
    response = legal.client.post("/policies", data={"csrf_token": other_csrf, "text": "uid: x"})
    assert response.status_code == 400, "another session's token must not work"
    anonymous = browser()
    assert anonymous.client.post("/sign-in", data={"token": studio["tokens"]["lee-legal"]}).status_code == 400


def test_signing_out_needs_the_csrf_token_and_ends_the_session(browser):
    b = browser("pat-producer")
    assert b.client.post("/sign-out").status_code == 400
    assert b.post("/sign-out").status_code == 302
    assert b.get("/requests").status_code == 302


def test_a_revoked_token_ends_the_web_session_at_once(browser):
    b = browser("pat-producer")
    assert b.get("/requests").status_code == 200
    for row in list_tokens("pat-producer"):
        revoke_token(row["id"])
    response = b.get("/requests")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_hostile_names_are_escaped_everywhere_they_are_shown(browser):
    add_person("<script>alert('x')</script>", productions=["harbour-lights"])
    body = browser("pat-producer").get("/registry").get_data(as_text=True)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(" in body
    form = browser("pat-producer").get("/requests/new").get_data(as_text=True)
    assert "<script>alert" not in form


def test_after_sign_in_only_a_local_path_is_followed(browser, studio):
    b = browser()
    b.get("/sign-in")
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/registry", "/registry")):
        b.client.get("/sign-out")
        b.get("/sign-in")
        response = b.post("/sign-in", {"token": studio["tokens"]["pat-producer"], "next": target})
        assert response.headers["Location"] == expected


def test_the_session_key_is_generated_once_owner_only_or_taken_from_settings(tmp_path):
    settings = Settings.for_folder(tmp_path)
    first = security.secret_key(settings)
    path = settings.keys_dir / security.SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert security.secret_key(settings) == first and len(first) >= 32
    key = "from-the-environment-" + "k" * 24
    configured = Settings.from_env({"SLATE_HOME": str(tmp_path), "SLATE_SECRET_KEY": key})
    assert security.secret_key(configured) == b"from-the-environment-" + b"k" * 24
    assert "from-the-environment" not in repr(configured)


@pytest.mark.parametrize("value", ["CHANGE-ME", "short-but-set", "change-me-" + "x" * 30])
def test_a_placeholder_or_short_session_key_is_refused(tmp_path, value):
    from governance.errors import ConfigurationError
    configured = Settings.from_env({"SLATE_HOME": str(tmp_path), "SLATE_SECRET_KEY": value})
    with pytest.raises(ConfigurationError, match="SLATE_SECRET_KEY") as refused:
        security.secret_key(configured)
    assert value not in str(refused.value)


def test_a_sealed_token_does_not_open_under_another_key_or_after_its_lifetime():
    sealed = security.seal(b"k" * 32, "slt_secret")
    assert security.unseal(b"k" * 32, sealed) == "slt_secret"
    assert security.unseal(b"j" * 32, sealed) is None
    assert security.unseal(b"k" * 32, sealed[:-2] + "AA") is None
    assert security.unseal(b"k" * 32, None) is None


def test_the_app_signs_sessions_with_the_settings_key(app, settings):
    assert app.secret_key == security.secret_key(settings)


def test_a_page_showing_work_in_progress_reloads_itself_through_the_one_static_script(browser, studio):
    from tests.web.test_requests import submit
    pat = browser("pat-producer")
    page = submit(pat, studio, use="previs")
    assert page.status_code == 302
    queued = pat.get(page.headers["Location"]).get_data(as_text=True)
    assert 'data-refresh-seconds="3"' in queued and "/web-static/refresh.js" in queued
    assert 'http-equiv="refresh"' not in queued  # a meta refresh is an accessibility failure
    assert "check now" in queued  # without scripts, a link does the same
    assert "data-refresh-seconds" not in pat.get("/requests").get_data(as_text=True)
    script = pat.get("/web-static/refresh.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert "script-src 'self'" in script.headers["Content-Security-Policy"]

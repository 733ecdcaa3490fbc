"""What makes the web pages safe in a browser: the session key, the sealed token, CSRF, headers.

A signed-in user's API token lives only in the session cookie, sealed (encrypted and
authenticated, with a lifetime) under a key derived from the app's secret key, so the
cookie on disk is neither the token nor usable after ``SESSION_LIFETIME``. The cookie is
HttpOnly and SameSite=Strict, and Secure whenever the request came over https. Every form
carries a per-session CSRF token. Nothing here logs a token or a form's content.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface

from ..errors import ConfigurationError, InvalidInput
from ..settings import Settings

SECRET_FILE = "web-session.key"
SESSION_LIFETIME = timedelta(hours=8)
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: No inline script or style anywhere; scripts, styles and images only from Slate itself (one
#: static script, ``static/refresh.js``, reloads a page showing work in progress).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class CSRFRefused(InvalidInput):
    status = 400
    title = "Form refused"


def secret_key(settings: Settings) -> bytes:
    """``SLATE_SECRET_KEY`` when set; otherwise the key generated into the keys folder on first run.

    A set key that is short or still an example's placeholder is refused: it signs every
    session cookie and seals the API token inside it, so a guessable one lets anyone forge a
    signed-in session."""
    if settings.secret_key:
        if len(settings.secret_key) < 32 or "CHANGE-ME" in settings.secret_key.upper():
            raise ConfigurationError("SLATE_SECRET_KEY is too short or still a placeholder: it signs page sessions",
                                     hint="make one: python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"")
        return settings.secret_key.encode("utf-8")
    path = settings.keys_dir / SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    return path.read_bytes().strip()


def _create_secret_file(path: Path) -> None:
    # written aside and linked into place, so that concurrent first runs (several gunicorn
    # workers) agree on one key and none reads a half-written file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_urlsafe(48).encode("ascii"))
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


class SlateSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request itself came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def configure(app: Flask, settings: Settings) -> None:
    app.secret_key = secret_key(settings)
    app.session_interface = SlateSessionInterface()
    app.config.update(SESSION_COOKIE_NAME="slate_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME)


def _sealer(app_secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"slate web: sealed API token").derive(app_secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(app_secret: bytes, token: str) -> str:
    return _sealer(app_secret).encrypt(token.encode("utf-8")).decode("ascii")


def unseal(app_secret: bytes, sealed: Any) -> str | None:
    """The token, or None when the seal is missing, forged or older than the session lifetime."""
    if not isinstance(sealed, str):
        return None
    try:
        data = _sealer(app_secret).decrypt(sealed.encode("ascii"), ttl=int(SESSION_LIFETIME.total_seconds()))
    except (InvalidToken, UnicodeEncodeError):
        return None
    return data.decode("utf-8")


def csrf_token() -> str:
    """This session's CSRF token, created on first use; every form renders it."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def new_csrf_token() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def check_csrf() -> None:
    """Refuse a state-changing request whose form does not carry this session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CSRFRefused("this form expired or did not come from a Slate page, so nothing was done",
                          hint="reload the page and submit the form again")


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # pages show confidential studio records: never keep them in a shared or browser cache
    response.headers.setdefault("Cache-Control", "no-store")
    return response

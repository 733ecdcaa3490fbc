"""Web pages for legal, producers, approvers and auditors, served by the API's own Flask app.

Server-rendered HTML (Jinja, autoescaped; one stylesheet; no JavaScript). A user signs in
with their API token, which stays sealed in the HttpOnly session cookie and never appears
in a URL. Each page declares the roles it opens (``access.page``), every form carries a
CSRF token, every response the security headers of ``security``. The pages hold no rules of
their own: they call the same domain functions as the API and the CLI.
"""

from __future__ import annotations

from flask import Flask

from ..settings import Settings
from . import (  # noqa: F401  (routes)
    audit,
    home,
    policies,
    provenance,
    registry,
    reports,
    requests,
    reviews,
    security,
    thumbnails,
    training,
)
from .blueprint import bp, install_error_pages


def install(app: Flask, settings: Settings) -> None:
    """Give ``app`` its session key and cookie settings, and the pages."""
    security.configure(app, settings)
    app.register_blueprint(bp)
    install_error_pages(app)

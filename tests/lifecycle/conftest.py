"""The demo studio on a temporary database, with a browser per demo user (tests/web's fixtures)."""

from tests.web.conftest import app, browser, studio  # noqa: F401

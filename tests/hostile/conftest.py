"""The API fixtures (app, client, tokens) for hostile-input tests."""

from tests.api.conftest import app, client, tokens  # noqa: F401

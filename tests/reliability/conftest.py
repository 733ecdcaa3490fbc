"""The API fixtures (app, client, a studio with an approved model) for reliability tests."""

from tests.api.conftest import app, client  # noqa: F401
from tests.api.test_flow import studio  # noqa: F401

"""The HTTP API: one blueprint per area, under ``/api/v1``.

Request and response bodies are marshmallow schemas; flask-smorest turns them into the
OpenAPI document at ``/openapi.json`` and the interactive page at ``/docs`` (served from
the bundled Swagger UI files, so it works with no internet). ``install`` puts the API on
the app that ``governance.app.create_app`` builds, beside the web pages.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from . import (
    admin,
    bases,
    catalogue,
    errors,
    flow,
    oversight,
    policies,
    provenance,
    registry,
    reports,
    softbinding,
    training,
    uses,
    workers,
)
from .openapi import SlateDocPlugin

#: The areas of the API, each a module with its ``blueprints``.
AREAS = (registry, bases, admin, oversight, policies, catalogue, flow, provenance, workers, softbinding, training,
         reports, uses)


class SlateApi(Api):  # type: ignore[misc]  # flask-smorest ships no types
    def handle_http_exception(self, error: Any) -> Any:  # flask-smorest's own handler
        return errors.from_http_exception(error)


def install(app: Flask) -> Api:
    """Give ``app`` the API's error handling, every area's blueprints, and the docs page.

    The OpenAPI settings (``API_TITLE``, ``OPENAPI_*``, ``API_SPEC_OPTIONS``) are the app's
    configuration, set before this is called."""
    errors.install(app)
    api = SlateApi(app, spec_kwargs={"extra_plugins": [SlateDocPlugin()]})
    for area in AREAS:
        for blueprint in area.blueprints:
            api.register_blueprint(blueprint)
    _serve_swagger_assets(app)
    return api


def _serve_swagger_assets(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    folder = swagger_ui_bundle.swagger_ui_path

    @app.route("/docs/static/<path:filename>")
    def swagger_static(filename: str) -> Any:
        return send_from_directory(folder, filename)

    swagger_static.slate_roles = frozenset({"public"})  # type: ignore[attr-defined]

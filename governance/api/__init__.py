"""The HTTP API: a Flask app factory with one blueprint per area, under ``/api/v1``.

Request and response bodies are marshmallow schemas; flask-smorest turns them into the
OpenAPI document at ``/openapi.json`` and the interactive page at ``/docs`` (served from
the bundled Swagger UI files, so it works with no internet).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from .. import __version__
from ..canonical import json_default
from ..db import database, open_database
from ..migrations import migrate
from ..modules import optional_import
from ..settings import Settings
from . import errors
from .openapi import SlateDocPlugin

#: Modules that contribute blueprints; each exposes ``blueprints``.
BLUEPRINT_MODULES = [
    "governance.api.registry",
    "governance.api.admin",
    "governance.api.oversight",
    "governance.api.policies",
    "governance.api.flow",
    "governance.api.provenance",
]


def quiet_query_logging() -> None:
    """peewee logs every query with its parameters at DEBUG, and parameters include prompts.
    Pin its logger above DEBUG so a root logger turned to DEBUG cannot write them out."""
    logging.getLogger("peewee").setLevel(logging.INFO)
    logging.getLogger("slate").setLevel(logging.INFO)
    # pyhanko warns with tracebacks quoting certificate names taken from uploaded documents;
    # a refused document is already explained to the caller in Slate's own words
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.ERROR)


class DatabaseInt(IntegerConverter):
    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


class SlateJSONProvider(DefaultJSONProvider):
    """Whatever Flask turns into JSON itself gives times as RFC 3339, like every schema."""

    @staticmethod
    def default(value: Any) -> Any:
        try:
            return json_default(value)
        except TypeError:
            return DefaultJSONProvider.default(value)


class SlateApi(Api):
    def handle_http_exception(self, error: Any) -> Any:  # flask-smorest's own handler
        return errors.from_http_exception(error)


def create_app(settings: Settings | None = None, *, testing: bool = False) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("slate")
    app.json = SlateJSONProvider(app)
    app.config.update(
        TESTING=testing,
        SLATE_SETTINGS=settings,
        API_TITLE="Slate",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
        # multipart overhead on top of the largest image we accept
        MAX_CONTENT_LENGTH=settings.max_image_bytes + 1_000_000,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
            "info": {"description": "Governance and provenance for bespoke generative image models."},
        },
    )
    # ids in URLs must fit a database integer: a larger one is simply not found
    app.url_map.converters["int"] = DatabaseInt
    open_database(settings.database_url)
    migrate()
    errors.install(app)
    api = SlateApi(app, spec_kwargs={"extra_plugins": [SlateDocPlugin()]})
    _register_blueprints(api)
    _serve_swagger_assets(app)
    _install_web_pages(app, settings)
    _manage_connections(app)
    quiet_query_logging()
    return app


def _register_blueprints(api: Api) -> None:
    for name in BLUEPRINT_MODULES:
        module = optional_import(name)
        for blueprint in getattr(module, "blueprints", []):
            api.register_blueprint(blueprint)


def _install_web_pages(app: Flask, settings: Settings) -> None:
    from ..web import install  # the pages import API helpers: keep this import out of module load
    install(app, settings)


def _serve_swagger_assets(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    folder = swagger_ui_bundle.swagger_ui_path

    @app.route("/docs/static/<path:filename>")
    def swagger_static(filename: str) -> Any:
        return send_from_directory(folder, filename)

    swagger_static.slate_roles = frozenset({"public"})  # type: ignore[attr-defined]


def _manage_connections(app: Flask) -> None:
    @app.before_request
    def connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def disconnect(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

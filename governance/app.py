"""The Flask app factory: the HTTP API and the web pages, served by one app.

``create_app(settings)`` opens the database, brings its schema up to date and installs
the API (``governance.api``) and the pages (``governance.web``) on a fresh app: no
module-level app, nothing a test has to reset. Production serves ``governance.wsgi:app``
under gunicorn; ``slate serve`` runs one in-process.
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from . import __version__, api, web
from .canonical import json_default
from .db import close_database, database, open_database, release_connection
from .logs import quiet_query_logging
from .migrations import migrate
from .registry.attestations import use_keys_folder as use_attestation_trust
from .registry.faces import use_matcher as use_face_matcher
from .registry.fingerprints import use_folder as use_index_folder
from .settings import Settings


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
    use_index_folder(settings.index_dir)
    use_attestation_trust(settings.keys_dir)
    use_face_matcher(settings.face_matcher_model, settings.face_matcher_threshold, settings.face_matcher_input)
    api.install(app)
    web.install(app, settings)
    _manage_connections(app)
    quiet_query_logging()
    return app


def warm_up(app: Flask, *, one_thread_per_request: bool = True) -> Flask:
    """Do at start what a process would otherwise do on its first requests: load the queue's
    client library, make the signer (keys, c2pa context), and read and compile every published
    policy. Those first requests otherwise arrive together, queue behind the import lock and
    the compiler, and make the slowest answers of a fresh gunicorn worker seconds long. And
    have OpenCV and faiss compute on each request's own thread (``perception.threads``):
    an API process serves requests in parallel already.

    Last, everything loaded so far (the libraries, the app, the compiled policies: most of
    the process's objects, none of them garbage) is moved out of the collector's sight
    (``gc.freeze``). A full collection otherwise walked all of it every few hundred
    requests: 100-550 ms in which every thread of the process stopped, one of them
    perhaps holding the database's write lock that the other processes' requests wait for,
    the whole p99 of ``POST /api/v1/requests``."""
    from .api import services
    from .perception.threads import on_this_thread, one_thread_per_call
    from .policy.versions import compiled, published_rows

    if one_thread_per_request:  # not where a generator shares the process (slate serve's embedded worker)
        one_thread_per_call()
        app.before_request(on_this_thread)
    with app.app_context():
        services.queue()
        services.issuer()
        for row in published_rows():
            compiled(row)
    close_database()  # nothing held open across a fork (gunicorn --preload)
    gc.collect()
    gc.freeze()
    return app


def _manage_connections(app: Flask) -> None:
    @app.before_request
    def connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def disconnect(_exc: BaseException | None) -> None:
        release_connection()

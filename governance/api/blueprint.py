"""The API's blueprint class: flask-smorest's, with one more argument location, ``multipart``.

A multipart body with form fields and a file (``/sign``, ``/assets``) must be one schema in
one request body for the OpenAPI document to describe it (flask-smorest documents one
request body per operation), so that "Try it out" sends it as the API reads it.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict


class SlateParser(FlaskParser):
    """webargs' Flask parser that also reads form fields and files together (``multipart``)."""

    # webargs reads these maps from the class and never changes them
    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}  # noqa: RUF012

    def load_multipart(self, req: flask.Request, schema: Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class SlateBlueprint(Blueprint):  # type: ignore[misc]  # flask-smorest ships no types
    ARGUMENTS_PARSER = SlateParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,  # noqa: RUF012
                                             "multipart": "multipart/form-data"}

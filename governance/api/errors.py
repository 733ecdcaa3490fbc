"""One error format for the whole API: RFC 9457 ``application/problem+json``.

Every failure, ours or the framework's (404 route, 405, 413, JSON that does not parse,
schema validation), leaves as a problem document. An unexpected exception becomes a
generic 500 that carries an incident id and nothing of the exception's text, which may
hold data the caller must not see; the details go to the server log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from ..errors import SlateError

log = logging.getLogger("slate.api")
PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict[str, Any]) -> Response:
    response = Response(json.dumps(problem), status=problem["status"], mimetype=PROBLEM_JSON)
    if problem["status"] == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="slate"'
    return response


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    problem: dict[str, Any] = {
        "type": f"https://slate.example/problems/http-{status}",
        "title": error.name,
        "status": status,
        "detail": _detail(error),
    }
    messages = (getattr(error, "data", None) or {}).get("messages")
    if messages:
        # webargs nests by location (json, query, files); callers care about the fields
        flat: dict[str, Any] = {}
        for location, fields in messages.items():
            flat.update(fields if isinstance(fields, dict) else {location: fields})
        problem["errors"] = flat
        if set(flat) == {"json"} and isinstance(flat["json"], list):
            problem["detail"] = "the request body is not valid JSON"
        else:
            problem["detail"] = "the request has invalid or unknown fields: " + ", ".join(sorted(map(str, flat)))
    return problem_response(problem)


def _detail(error: HTTPException) -> str:
    if error.code == 413:
        return "the upload is larger than this server accepts (see SLATE_MAX_IMAGE_BYTES)"
    if error.code == 400 and "JSON" in (error.description or ""):
        return "the request body is not valid JSON"
    return error.description or error.name


def install(app: Flask) -> None:
    @app.errorhandler(SlateError)
    def handle_slate_error(error: SlateError) -> Response:
        return problem_response(error.to_problem())

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        return from_http_exception(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.error("unexpected %s (incident %s)", type(error).__name__, incident, exc_info=error)
        return problem_response({
            "type": "https://slate.example/problems/internal",
            "title": "Internal error", "status": 500,
            "detail": f"Slate hit an unexpected error; quote incident {incident} to the operators",
        })

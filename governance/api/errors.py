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

from ..errors import InvalidInput, SlateError

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


#: how deep a JSON body is searched for a NUL; deeper bodies are refused by their schemas anyway
_NUL_DEPTH = 32


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > _NUL_DEPTH:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def refuse_nul_characters() -> None:
    """No name, id or text Slate stores may hold a NUL: PostgreSQL cannot store one, and
    no legitimate caller sends one. Refused up front, for every route, with one answer."""
    from flask import request
    candidates: list[Any] = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        candidates += [*request.form.keys(), *request.form.values()]
        candidates += [f.filename or "" for f in request.files.values()]
    elif request.is_json:
        candidates.append(request.get_json(silent=True))
    if any(_has_nul(c) for c in candidates):
        raise InvalidInput("text in the request holds a NUL character, which Slate never stores",
                           hint="remove the \\0 character from the path, the query or the body")


def install(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

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

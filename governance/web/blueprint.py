"""The ``web`` blueprint itself: CSRF before every form, security headers after every page,
and errors shown as pages written for the person who sees them.

An error page says what happened in words, the actual limit where one was hit, and a way
back (the section of the site the address belongs to, or the start page); it never shows a
traceback, a source file, an environment variable or a command (``hints.page_hint``). A
browser that asks for an address no route answers, outside ``/api/``, gets such a page too;
the API and any client that does not ask for HTML keep the problem document.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..api.errors import from_http_exception
from ..clock import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, SlateError, Unauthorized
from . import access, security, words
from .hints import field_problems, page_hint, readable_size

log = logging.getLogger("slate.web")

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web-static")

bp.add_app_template_filter(words.operator_words, "operator_words")
bp.add_app_template_filter(words.status_words, "status_words")
bp.add_app_template_filter(words.consent_state_class, "consent_state_class")
bp.add_app_template_filter(words.sentence, "sentence")
bp.add_app_template_filter(field_problems, "field_problems")


@bp.app_template_filter("consent_state")
def consent_state(consent: dict[str, Any]) -> str:
    return words.consent_state(consent, utcnow().date())


@bp.app_template_filter("waiting")
def waiting(since: Any) -> str:
    return words.waiting_time(since, utcnow())


@bp.before_request
def refuse_forged_forms() -> None:
    security.check_csrf()


@bp.after_request
def secure_headers(response: Any) -> Any:
    return security.add_headers(response)


@bp.context_processor
def page_context() -> dict[str, Any]:
    signed_in = access.signed_in_principal()
    return {"csrf_token": security.csrf_token, "csrf_field": security.CSRF_FIELD,
            "me": signed_in, "sections": access.sections_for(signed_in)}


#: what each status means to a person, when the error itself says nothing better
STATUS_TITLES = {
    400: "Not understood", 401: "Sign in first", 403: "Not for your roles", 404: "Not found",
    405: "Not possible here", 409: "Not possible now", 413: "Too large", 422: "Please check what you entered",
    500: "Something went wrong", 503: "Not available at the moment",
}


def _way_back() -> tuple[str, str]:
    """Where the visitor can go from here: the section this address belongs to, or the start."""
    section = access.section_of(request.path, access.signed_in_principal())
    # a failed GET of the section's own page cannot go back to itself; a failed form can
    if section is not None and (url_for(section.endpoint) != request.path or request.method != "GET"):
        return url_for(section.endpoint), f"Back to {section.label}"
    return url_for("web.home"), "Back to the start page"


def error_page(status: int, title: str, message: str, hint: str | None = None,
               fields: dict[str, Any] | None = None) -> tuple[str, int]:
    back_url, back_label = _way_back()
    return render_template("web/error.html", status=status, title=title, message=message,
                           hint=page_hint(hint), fields=field_problems(fields or {}),
                           back_url=back_url, back_label=back_label), status


def _upload_limit_message() -> str:
    settings = current_app.config["SLATE_SETTINGS"]
    return f"The largest upload this server accepts is {readable_size(settings.max_image_bytes)}."


def _http_error_page(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    title = STATUS_TITLES.get(status, error.name)
    if status == 413:
        return error_page(413, title, f"The file you sent is too large. {_upload_limit_message()}")
    if status == 404:
        return error_page(404, title, "There is no page at this address. It may have been mistyped, "
                                      "or the record it showed no longer exists.")
    if status == 405:
        return error_page(405, title, f"This address does not take a {request.method} request: "
                                      "use the links and buttons on the pages to get here.")
    return error_page(status, title, error.description or error.name)


@bp.errorhandler(SlateError)
def slate_error(error: SlateError) -> tuple[str, int]:
    generic = isinstance(error, (Forbidden, Unauthorized, InvalidInput, NotFound, Conflict))
    title = STATUS_TITLES.get(error.status, error.title) if generic else error.title
    return error_page(error.status, title, error.message, error.hint, error.fields)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    return _http_error_page(error)


@bp.errorhandler(Exception)
def unexpected(error: Exception) -> tuple[str, int]:
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected %s on a web page (incident %s)", type(error).__name__, incident, exc_info=error)
    return error_page(500, STATUS_TITLES[500],
                      f"Slate hit an unexpected error and nothing was changed by it. If it happens again, "
                      f"tell the studio's operators the incident number {incident}.")


def wants_html() -> bool:
    """A browser asking for a page: not the API, and HTML preferred to JSON in its Accept."""
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "application/problem+json", "text/html"])
    return best == "text/html"


def unrouted(error: HTTPException) -> Any:
    """An address no route answers (404, 405 outside any page): a page for a browser, else the
    API's problem document exactly as before."""
    if not wants_html():
        return from_http_exception(error)
    body, status = _http_error_page(error)
    response = Response(body, status=status, mimetype="text/html")
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return security.add_headers(response)


@bp.app_context_processor
def error_page_context() -> dict[str, Any]:
    """Outside the blueprint (an unrouted address) the error page still knows who is signed in."""
    if request.blueprint is not None:
        return {}
    return page_context()


def install_error_pages(app: Flask) -> None:
    app.register_error_handler(404, unrouted)
    app.register_error_handler(405, unrouted)

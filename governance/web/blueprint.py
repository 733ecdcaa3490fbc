"""The ``web`` blueprint itself: CSRF before every form, security headers after every page,
and errors shown as pages written for the person who sees them."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

from ..errors import SlateError
from . import access, security

log = logging.getLogger("slate.web")

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web-static")


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


def error_page(status: int, title: str, message: str, hint: str | None = None,
               fields: dict[str, Any] | None = None) -> tuple[str, int]:
    return render_template("web/error.html", status=status, title=title, message=message, hint=hint,
                           fields=fields or {}), status


@bp.errorhandler(SlateError)
def slate_error(error: SlateError) -> tuple[str, int]:
    return error_page(error.status, error.title, error.message, error.hint, error.fields)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    if status == 413:
        return error_page(413, "Too large", "The upload is larger than this server accepts.",
                          "an operator sets the limit with SLATE_MAX_IMAGE_BYTES")
    return error_page(status, error.name, error.description or error.name)


@bp.errorhandler(Exception)
def unexpected(error: Exception) -> tuple[str, int]:
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected %s on a web page (incident %s)", type(error).__name__, incident, exc_info=error)
    return error_page(500, "Internal error",
                      f"Slate hit an unexpected error; quote incident {incident} to the operators.")

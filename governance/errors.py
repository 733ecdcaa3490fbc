"""The one exception hierarchy of Slate.

Every error carries a message written for the person who sees it, a hint on what to
do next, an HTTP status and a CLI exit code, mapped here once. Library exceptions
(peewee, c2pa, yaml) are translated into these at the boundary where they occur, so a
user never has to read a stack trace to learn what went wrong.

Messages must never contain private keys, tokens or prompt text.
"""

from __future__ import annotations

from typing import Any


class SlateError(Exception):
    """Base of every error Slate raises on purpose."""

    status: int = 400
    exit_code: int = 1
    title: str = "Slate error"

    def __init__(self, message: str, *, hint: str | None = None,
                 fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fields = fields or {}

    def diagnostics(self) -> str:
        """The message plus the hint, as the CLI prints it."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def to_problem(self) -> dict[str, Any]:
        """An RFC 9457 problem document."""
        problem: dict[str, Any] = {
            "type": f"https://slate.example/problems/{type(self).__name__}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if self.hint:
            problem["hint"] = self.hint
        if self.fields:
            problem["errors"] = self.fields
        return problem


class InvalidInput(SlateError):
    """The caller sent something malformed or inconsistent."""

    status = 422
    exit_code = 2
    title = "Invalid input"


class NotFound(SlateError):
    """A named record does not exist."""

    status = 404
    exit_code = 3
    title = "Not found"


class Conflict(SlateError):
    """The request clashes with what is already recorded (duplicate name, wrong state)."""

    status = 409
    exit_code = 4
    title = "Conflict"


class Forbidden(SlateError):
    """The caller is known but not allowed to do this."""

    status = 403
    exit_code = 5
    title = "Forbidden"


class Unauthorized(SlateError):
    """The caller could not be identified."""

    status = 401
    exit_code = 5
    title = "Unauthorized"


class PolicyError(SlateError):
    """A policy file is malformed or cannot be evaluated."""

    status = 422
    exit_code = 6
    title = "Policy error"


class CredentialError(SlateError):
    """Keys, signing or verification could not proceed."""

    status = 422
    exit_code = 7
    title = "Credential error"


class ModelIdentityError(SlateError):
    """A model's weights do not match the registered identity, or cannot be read."""

    status = 409
    exit_code = 8
    title = "Model identity mismatch"


class ConfigurationError(SlateError):
    """Slate's own settings are wrong (bad database URL, unreadable keys folder)."""

    status = 500
    exit_code = 9
    title = "Configuration error"


class IndexUnavailable(SlateError):
    """The similarity index of registered assets is missing, damaged or out of step with the
    registry: nothing may be judged against it until it is rebuilt (``slate index rebuild``)."""

    status = 503
    exit_code = 10
    title = "Similarity index unavailable"


class Ambiguous(InvalidInput):
    """A name typed without its exact spelling matches several records: the caller chooses.

    ``choices`` holds ``(value, label)`` pairs, each value a reference that names exactly one
    of them, for the filter or form ``field`` (a page offers them as links, the API lists them
    under ``errors.choices``)."""

    title = "Ambiguous name"

    def __init__(self, message: str, choices: list[tuple[str, str]], *, field: str,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint, fields={"field": field,
                                                     "choices": [{"value": v, "label": lb} for v, lb in choices]})
        self.field = field
        self.choices = tuple(choices)

"""What the OpenAPI document says beyond the schemas: who may call each operation, and the
problem+json errors it answers.

The roles come from ``@admits`` (``x-roles`` on each operation, also in its description);
the errors from what each operation can meet: 401 and 403 before anything else, 404 for a
record named in the path or the body, 409 for a write that clashes with the record, 413 for
an upload over the limit, 422 for input its schema or the domain refuses, and 500 for
every operation (a defect: the answer carries only an incident id). An operation adds
statuses with ``@blp.doc(**{"x-errors": [...]})`` and takes away ones it cannot meet with
``"x-errors-none"`` (``/verify`` names no record, so it has no 404). A test runs
schemathesis against the document and fails on any status it does not list.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin

PROBLEM = "Problem"
PROBLEM_JSON = "application/problem+json"

#: every error Slate answers, and what it means to a caller
ERRORS = {
    "400": "the body is not valid JSON",
    "401": "no valid API token (missing, unknown, expired or revoked)",
    "403": "the caller's roles do not admit this, or a rule of the record refuses them",
    "404": "a record named in the path or the body does not exist (or lies outside the caller's productions)",
    "409": "the request clashes with what is recorded (a duplicate, a wrong state, another worker's claim)",
    "413": "the upload is larger than this server accepts",
    "422": "the input is refused: a field is missing, malformed or out of range, with each problem named",
    "503": "the similarity index of registered assets is missing, damaged or out of step with the registry; "
           "the hint names the rebuild command",
    "500": "a defect in Slate: the answer carries an incident id to quote to the operators, and "
           "nothing of the request was half-written",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document: every error Slate answers.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what went wrong, in words a person can act on"},
        "hint": {"type": "string", "description": "what to do next"},
        "errors": {"type": "object", "additionalProperties": True, "description": "problems by field"},
    },
    "required": ["type", "title", "status", "detail"],
}


def errors_for(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer (see the module docstring)."""
    roles = operation.get("x-roles") or []
    codes: set[str] = set()
    if roles and "public" not in roles:
        codes |= {"401", "403"}
    body = operation.get("requestBody", {}).get("content", {})
    queried = any(p.get("in") == "query" for p in operation.get("parameters", []))
    takes_input = bool(body) or queried
    if "{" in path or method == "post" or queried:  # a path, a body or a filter may name a record
        codes.add("404")
    if method == "post":
        codes.add("409")
    if takes_input or "{" in path:
        codes.add("422")
    if "application/json" in body:
        codes.add("400")
    if "multipart/form-data" in body:
        codes.add("413")
    codes |= set(operation.pop("x-errors", []))
    codes -= set(operation.pop("x-errors-none", []))
    return sorted(codes | {"500"})


class SlateDocPlugin(BasePlugin):
    """An apispec plugin: the Problem schema once, and each operation's errors and roles."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        spec.components.schema(PROBLEM, PROBLEM_SCHEMA)

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code in errors_for(path or "", method, operation):
                responses.setdefault(code, {
                    "description": ERRORS[code],
                    "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
                })
            roles = operation.get("x-roles")
            if roles:
                said = "anyone" if "public" in roles else ", ".join(roles)
                operation["description"] = (operation.get("description", "") + f"\n\nRoles: {said}.").strip()


def file_response(content_type: str, description: str) -> dict[str, Any]:
    """The OpenAPI ``responses`` of an operation that answers a file, for ``@blp.doc``."""
    return {"200": {"description": description,
                    "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}}

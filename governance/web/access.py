"""Who is signed in, and which pages their roles open. Every page declares its roles with ``@page``.

The session holds the user's API token (sealed, see ``security``); each request
authenticates it again with ``governance.auth.users.authenticate``, so a revoked or
expired token ends the web session at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, cast

from flask import current_app, flash, g, redirect, request, session, url_for

from ..audit.log import current_actor
from ..auth.users import ROLES, Principal, authenticate
from ..errors import Forbidden, Unauthorized
from . import security

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Section:
    """One entry of the navigation: a page and the roles that see it."""

    endpoint: str
    label: str
    roles: frozenset[str]


#: The navigation, in order; each user sees the sections their roles open.
SECTIONS = (
    Section("web.policies", "Policies", frozenset({"legal", "auditor"})),
    Section("web.registry", "Registry", frozenset({"producer", "legal", "approver", "auditor"})),
    Section("web.requests", "Requests", frozenset({"producer", "legal", "approver", "auditor"})),
    Section("web.new_request", "New request", frozenset({"producer"})),
    Section("web.approvals", "Approvals", frozenset({"approver", "legal"})),
    Section("web.output_reviews", "Output reviews", frozenset({"approver", "legal", "auditor"})),
    Section("web.training_runs", "Training runs", frozenset({"producer", "legal", "approver", "auditor"})),
    Section("web.provenance", "Provenance", frozenset({"producer", "legal", "auditor"})),
    Section("web.verify", "Verify an image", frozenset({"auditor", "producer", "legal", "approver"})),
    Section("web.audit", "Audit log", frozenset({"auditor"})),
)


def sections_for(principal: Principal | None) -> list[Section]:
    if principal is None:
        return []
    return [s for s in SECTIONS if principal.has_any(s.roles)]


def section_of(path: str, principal: Principal | None) -> Section | None:
    """The navigation section an address belongs to (its longest matching page), if the
    visitor's roles open it: where an error page sends them back to."""
    best: tuple[int, Section] | None = None
    for section in sections_for(principal):
        root = url_for(section.endpoint)
        if path == root or path.startswith(root.rstrip("/") + "/"):
            if best is None or len(root) > best[0]:
                best = (len(root), section)
    return best[1] if best else None


def sign_in(token: str) -> Principal:
    """Check the token and start a fresh session holding it (sealed); a new CSRF token too."""
    principal = authenticate(token.strip())
    session.clear()  # no fixation: nothing from before sign-in survives it
    session["token"] = security.seal(current_app.secret_key, token.strip())  # type: ignore[arg-type]
    security.new_csrf_token()
    return principal


def sign_out() -> None:
    session.clear()


def signed_in_principal() -> Principal | None:
    """The principal of this browser session, or None (and the session forgotten) if it ended."""
    if "principal" in g:
        return cast("Principal | None", g.principal)
    sealed = session.get("token")
    if sealed is None:
        return None
    token = security.unseal(current_app.secret_key, sealed)  # type: ignore[arg-type]
    try:
        principal = authenticate(token)
    except Unauthorized:
        session.pop("token", None)
        flash("Your session has ended (it expired, or the token was revoked). Sign in again.", "error")
        return None
    g.principal = principal
    current_actor.set(principal.name)
    return principal


def page(*roles: str) -> Callable[[F], F]:
    """A page for these roles: anonymous visitors go to the sign-in form, others get 403."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = signed_in_principal()
            if principal is None:
                if request.method != "GET":
                    raise Unauthorized("sign in first; nothing was done")
                return redirect(url_for("web.sign_in", next=request.path))
            if not principal.has_any(roles):
                raise Forbidden(f"this page is for the roles: {', '.join(roles)}",
                                hint=f"{principal.name} has: {', '.join(sorted(principal.roles))}")
            return view(*args, **kwargs)

        wrapper.slate_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def principal() -> Principal:
    return cast(Principal, g.principal)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.home")

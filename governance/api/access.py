"""Who may call what. Every view declares the roles it admits with ``@admits``.

The roles are kept on the view (``view.slate_roles``) so that a test can walk the whole
route table and prove each refusal, and so no route can be added without a decision.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, TypeVar, cast

from flask import g, request

from ..audit.log import current_actor
from ..auth.users import ROLES, Principal, authenticate
from ..errors import Forbidden, NotFound

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"


def admits(*roles: str) -> Callable[[F], F]:
    unknown = set(roles) - set(ROLES) - {PUBLIC}
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if PUBLIC not in roles:
                principal = authenticate(_bearer())
                if not principal.has_any(roles):
                    raise Forbidden(f"this needs one of the roles: {', '.join(roles)}",
                                    hint=f"{principal.name} has: {', '.join(sorted(principal.roles))}")
                g.principal = principal
                current_actor.set(principal.name)
            return view(*args, **kwargs)

        wrapper.slate_roles = frozenset(roles)  # type: ignore[attr-defined]
        # the OpenAPI document says who may call it (see governance.api.openapi)
        apidoc = copy.deepcopy(getattr(wrapper, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {})["x-roles"] = sorted(roles)
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def principal() -> Principal:
    return cast(Principal, g.principal)


def require_production(production: str) -> None:
    """Object-level check: producers only touch their own productions."""
    if not principal().may_see_production(production):
        # the same answer as a missing record: do not confirm what exists elsewhere
        raise NotFound("no such record in your productions")


READ_REGISTRY = ("legal", "producer", "approver", "auditor", "admin")
#: register people and assets (a producer for their own productions)
REGISTER = ("producer", "legal", "admin")
#: record the facts that decide requests: consents, licences, takedowns, training sets, models
RIGHTS = ("legal",)

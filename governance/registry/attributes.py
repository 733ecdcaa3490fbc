"""A record's catalogue attributes as the registry writes them: each value checked against
the published catalogue, and written only by those who record the rights.

The attributes are facts policies decide on (a licence limited to named productions, a
consent's union rider), so they follow the registry's rule for such facts: legal writes
them (an admin too, for a production, which an admin creates); a producer never does, not
even on their own production's records. ``None`` as the principal is the operator's path.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..catalogue import published_catalogue
from ..db import tuples
from ..principal import Principal
from . import scope
from .tables import Production

#: who besides legal may write a kind's attributes
ALSO_WRITTEN_BY = {"production": frozenset({"admin"})}


def require_writer(by: Principal | None, kind: str) -> None:
    """Refuse a caller who may not write a ``kind``'s attributes."""
    if by is None or by.has_any(ALSO_WRITTEN_BY.get(kind, ())):
        return
    scope.require_legal(by, f"record a {kind}'s contract terms (catalogue attributes)")


def checked(kind: str, values: Mapping[str, Any] | None, by: Principal | None) -> dict[str, Any]:
    """The attributes a new record is given, as stored (unset ones left out); ``InvalidInput``
    naming each undeclared or ill-typed field, ``Forbidden`` for a caller who may not."""
    if not values:
        return {}
    require_writer(by, kind)
    return {name: value for name, value in published_catalogue().check_values(kind, values).items()
            if value is not None}


def merged(kind: str, current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied (each checked; None unsets one)."""
    return published_catalogue().updated(kind, current or {}, changes)


def shown(by: Principal | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """A record's attributes as the caller may see them: a producer never sees the name of a
    production they do not belong to (a licence limited to named projects), as on a consent's
    productions. The policy's facts are built from the whole record, never from this view."""
    if not scope.confined(by) or not values:
        return dict(values or {})
    hidden = {name for (name,) in tuples(Production.select(Production.name))} - set(by.productions)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = [item for item in value if item not in hidden]
        elif not (isinstance(value, str) and value in hidden):
            out[name] = value
    return out

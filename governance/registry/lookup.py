"""One registry record by the reference a caller types: its name or its database id.

Every ``get_<thing>(ref)`` of the registry misses the same way: ``NotFound`` with the
message and hint written for that thing. A reference is an id only when it is ASCII
digits that fit a database integer (``ids.is_id``): '³' or thirty digits miss as names,
never reaching ``int`` or the database as ids.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import peewee

from ..db import hot_get
from ..errors import NotFound
from ..ids import is_id

Row = TypeVar("Row", bound=peewee.Model)


def found(row: Row | None, missing: str, hint: str) -> Row:
    """``row``, or ``NotFound(missing)`` with ``hint`` when there is none."""
    if row is None:
        raise NotFound(missing, hint=hint)
    return row


def by_name_or_id(model: type[Row], name: Any, ref: str | int, *, missing: str, hint: str,
                  id_first: bool = False) -> Row:
    """The row whose ``name`` field is ``ref``, else the row whose id ``ref`` is.

    With ``id_first`` a reference that is an id is looked up as an id only, so a record
    whose name is all digits is reached by its id (people and productions have always been
    found this way; licences and training sets by name first).
    """
    text = str(ref)
    row = None if id_first and is_id(text) else hot_get(model, name, text)
    if row is None and is_id(text):
        row = hot_get(model, cast(peewee.Field, model._meta.primary_key), int(text))
    return found(row, missing, hint)

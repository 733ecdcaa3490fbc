"""Step 9: training-set facts stored once, shared by the decisions relying on them (ea913cf).

Why: a model's training-set entries (one per image, often tens of thousands) are the same
for every request until a licence changes; copied into each decision they cost megabytes
per request. They are kept once under the SHA-256 of their canonical JSON, and a decision's
facts name that hash. Rows are never updated or deleted.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 9
DESCRIPTION = "policy: training-set facts stored once and shared by the decisions relying on them"


class SharedFacts(FrozenModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    facts = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "shared_facts"


def apply() -> None:
    database.create_tables([SharedFacts])

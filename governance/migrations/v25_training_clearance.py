"""Step 25: each training set's clearance, computed once and kept.

Why: every generation request judged the licence of each image its model was trained on,
reading every member again (221 ms a decision at 10,000 images, growing with the set).
A set's members never change, and they fall into a handful of classes (same licence,
same media type, same catalogue attributes), so ``policy.clearance`` computes that
partition once and judges a class once. ``training_clearance`` keeps, per set: a
``revision`` bumped whenever the catalogue attributes of one of its members change (the
only member facts that can change), so every process drops its kept partition; the
``key`` naming the exact licence and consent records the state was computed from; and the
resulting ``state`` (clear | not_clear) with a bounded ``summary``. The row is a record and
an invalidation signal, never an input a decision trusts: decisions judge the live
licences and the recomputed partition. The table is created only if absent, as steps 17
to 23 do.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 25
DESCRIPTION = "registry: each training set's clearance (kept partition revision, licence/consent key, state)"


class TrainingSet(FrozenModel):
    """The training sets table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "training_set"


class TrainingClearance(FrozenModel):
    training_set = peewee.ForeignKeyField(TrainingSet, unique=True, on_delete="CASCADE")
    revision = peewee.IntegerField(default=1)
    key = peewee.CharField(max_length=64)
    state = peewee.CharField(max_length=20)
    summary = peewee.TextField()
    computed_at = peewee.DateTimeField()

    class Meta:
        table_name = "training_clearance"


def apply() -> None:
    database.create_tables([TrainingClearance])

"""Telling the kept partitions of training sets that a member's facts changed.

``policy.clearance`` keeps each set's members partitioned by the facts training rules read;
anything that changes such a fact of an asset (its catalogue attributes, its owner's
training-and-mining answer read when its bytes come again) calls ``member_attributes_changed``
in its own transaction. A module of its own so that both ``assets`` and ``training_sets``
(which imports ``assets``) can call it without an import circle.
"""

from __future__ import annotations

from ..clock import utcnow
from ..db import tuples
from .tables import Asset, TrainingClearance, TrainingSetMember


def member_attributes_changed(asset: Asset) -> int:
    """Tell every process that kept the partition of a set holding ``asset`` to compute it
    again (``policy.clearance``): bumps those sets' clearance revisions (making the row at
    revision 1 where there is none yet), in the caller's transaction. Returns how many sets
    hold the asset."""
    sets = [ts for (ts,) in tuples(TrainingSetMember.select(TrainingSetMember.training_set)
                                   .where(TrainingSetMember.asset == asset.id))]
    for ts in sets:
        TrainingClearance.insert(training_set=ts, revision=1, key="", state="not_clear", summary={},
                                 computed_at=utcnow()).on_conflict(
            conflict_target=[TrainingClearance.training_set],
            update={TrainingClearance.revision: TrainingClearance.revision + 1}).execute()
    return len(sets)

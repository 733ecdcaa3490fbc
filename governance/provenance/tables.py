"""peewee tables of provenance: the facets of each signed output, for search and revocation.

One row per (kind, value) an output is linked to: its production, model, training set,
decision outcome, approver, reference assets, their licences and people, the people it
depicts and the consents its decision relied on, plus one ``all`` row per output. Rows
are written in the signing transaction (``index.index_output``) and never change: an
output's links are facts about how it was made. The unique index (kind, value,
signed_at, output) is what every search walks, newest first, and what makes a combined
filter a point lookup per output. Created by migration step 7.
"""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import UTCDateTimeField
from ..ledger.tables import Output

#: Every kind of facet, with what its value holds.
FACET_KINDS: dict[str, str] = {
    "all": "'' (one row per output: drives unfiltered and time-only searches)",
    "production": "production name",
    "model": "model id",
    "training_set": "training set id",
    "outcome": "decision outcome (allow | needs_approval)",
    "use": "the request's use (previs, final_frame, ...; step 30 added it to outputs signed before)",
    "approver": "name of the approving user",
    "asset": "id of a reference asset",
    "licence": "id of a reference asset's licence (training licences are reached through the model)",
    "person": "id of a depicted person or of a person in a reference asset",
    "consent": "id of a consent the decision relied on",
}


class OutputFacet(BaseModel):
    kind = peewee.CharField(max_length=20)
    value = peewee.CharField(max_length=200)
    #: the output's signing time, copied so one index both filters and orders a search
    signed_at = UTCDateTimeField()
    # no separate index on the output column: every lookup goes through the composite one
    output = peewee.ForeignKeyField(Output, backref="facets", on_delete="RESTRICT", index=False)
    output_id: int

    class Meta:
        table_name = "output_facet"
        indexes = ((("kind", "value", "signed_at", "output"), True),)


class CreditTally(BaseModel):
    """How many signed outputs of a production relied on a consent or a licence (step 30):
    what the credits-owed page reads instead of walking every output. Incremented by
    ``index.write_facets`` in the signing transaction; never decremented (a signed output
    stays signed, and owes its credit, whatever happens to its standing)."""

    production = peewee.CharField(max_length=120)
    subject_kind = peewee.CharField(max_length=10)  # consent | licence
    subject_id = peewee.IntegerField()
    outputs = peewee.IntegerField(default=0)

    class Meta:
        table_name = "credit_tally"
        indexes = ((("production", "subject_kind", "subject_id"), True),)


TABLES: list[type[BaseModel]] = [OutputFacet, CreditTally]

"""Step 8: ledger model refs in the registry's NAME:VERSION form (66602d4).

Why: signing once wrote an output's model as NAME@VERSION (the credential's form) while
the registry and every search filter use NAME:VERSION, so a ref read off an output found
nothing when fed back as a filter. Each row is rewritten from the model name and version of
the governance assertion it recorded when it was signed, never from the registry now. The
ledger is part of the record, so when rows change one audit entry says how many and how.
"""

from __future__ import annotations

import json

from .frozen import append_audit_entry, sql

VERSION = 8
DESCRIPTION = "ledger: model refs as NAME:VERSION, the registry's form"


def apply() -> None:
    changed = normalise_model_refs()
    if changed:
        append_audit_entry("ledger.model_refs_normalised", "ledger:output",
                           {"rows": changed, "from": "NAME@VERSION", "to": "NAME:VERSION",
                            "source": "model name and version of each row's recorded governance assertion"})


def normalise_model_refs(batch: int = 1000) -> int:
    """Rewrite each ref that differs from its assertion's NAME:VERSION; returns how many."""
    changed, last = 0, 0
    while True:
        rows = sql("SELECT id, model_ref, claim_json FROM output WHERE id > ? ORDER BY id LIMIT ?",
                   last, batch).fetchall()
        if not rows:
            return changed
        for output_id, model_ref, claim_json in rows:
            model = json.loads(claim_json).get("model") or {}
            ref = f"{model.get('name')}:{model.get('version')}"
            if "name" in model and "version" in model and model_ref != ref:
                sql("UPDATE output SET model_ref = ? WHERE id = ?", ref, output_id)
                changed += 1
        last = rows[-1][0]

"""The C2PA manifest definition Slate signs for one output.

Pure data in, pure data out: ``definition`` turns a ``SigningClaim`` into the JSON that
c2pa's ``Builder`` takes. What it states is in DESIGN.md ("What a credential says").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from .c2pa_config import CLAIM_GENERATOR, TRAINED_ALGORITHMIC_MEDIA
from .claim import GOVERNANCE_LABEL, SigningClaim

TRAINING_MINING_LABEL = "cawg.training-mining"
#: The four uses the CAWG training-and-data-mining assertion names; policy sets one answer for all.
TRAINING_MINING_USES = ("cawg.ai_inference", "cawg.ai_generative_training", "cawg.ai_training", "cawg.data_mining")


def new_label() -> str:
    """Slate chooses the manifest label so the ledger can record it without reading the file back."""
    return f"urn:c2pa:{uuid.uuid4()}"


def reference_id(sha256: str) -> str:
    return f"slate:sha256:{sha256}"


def definition(claim: SigningClaim, *, label: str, title: str,
               extra_assertions: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``extra_assertions``: what other parts of signing add (the approvers' signatures)."""
    return {
        "label": label,
        "title": title,
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": __version__}],
        "assertions": [
            created_action(claim),
            training_mining(claim),
            {"label": GOVERNANCE_LABEL, "data": claim.governance_assertion()},
            *(dict(a) for a in extra_assertions),
        ],
        # References whose bytes Slate was not given still appear, by title and hash.
        "ingredients": [{"title": ref.title, "relationship": "inputTo", "instance_id": reference_id(ref.sha256)}
                        for ref in claim.references if ref.data is None],
    }


def created_action(claim: SigningClaim) -> dict[str, Any]:
    return {"label": "c2pa.actions", "data": {"actions": [{
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": claim.model_name, "version": claim.model_version},
    }]}}


def training_mining(claim: SigningClaim) -> dict[str, Any]:
    entry: dict[str, Any] = {"use": claim.training_mining}
    if claim.training_mining == "constrained":
        entry["constraint_info"] = claim.training_mining_constraint
    return {"label": TRAINING_MINING_LABEL, "data": {"entries": {use: dict(entry) for use in TRAINING_MINING_USES}}}

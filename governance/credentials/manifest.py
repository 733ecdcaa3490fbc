"""The C2PA manifest definition Slate signs for one output.

Pure data in, pure data out: ``definition`` turns a ``SigningClaim`` into the JSON that
c2pa's ``Builder`` takes. What it states is in DESIGN.md ("What a credential says").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from ..registry.intake import ingredient_id
from .c2pa_config import CLAIM_GENERATOR, TRAINED_ALGORITHMIC_MEDIA
from .claim import GOVERNANCE_LABEL, SigningClaim
from .softbinding import Bindings, assertions, watermarked_action

TRAINING_MINING_LABEL = "cawg.training-mining"
#: The four uses the CAWG training-and-data-mining assertion names; policy sets one answer for all.
TRAINING_MINING_USES = ("cawg.ai_inference", "cawg.ai_generative_training", "cawg.ai_training", "cawg.data_mining")
#: The same answer under the label C2PA 1.x defined (deprecated in 2.x, moved to CAWG). CAI
#: Verify and other readers still look only here, so Slate mirrors it (``mirror_training_mining``).
C2PA_TRAINING_MINING_LABEL = "c2pa.training-mining"


def new_label() -> str:
    """Slate chooses the manifest label so the ledger can record it without reading the file back."""
    return f"urn:c2pa:{uuid.uuid4()}"


def reference_id(sha256: str) -> str:
    return ingredient_id(sha256)


def definition(claim: SigningClaim, *, label: str, title: str, mirror_training_mining: bool = True,
               bindings: Bindings | None = None, extra_assertions: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``mirror_training_mining`` also states the training-and-mining answer under the
    C2PA 1.x label, for readers that know only that one; ``bindings`` adds the watermark's
    action and the soft-binding assertions; ``extra_assertions``, what other parts of signing
    add (the approvers' signatures)."""
    mining = [training_mining(claim)] + ([c2pa_training_mining(claim)] if mirror_training_mining else [])
    actions = created_action(claim)
    if bindings is not None and bindings.watermark_id:
        actions["data"]["actions"].append(watermarked_action())
    return {
        "label": label,
        "title": title,
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": __version__}],
        "assertions": [
            actions,
            *mining,
            {"label": GOVERNANCE_LABEL, "data": claim.governance_assertion()},
            *(assertions(bindings) if bindings is not None else ()),
            *(dict(a) for a in extra_assertions),
        ],
        # References whose bytes Slate was not given still appear, by title and hash (those
        # whose manifest registration kept come in with it: ``issuance``).
        "ingredients": [{"title": ref.title, "relationship": "inputTo", "instance_id": reference_id(ref.sha256)}
                        for ref in claim.references if ref.data is None and ref.ingredient is None],
    }


def created_action(claim: SigningClaim) -> dict[str, Any]:
    return {"label": "c2pa.actions", "data": {"actions": [{
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": claim.model_name, "version": claim.model_version},
    }]}}


def training_mining(claim: SigningClaim) -> dict[str, Any]:
    return {"label": TRAINING_MINING_LABEL, "data": _mining_entries(claim, "cawg.")}


def c2pa_training_mining(claim: SigningClaim) -> dict[str, Any]:
    """The same four answers as ``training_mining``, named ``c2pa.*`` as C2PA 1.x names them."""
    return {"label": C2PA_TRAINING_MINING_LABEL, "data": _mining_entries(claim, "c2pa.")}


def _mining_entries(claim: SigningClaim, prefix: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"use": claim.training_mining}
    if claim.training_mining == "constrained":
        entry["constraint_info"] = claim.training_mining_constraint
    uses = (prefix + use.removeprefix("cawg.") for use in TRAINING_MINING_USES)
    return {"entries": {use: dict(entry) for use in uses}}

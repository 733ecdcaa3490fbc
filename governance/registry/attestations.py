"""Whether a model is attested: judged from its evidence, never from a flag alone.

``model.attested`` is set when Slate accepts a training run's attestation, but it is a
column in the database the policy protects: anyone able to write that database could set
it on a model typed in by hash and so pass the studio's rule that final frames and
marketing need an attested model. So a decision (and the model card, and ``model_dict``)
asks ``attested(model)``, which holds only when the model's registered run keeps an
attestation

- whose SHA-256 is the one recorded,
- that names this model's weights and this model's training-set root,
- countersigned by Slate (ES256 over exactly those bytes) with a certificate that chains to
  the trust anchors in the keys folder, which lives outside the database.

Someone with database access cannot make such a countersignature: Slate's claim-signing key
is in the keys folder, as are the anchors. The keys folder this process judges against is
set where its settings are known (``use_keys_folder``: the app, the CLI); with none set,
nothing is attested (fail closed). A verdict is kept per exact evidence (the model's weights
and set, the run's stored attestation text, its recorded hash and countersignature, the keys
folder), so an edit to any of them is judged afresh, and a decision pays the signature check
once per model and process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..audit.checkpoints import signature_problem
from ..audit.trust import TrustAnchors
from .tables import Model, TrainingRun

#: the run status under which an attestation was accepted (``lifecycle.training_runs``)
REGISTERED = "registered"

_keys_folder: Path | None = None
_verdicts: dict[tuple[Any, ...], str | None] = {}


def use_keys_folder(folder: Path | None) -> None:
    """The keys folder whose trust anchors Slate's countersignatures must chain to."""
    global _keys_folder
    _keys_folder = folder
    _verdicts.clear()


def attested(model: Model) -> bool:
    """Whether ``model`` is the output of a training run Slate accepted (see the module)."""
    return attestation_problem(model) is None


def attestation_problem(model: Model) -> str | None:
    """Why ``model`` does not count as attested, in words; None when it does."""
    if not model.attested or model.training_run_id is None:
        return "no accepted training-run attestation is recorded for it"
    run = TrainingRun.get_or_none(TrainingRun.id == model.training_run_id)
    if run is None or run.model_id != model.id or run.status != REGISTERED or not run.attestation:
        return "its recorded training run did not register it"
    key = (model.id, model.weights_hash, model.training_set_id, run.id, run.attestation_sha256, run.attestation,
           run.updated_at,
           json.dumps(run.slate_signature, sort_keys=True), str(_keys_folder))
    if key not in _verdicts:
        _verdicts[key] = _problem(model, run)
    return _verdicts[key]


def _problem(model: Model, run: TrainingRun) -> str | None:
    data = str(run.attestation).encode("utf-8")
    if hashlib.sha256(data).hexdigest() != run.attestation_sha256:
        return "its stored attestation is not the one Slate accepted (its SHA-256 differs)"
    try:
        body = json.loads(data)
        weights, root = body["output"]["weights_hash"], body["training_set"]["merkle_root"]
    except (ValueError, KeyError, TypeError):
        return "its stored attestation is not readable"
    if weights != model.weights_hash:
        return "its attestation names other weights than the model's"
    expected_root = model.training_set.merkle_root if model.training_set is not None else None
    if root != expected_root:
        return "its attestation names another training set than the model's"
    signature = run.slate_signature if isinstance(run.slate_signature, dict) else {}
    chain, raw = str(signature.get("certificate_chain") or ""), str(signature.get("signature") or "")
    problem = signature_problem(chain, data, raw)
    if problem is not None:
        return f"Slate's countersignature of its attestation is not valid: {problem}"
    if _keys_folder is None:
        return "no trust anchors are configured in this process to check Slate's countersignature"
    signer = TrustAnchors.in_keys_folder(_keys_folder).signer_problem(chain, run.updated_at)
    if signer is not None:
        return f"the countersignature of its attestation is not Slate's: {signer}"
    return None

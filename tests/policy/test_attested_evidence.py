"""A model counts as attested only on evidence the database cannot manufacture: its accepted
run's attestation, naming its weights and training-set root, countersigned by Slate with a
certificate that chains to the keys folder's trust anchors (``registry.attestations``).

The attack each test pins: someone with write access to the database makes a model typed in
by hash pass the studio's rule that final frames need an attested model."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from governance.canonical import canonical_json
from governance.credentials.countersign import verify_countersignature
from governance.policy.registry_facts import RequestSpec
from governance.policy.requests import decide_request
from governance.registry import attestations, models_registry
from governance.registry.tables import Model, TrainingRun
from governance.settings import Settings
from tests.owner_credentials import _owner
from tests.training import attest_model

RULE = "model-attested-for-release"


def final_frame(model: str) -> list[str]:
    """The ids of the rules a final frame on ``model`` violates (no people, no references)."""
    out = decide_request(RequestSpec(requester="sam", production="harbour-lights", use="final_frame",
                                     territory="GB", model=model, prompt="an empty quay at dawn",
                                     date=date(2025, 6, 1)))
    return [v.rule for v in out.decision.violations]


def typed_in(name: str) -> Model:
    models_registry.register_model(name, "1", "cd" * 32, training_set="harbour-set")
    models_registry.set_status(f"{name}:1", "approved")
    return models_registry.get_model(f"{name}:1")


def test_an_accepted_attestation_counts_and_the_model_may_make_final_frames(registry: dict[str, Any]) -> None:
    assert attestations.attested(models_registry.get_model(registry["model"]))
    assert RULE not in final_frame(registry["model"])


def test_a_model_flagged_attested_in_the_database_is_still_refused_final_frames(registry: dict[str, Any]) -> None:
    model = typed_in("typed")
    Model.update(attested=True).where(Model.id == model.id).execute()
    assert not attestations.attested(models_registry.get_model("typed:1"))
    assert models_registry.show_model("typed:1")["attested"] is False
    assert RULE in final_frame("typed:1")


def test_a_run_row_forged_with_the_attackers_own_certificate_is_not_slates(registry: dict[str, Any]) -> None:
    """A complete run row, its attestation naming the model, countersigned by a key and chain
    the attacker made: the signature is sound, but it does not chain to Slate's anchors."""
    model = typed_in("forged")
    chain, key_pem = _owner()  # a sound certificate chain of the attacker's own PKI
    ts = model.training_set
    body = {"output": {"weights_hash": model.weights_hash},
            "training_set": {"name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size}}
    data = canonical_json(body)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s_ = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    signature = {"alg": "ES256", "signature": f"{r:064x}{s_:064x}", "key": "attacker",
                 "certificate_chain": chain.decode()}
    verify_countersignature(data, signature)  # a valid ES256 signature: only its signer is wrong
    run = TrainingRun.create(uid="run_forged", origin="bundled", production="studio", territory="WW",
                             training_set=ts, method="full", hyperparameters={}, model_name="forged",
                             model_version="1", requested_by="x", status="registered", decision={},
                             attestation=data.decode(), attestation_sha256=hashlib.sha256(data).hexdigest(),
                             slate_signature=signature, model=model,
                             created_at=model.created_at, updated_at=model.created_at)
    Model.update(attested=True, training_run_id=run.id).where(Model.id == model.id).execute()
    problem = attestations.attestation_problem(models_registry.get_model("forged:1"))
    assert problem is not None and "not Slate's" in problem
    assert RULE in final_frame("forged:1")


def test_an_accepted_attestation_moved_to_other_weights_or_edited_no_longer_counts(registry: dict[str, Any],
                                                                                  db: Settings) -> None:
    model = typed_in("moved")
    attest_model("moved:1", db)
    assert RULE not in final_frame("moved:1")
    # the same accepted run, but the model row now names other weights
    Model.update(weights_hash="ee" * 32).where(Model.id == model.id).execute()
    assert "other weights" in str(attestations.attestation_problem(models_registry.get_model("moved:1")))
    assert RULE in final_frame("moved:1")
    # the weights put back, the stored attestation edited (another set's root)
    Model.update(weights_hash=model.weights_hash).where(Model.id == model.id).execute()
    run = TrainingRun.get(TrainingRun.model == model)
    body = json.loads(run.attestation)
    body["training_set"]["merkle_root"] = "00" * 32
    TrainingRun.update(attestation=canonical_json(body).decode()).where(TrainingRun.id == run.id).execute()
    assert "SHA-256 differs" in str(attestations.attestation_problem(models_registry.get_model("moved:1")))
    assert RULE in final_frame("moved:1")


def test_with_no_keys_folder_configured_nothing_counts_as_attested(registry: dict[str, Any]) -> None:
    attestations.use_keys_folder(None)
    assert not attestations.attested(models_registry.get_model(registry["model"]))

"""Training runs for tests: a real training set, a real base, a worker's real signed attestation.

``attestation(run_spec, ...)`` is what a worker that trained exactly its claimed spec posts:
the Merkle root of the files its loader read (leaves as ``registry.merkle.leaf_key``), the
spec's base, method, hyper-parameters and seed, signed by the worker's Ed25519 key.
``attest_model(ref, settings)`` records a model a test registered by hash as the output of
a run Slate accepted and countersigned, for tests about something else that ask for final
frames (the attested path itself is tested in ``tests/api/test_training_runs.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.registry.merkle import leaf_key, root_of
from governance.registry.models_registry import get_model
from governance.registry.tables import Model
from governance.settings import Settings
from governance.workers.attestations import FORMAT, sign_attestation
from governance.workers.keyfile import WorkerKeyPair

LIBRARIES = {"torch": "2.13.0", "diffusers": "0.42.1", "peft": "0.17.0", "transformers": "4.57.0",
             "safetensors": "0.6.2"}
TRAINED_WEIGHTS = "7e" * 32


def attest_model(ref: str, settings: Settings) -> None:
    """Record a model a test registered by hash as the output of a training run Slate accepted:
    the run row, its attestation naming the model's weights and training-set root, and Slate's
    real countersignature with the keys of ``settings`` (whose trust anchors this process then
    judges against, as the app and the CLI do). Not the worker's path (that is
    ``tests/api/test_training_runs.py``), but evidence ``registry.attestations`` accepts."""
    from governance.canonical import canonical_json
    from governance.clock import utcnow
    from governance.credentials.countersign import countersign
    from governance.credentials.keys import KeyStore
    from governance.registry.attestations import use_keys_folder
    from governance.registry.tables import TrainingRun

    model = get_model(ref)
    keys = KeyStore(settings)
    keys.ensure()
    ts = model.training_set
    body = {"format": FORMAT, "run": f"run_fixture_{model.id}",
            "training_set": {"name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size},
            "base": None, "method": "full", "hyperparameters": {}, "seed": 0,
            "code": {"slate": "fixture", "training_code_sha256": "c0" * 32, "libraries": LIBRARIES, "device": "cpu"},
            "output": {"weights_hash": model.weights_hash, "files": {"unet/model.safetensors": "a1" * 32}},
            "metrics": {}, "started_at": "2026-12-02T01:00:00Z", "finished_at": "2026-12-02T01:01:00Z"}
    data = canonical_json(body)
    now = utcnow()
    run = TrainingRun.create(uid=body["run"], origin="bundled", production="studio", territory="WW", training_set=ts,
                             method="full", hyperparameters={}, model_name=model.name, model_version=model.version,
                             requested_by="fixture", status="registered", decision={"outcome": "bundled"},
                             attestation=data.decode("utf-8"), attestation_sha256=hashlib.sha256(data).hexdigest(),
                             slate_signature=countersign(data, keys.file_signer(keys.active_key())), model=model,
                             created_at=now, updated_at=now)
    Model.update(attested=True, training_run_id=run.id).where(Model.id == model.id).execute()
    use_keys_folder(settings.keys_dir)


def root_read(members: Iterable[Mapping[str, str]], extra: Iterable[tuple[str, str]] = ()) -> str:
    """The root a loader computes over the files it read: the spec's members plus ``extra``."""
    return root_of([leaf_key(m["sha256"], m["licence"]) for m in members] + [leaf_key(s, r) for s, r in extra])


def attestation_body(claimed: Mapping[str, Any], *, root: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The attestation of a worker that trained exactly ``claimed`` (the claim's answer)."""
    spec = claimed["spec"]
    ts = spec["training_set"]
    body: dict[str, Any] = {
        "format": FORMAT, "run": claimed["run"],
        "training_set": {"name": ts["name"], "merkle_root": root or root_read(ts["members"]), "size": ts["size"]},
        "base": {"name": spec["base"]["name"], "weights_hash": spec["base"]["weights_hash"]} if spec["base"] else None,
        "method": spec["method"], "hyperparameters": dict(spec["hyperparameters"]), "seed": spec["seed"],
        "code": {"slate": "0.19.0", "training_code_sha256": "c0" * 32, "libraries": LIBRARIES, "device": "cpu"},
        "output": {"weights_hash": TRAINED_WEIGHTS,
                   "files": {"unet_lora/adapter_model.safetensors": "a1" * 32, "slate-model.json": "b2" * 32}},
        "metrics": {"steps": spec["hyperparameters"]["steps"], "final_loss": 0.12, "eval_loss_before": 0.3,
                    "eval_loss_after": 0.1, "seconds": 4.2},
        "started_at": "2026-12-02T01:00:00Z", "finished_at": "2026-12-02T01:01:00Z",
    }
    body.update(overrides)
    return body


def signed(body: Mapping[str, Any], key: WorkerKeyPair | Ed25519PrivateKey) -> dict[str, Any]:
    """What the worker posts: the body, its key id and its signature."""
    private = key.private_key if isinstance(key, WorkerKeyPair) else key
    return sign_attestation(body, private)

"""Training runs for tests: a real training set, a real base, a worker's real signed attestation.

``attestation(run_spec, ...)`` is what a worker that trained exactly its claimed spec posts:
the Merkle root of the files its loader read (leaves as ``registry.merkle.leaf_key``), the
spec's base, method, hyper-parameters and seed, signed by the worker's Ed25519 key.
``attest_model(ref)`` marks a model a test registered by hash as attested, for tests about
something else that ask for final frames (the attested path itself is tested in
``tests/api/test_training_runs.py``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.registry.merkle import leaf_key, root_of
from governance.registry.models_registry import get_model
from governance.registry.tables import Model
from governance.workers.attestations import FORMAT, sign_attestation
from governance.workers.keyfile import WorkerKeyPair

LIBRARIES = {"torch": "2.13.0", "diffusers": "0.42.1", "peft": "0.17.0", "transformers": "4.57.0",
             "safetensors": "0.6.2"}
TRAINED_WEIGHTS = "7e" * 32


def attest_model(ref: str) -> None:
    """Mark a model registered by hash as attested (a fixture's shortcut, not Slate's path)."""
    Model.update(attested=True).where(Model.id == get_model(ref).id).execute()


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

"""A governed training run on the worker: real LoRA training of the micro model on files read
from a folder, the data's Merkle root checked before any step, the attestation signed with
the worker's key, Slate's OpenSSF signature checked when the model is loaded.

Only Slate's API is stood in for (``FakeSlate``, the four calls of the training-run
contract); everything the worker does is the real code: loader, diffusers/peft training,
saving, identity, model-signing."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any, Mapping

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from generator.generate import GenerationJob, ModelRef, generate
from generator.identity import model_identity
from generator.loader import LoadOptions, load_model
from generator.training_data import read_training_data
from generator.training_runs import ATTESTATION_FORMAT, TrainingSpec, execute_training, process_training_run
from governance.canonical import canonical_json
from governance.credentials.model_signatures import PUBLIC_KEY_FILE, SIGNATURE_FILE, sign_model_files
from governance.errors import Conflict, ModelIdentityError
from governance.registry.merkle import leaf_key, root_of
from governance.workers.keyfile import WorkerKeyPair

from .conftest import THREADS

LICENCE = "studio-own-work"
HYPER = {"steps": 6, "rank": 4, "learning_rate": 1e-3, "batch_size": 4}


class FakeSlate:
    """Slate's side of the training-run contract, recorded; the attestation is answered as
    Slate answers it once its checks pass, with Slate's OpenSSF signature over the files."""

    def __init__(self, spec: Mapping[str, Any], keys_dir: Path, refuse_attestation: str | None = None) -> None:
        self.spec, self.keys_dir, self.refuse = spec, keys_dir, refuse_attestation
        self.calls: list[tuple[str, Any]] = []

    def claim_training_run(self, run_uid: str) -> Mapping[str, Any]:
        self.calls.append(("claim", run_uid))
        return {"run": run_uid, "lease_expires_at": "2030-01-01T00:00:00Z", "spec": self.spec}

    def training_progress(self, run_uid: str, step: int, total_steps: int, loss: float | None) -> Mapping[str, Any]:
        self.calls.append(("progress", (step, total_steps, loss)))
        return {"run": run_uid, "step": step}

    def fail_training_run(self, run_uid: str, reason: str) -> Mapping[str, Any]:
        self.calls.append(("fail", reason))
        return {"run": run_uid, "status": "failed"}

    def post_attestation(self, run_uid: str, attestation: Mapping[str, Any], key_id: str,
                         signature: str) -> Mapping[str, Any]:
        self.calls.append(("attestation", (dict(attestation), key_id, signature)))
        if self.refuse:
            raise Conflict(self.refuse)
        bundle = sign_model_files(attestation["output"]["files"], keys_dir=self.keys_dir)
        return {"model": "micro-lora:1", "weights_hash": attestation["output"]["weights_hash"],
                "slate_signature": "c2xhdGU=",
                "attestation_sha256": hashlib.sha256(canonical_json(attestation)).hexdigest(),
                "model_signature": bundle.decode()}

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


@pytest.fixture
def data_folder(tmp_path: Path, micro_images) -> Path:
    folder = tmp_path / "data" / "micro-set"
    folder.mkdir(parents=True)
    for image in micro_images:
        (folder / f"frame-{image.index:03d}.png").write_bytes(image.png)
        (folder / f"frame-{image.index:03d}.txt").write_text(image.caption)
    return folder


@pytest.fixture
def spec(micro_images, micro_model_dir: Path, loaded) -> dict[str, Any]:
    members = [{"sha256": hashlib.sha256(i.png).hexdigest(), "licence": LICENCE} for i in micro_images]
    return {"production": "PAT", "method": "lora", "hyperparameters": dict(HYPER), "seed": 3,
            "base": {"name": "micro", "weights_hash": loaded.weights_hash, "path": str(micro_model_dir)},
            "training_set": {"name": "micro-set", "size": len(members), "members": members,
                             "merkle_root": root_of(leaf_key(m["sha256"], LICENCE) for m in members)},
            "model": {"name": "micro-lora", "version": "1"}}


def _run(spec: Mapping[str, Any], data: Path, models: Path, run: str = "run-1") -> Any:
    return execute_training(TrainingSpec.from_claim(run, spec), data, models / f"micro-lora-{run}",
                            key=WorkerKeyPair.generate(), device="cpu", threads=THREADS)


def test_a_folder_with_one_unregistered_file_fails_its_root_check_and_trains_nothing(
        tmp_path, spec, data_folder):
    (data_folder / "scraped.png").write_bytes(b"\x89PNG not ours")
    slate = FakeSlate(spec, tmp_path / "keys")

    outcome = process_training_run("run-1", client=slate, models_dir=str(tmp_path / "models"),
                                   key_dir=str(tmp_path / "worker"), data_dir=str(tmp_path / "data"), device="cpu")

    assert outcome["status"] == "failed"
    assert slate.kinds() == ["claim", "fail"]  # no progress: not one step was trained
    reason = slate.calls[-1][1]
    assert "Merkle root" in reason and "1 file(s) not in the set (scraped.png)" in reason
    assert not (tmp_path / "models" / "micro-lora-1").exists()


def test_a_member_missing_from_the_folder_fails_the_root_check(tmp_path, spec, data_folder):
    next(data_folder.glob("*.png")).unlink()
    slate = FakeSlate(spec, tmp_path / "keys")

    outcome = process_training_run("run-1", client=slate, models_dir=str(tmp_path / "models"),
                                   key_dir=str(tmp_path / "worker"), data_dir=str(tmp_path / "data"), device="cpu")

    assert outcome["status"] == "failed" and slate.kinds() == ["claim", "fail"]
    assert "1 member(s) of the set not found in the folder" in slate.calls[-1][1]


def test_a_trained_model_reproduces_its_attested_root_and_identity_and_generates(
        tmp_path, spec, data_folder, micro_model_dir):
    trained = _run(spec, data_folder, tmp_path / "models")
    attestation = trained.attestation

    assert attestation["format"] == ATTESTATION_FORMAT and attestation["run"] == "run-1"
    assert attestation["training_set"]["merkle_root"] == spec["training_set"]["merkle_root"]
    again = read_training_data(data_folder, spec["training_set"]["members"], resolution=32)
    assert again.merkle_root == attestation["training_set"]["merkle_root"]
    assert attestation["base"] == {"name": "micro", "weights_hash": spec["base"]["weights_hash"]}
    assert (attestation["method"], attestation["seed"], attestation["hyperparameters"]) == ("lora", 3, HYPER)
    assert attestation["metrics"]["steps"] == HYPER["steps"]
    assert set(attestation["code"]["libraries"]) == {"torch", "diffusers", "peft", "transformers", "safetensors"}
    assert set(attestation["output"]["files"]) == {"pytorch_lora_weights.safetensors", "slate-model.json"}

    model = load_model(trained.directory, LoadOptions(device="cpu", threads=THREADS))
    assert model.weights_hash == attestation["output"]["weights_hash"] == trained.identity.digest
    assert model.weights_hash != model_identity(micro_model_dir).digest  # base + adapter, not the base
    ref = ModelRef(name="micro-lora", version="1", weights_hash=model.weights_hash)
    image = generate(model, GenerationJob(job_id="j", model=ref, prompt="a teal circle", seed=1, steps=2,
                                          guidance=5.0, width=64, height=64))
    assert image.png.startswith(b"\x89PNG")


def test_the_attestation_is_signed_by_the_worker_key_over_its_canonical_json(tmp_path, spec, data_folder):
    key = WorkerKeyPair.generate()
    trained = execute_training(TrainingSpec.from_claim("run-1", spec), data_folder, tmp_path / "m",
                               key=key, device="cpu", threads=THREADS)
    public = Ed25519PublicKey.from_public_bytes(key.public_bytes)

    assert trained.key_id == key.key_id
    public.verify(base64.b64decode(trained.signature), canonical_json(trained.attestation))
    forged = {**trained.attestation, "training_set": {**trained.attestation["training_set"], "size": 9}}
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(trained.signature), canonical_json(forged))


def test_training_twice_with_the_same_seed_gives_the_same_weights(tmp_path, spec, data_folder):
    first = _run(spec, data_folder, tmp_path / "models", run="a")
    second = _run(spec, data_folder, tmp_path / "models", run="b")
    other = _run({**spec, "seed": 4}, data_folder, tmp_path / "models", run="c")

    assert first.attestation["output"]["files"] == second.attestation["output"]["files"]
    assert first.identity.digest == second.identity.digest != other.identity.digest


def test_a_governed_run_posts_progress_registers_and_keeps_slates_signature(tmp_path, spec, data_folder):
    slate = FakeSlate(spec, tmp_path / "keys")

    outcome = process_training_run("run-1", client=slate, models_dir=str(tmp_path / "models"),
                                   key_dir=str(tmp_path / "worker"), data_dir=str(tmp_path / "data"), device="cpu",
                                   threads=THREADS)

    assert outcome["status"] == "registered" and outcome["model"] == "micro-lora:1"
    progress = [value for kind, value in slate.calls if kind == "progress"]
    assert progress[0] == (0, HYPER["steps"], None) and progress[-1][:2] == (HYPER["steps"], HYPER["steps"])
    assert isinstance(progress[-1][2], float)
    assert slate.kinds()[-1] == "attestation"
    directory = Path(outcome["directory"])
    assert (directory / SIGNATURE_FILE).is_file()
    signed = load_model(directory, LoadOptions(device="cpu", threads=THREADS,
                                               signature_key=tmp_path / "keys" / PUBLIC_KEY_FILE))
    assert signed.weights_hash == outcome["weights_hash"]


def test_a_refused_attestation_leaves_no_model_folder(tmp_path, spec, data_folder):
    slate = FakeSlate(spec, tmp_path / "keys", refuse_attestation="the run's root is not its set's root")

    outcome = process_training_run("run-1", client=slate, models_dir=str(tmp_path / "models"),
                                   key_dir=str(tmp_path / "worker"), data_dir=str(tmp_path / "data"), device="cpu",
                                   threads=THREADS)

    assert outcome["status"] == "lost" and "root" in outcome["reason"]
    assert not (tmp_path / "models" / "micro-lora-1").exists()


def test_a_weights_file_changed_after_signing_is_refused_at_load(tmp_path, model_copy):
    keys = tmp_path / "keys"
    (model_copy / SIGNATURE_FILE).write_bytes(sign_model_files(model_copy, keys_dir=keys))
    options = LoadOptions(device="cpu", threads=THREADS, signature_key=keys / PUBLIC_KEY_FILE)
    assert load_model(model_copy, options).weights_hash == model_identity(model_copy).digest

    weights = next(model_copy.glob("unet/*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))

    with pytest.raises(ModelIdentityError, match=r"changed since signing: unet/.*safetensors"):
        load_model(model_copy, options)


def test_a_model_without_slates_signature_is_refused_when_one_is_required(tmp_path, model_copy):
    from governance.credentials.model_signatures import signing_key_path
    keys = tmp_path / "keys"
    signing_key_path(keys)
    with pytest.raises(ModelIdentityError, match="carries no signature"):
        load_model(model_copy, LoadOptions(device="cpu", threads=THREADS, signature_key=keys / PUBLIC_KEY_FILE))


def test_a_signature_by_another_key_is_refused(tmp_path, model_copy):
    (model_copy / SIGNATURE_FILE).write_bytes(sign_model_files(model_copy, keys_dir=tmp_path / "insider"))
    from governance.credentials.model_signatures import signing_key_path
    signing_key_path(tmp_path / "slate")
    with pytest.raises(ModelIdentityError):
        load_model(model_copy, LoadOptions(device="cpu", threads=THREADS,
                                           signature_key=tmp_path / "slate" / PUBLIC_KEY_FILE))


def test_signing_a_model_does_not_change_its_identity(tmp_path, model_copy):
    before = model_identity(model_copy).digest
    (model_copy / SIGNATURE_FILE).write_bytes(sign_model_files(model_copy, keys_dir=tmp_path / "keys"))
    assert model_identity(model_copy).digest == before


def test_a_lora_model_whose_base_was_replaced_is_refused(tmp_path, spec, data_folder, micro_model_dir):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(micro_model_dir, models / "micro")  # a real copy beside the adapter, not a link
    trained = _run(spec, data_folder, models)
    weights = next((models / "micro").glob("unet/*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))

    with pytest.raises(ModelIdentityError, match="is not the base micro"):
        load_model(trained.directory, LoadOptions(device="cpu", threads=THREADS))

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

from generator.errors import SigningUnavailable
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

    def __init__(self, spec: Mapping[str, Any], keys_dir: Path, refuse_attestation: str | None = None,
                 lose_answer: bool = False) -> None:
        self.spec, self.keys_dir, self.refuse, self.lose_answer = spec, keys_dir, refuse_attestation, lose_answer
        self.calls: list[tuple[str, Any]] = []
        self.kept: Mapping[str, Any] | None = None

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
        self.kept = {"model": "micro-lora:1", "weights_hash": attestation["output"]["weights_hash"],
                     "slate_signature": "c2xhdGU=",
                     "attestation_sha256": hashlib.sha256(canonical_json(attestation)).hexdigest(),
                     "model_signature": bundle.decode()}
        if self.lose_answer:  # registered, then the connection drops before the answer arrives
            raise SigningUnavailable("posting the attestation: Slate's API cannot be reached (ReadTimeout)")
        return self.kept

    def training_model_signature(self, run_uid: str) -> Mapping[str, Any]:
        self.calls.append(("model-signature", run_uid))
        if self.kept is None:
            raise Conflict(f"training run {run_uid} is running; only a registered run has a model signature")
        return self.kept

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


def test_slates_attestation_check_accepts_the_workers_attestation_and_signature(tmp_path, spec, data_folder):
    from governance.workers.attestations import SignedAttestation
    key = WorkerKeyPair.generate()
    trained = execute_training(TrainingSpec.from_claim("run-1", spec), data_folder, tmp_path / "m",
                               key=key, device="cpu", threads=THREADS)

    signed = SignedAttestation.parse(trained.attestation, trained.key_id, trained.signature)
    signed.verify(key.public_bytes)
    assert signed.body["output"]["weights_hash"] == trained.identity.digest


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
    assert progress[0][:2] == (1, HYPER["steps"]) and progress[-1][:2] == (HYPER["steps"], HYPER["steps"])
    assert all(isinstance(loss, float) for _, _, loss in progress)
    assert slate.kinds()[-1] == "attestation"
    directory = Path(outcome["directory"])
    assert (directory / SIGNATURE_FILE).is_file()
    signed = load_model(directory, LoadOptions(device="cpu", threads=THREADS,
                                               signature_key=tmp_path / "keys" / PUBLIC_KEY_FILE))
    assert signed.weights_hash == outcome["weights_hash"]


def test_a_lost_attestation_answer_fetches_slates_kept_signature_and_keeps_the_model(tmp_path, spec, data_folder):
    slate = FakeSlate(spec, tmp_path / "keys", lose_answer=True)

    outcome = process_training_run("run-1", client=slate, models_dir=str(tmp_path / "models"),
                                   key_dir=str(tmp_path / "worker"), data_dir=str(tmp_path / "data"), device="cpu",
                                   threads=THREADS)

    assert outcome["status"] == "registered" and outcome["model"] == "micro-lora:1"
    assert slate.kinds()[-2:] == ["attestation", "model-signature"]
    directory = Path(outcome["directory"])
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


# -- against Slate's own training-run endpoints, over HTTP ------------------------------------


def _cleared_run(client, studio, micro_images, micro_model_dir, loaded, *, extra: bytes | None = None) -> str:
    """Legal's approved base (the micro model), a set of the micro images licensed for AI
    training, and a LoRA run on it asked for by a producer and approved by legal."""
    from datetime import date

    from governance.registry import assets, base_models, licences, training_sets
    from tests.api.conftest import auth

    base_models.register_base("micro", loaded.weights_hash, licence="Slate studio own work",
                              training_data="procedural studio frames", status="approved",
                              path=str(micro_model_dir))
    licences.add_licence("LIC-MICRO-TRAIN", "The Studio", grants=["ai_training", "concept", "previs"],
                         territories=["WW"], starts_on=date(2020, 1, 1))
    shas = [assets.register_asset(i.png, media_type="image/png", title=f"micro {i.index}",
                                  licence="LIC-MICRO-TRAIN")[0]["sha256"] for i in micro_images]
    training_sets.create_training_set("micro-set", [(s, None) for s in sorted(set(shas))])
    asked = client.post("/api/v1/training-runs", headers=auth(studio.tokens["pat-producer"]), json={
        "production": "harbour-lights", "training_set": "micro-set", "method": "lora", "base": "micro",
        "territory": "GB", "model": {"name": "micro-lora", "version": "1"},
        "hyperparameters": {"steps": 4, "rank": 4, "seed": 3, "resolution": 32}})
    assert asked.status_code == 201, asked.json
    uid = asked.json["uid"]
    approved = client.post(f"/api/v1/training-runs/{uid}/approve", json={}, headers=auth(studio.tokens["lee-legal"]))
    assert approved.status_code == 200, approved.json
    return str(uid)


def test_a_governed_run_against_slates_api_registers_an_attested_model_with_its_progress(
        tmp_path, settings, live, client, studio, micro_images, micro_model_dir, loaded, data_folder):
    from governance.registry import models_registry
    from governance.registry.tables import TrainingRun
    from tests.workers import enrolled_key_dir

    uid = _cleared_run(client, studio, micro_images, micro_model_dir, loaded)
    token = studio.tokens["gpu-worker"]

    outcome = process_training_run(uid, api_url=live.url, token=token, models_dir=str(tmp_path / "models"),
                                   key_dir=enrolled_key_dir(token, tmp_path / "worker"),
                                   data_dir=str(tmp_path / "data"), device="cpu", threads=THREADS)

    assert outcome["status"] == "registered", outcome
    model = models_registry.show_model("micro-lora:1")
    assert model["attested"] is True and model["weights_hash"] == outcome["weights_hash"]
    run = TrainingRun.get(TrainingRun.uid == uid)
    assert (run.status, run.step) == ("registered", 4)
    paths = [a.path for a in live.tap.arrived if a.path.startswith(f"/api/v1/training-runs/{uid}/")]
    assert paths[0].endswith("/claim") and paths[-1].endswith("/attestation")
    assert any(p.endswith("/progress") for p in paths)
    signed = LoadOptions(device="cpu", threads=THREADS, signature_key=settings.keys_dir / PUBLIC_KEY_FILE)
    assert load_model(outcome["directory"], signed).weights_hash == model["weights_hash"]


def test_a_run_fed_one_unregistered_file_fails_at_slate_and_registers_nothing(
        tmp_path, live, client, studio, micro_images, micro_model_dir, loaded, data_folder):
    from governance.registry.tables import Model, TrainingRun
    from tests.workers import enrolled_key_dir

    uid = _cleared_run(client, studio, micro_images, micro_model_dir, loaded)
    (data_folder / "scraped.png").write_bytes(b"\x89PNG scraped from the web")
    token = studio.tokens["gpu-worker"]

    outcome = process_training_run(uid, api_url=live.url, token=token, models_dir=str(tmp_path / "models"),
                                   key_dir=enrolled_key_dir(token, tmp_path / "worker"),
                                   data_dir=str(tmp_path / "data"), device="cpu", threads=THREADS)

    assert outcome["status"] == "failed" and "Merkle root" in outcome["reason"]
    run = TrainingRun.get(TrainingRun.uid == uid)
    assert run.status == "failed" and "scraped.png" in (run.failure or "")
    assert not Model.select().where(Model.name == "micro-lora").exists()

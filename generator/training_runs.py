"""A governed training run on the worker: claim, prove the data, train, attest, hand back.

Slate decides a training run (policy, legal's approval) and queues it; a worker holding an
enrolled key runs it here, in four steps that each refuse rather than guess:

1. **claim** the run over the API (``SlateApiClient.claim_training_run``): its approved
   specification (production, method, hyper-parameters, seed, base, the training set's
   name, root and members with their licences, the model name and version to register);
2. **read** the training files (``training_data``): every byte the loader reads is hashed,
   and the root those bytes make must be the set's registered root, or the run is failed
   over the API before a single step, and nothing is registered;
3. **train** with diffusers' and peft's own LoRA path (``training.train_lora``; a full
   fine-tune with ``training.train``), posting (step, loss) every few seconds, which also
   keeps the claim; save the model folder (a LoRA adapter beside ``slate-model.json`` naming
   its base) and compute the identity the generator's loader will compute for it;
4. **attest**: the attestation (format ``slate-training-attestation/1``) says which bytes
   (root), which base, which method, hyper-parameters and seed, which code and libraries,
   and which output files and identity; the worker signs its canonical JSON with its
   enrolled Ed25519 key and posts it. Slate checks it all again, signs it too and registers
   the model as attested; Slate's OpenSSF signature over the files, where the answer
   carries one, is written into the model folder as ``model.sig``.

``process_training_run`` never raises for the run (the queue must not run it twice): it
returns what became of it. ``execute_training`` is steps 2 to 4 without HTTP, shared by
the benchmark (``benchmarks/training_bench.py``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import torch

from governance import __version__
from governance.canonical import canonical_json
from governance.credentials.model_signatures import SIGNATURE_FILE, model_file_digests
from governance.errors import Conflict, InvalidInput, SlateError
from governance.workers.keyfile import WorkerKeyPair

from . import architecture, training, training_data
from .architecture import ARCHITECTURES, build_pipeline
from .environment import device_description, library_versions
from .errors import SigningUnavailable
from .identity import ModelIdentity, combined_identity, model_identity
from .loader import LORA_MODEL_FILE, LoadOptions, LoraModel, load_model, resolve_device
from .training import TrainingConfig, TrainingReport, save_lora, save_model, train, train_lora

log = logging.getLogger("slate.worker.training")

ATTESTATION_FORMAT = "slate-training-attestation/1"
METHODS = ("lora", "full")
#: libraries whose arithmetic the weights depend on, as the attestation names them
ATTESTED_LIBRARIES = ("torch", "diffusers", "peft", "transformers", "safetensors")
#: the modules whose source decides what a run computes (hashed into the attestation)
TRAINING_CODE = (architecture, training, training_data)
#: post progress at most this often (each post is an HTTP call; it also keeps the claim)
PROGRESS_EVERY_S = 2.0


class DataRead(Protocol):
    """What the attestation says of the data: the root and size of the bytes the loader read
    (``training_data.TrainingData``, or the bundled build's images) and their captions' digest."""

    @property
    def merkle_root(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def captions_sha256(self) -> str: ...


class TrainingRunClient(Protocol):
    """The API calls a worker makes for a training run (``service.SlateApiClient``)."""

    def claim_training_run(self, run_uid: str) -> Mapping[str, Any]: ...

    def training_progress(self, run_uid: str, step: int, total_steps: int,
                          loss: float | None) -> Mapping[str, Any]: ...

    def fail_training_run(self, run_uid: str, reason: str) -> Mapping[str, Any]: ...

    def post_attestation(self, run_uid: str, attestation: Mapping[str, Any], key_id: str,
                         signature: str) -> Mapping[str, Any]: ...

    def training_model_signature(self, run_uid: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class BaseRef:
    name: str
    weights_hash: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weights_hash": self.weights_hash}


@dataclass(frozen=True)
class TrainingSpec:
    """An approved run as its claim hands it over; validated here, once."""

    run: str
    production: str
    method: str
    hyperparameters: Mapping[str, Any]
    seed: int
    base: BaseRef | None
    set_name: str
    merkle_root: str
    set_size: int
    members: tuple[Mapping[str, Any], ...]
    model_name: str
    model_version: str

    @classmethod
    def from_claim(cls, run_uid: str, spec: Mapping[str, Any]) -> TrainingSpec:
        try:
            hyper = dict(spec.get("hyperparameters") or {})
            base = spec.get("base")
            tset, model = spec["training_set"], spec["model"]
            made = cls(
                run=run_uid, production=str(spec["production"]), method=str(spec["method"]),
                hyperparameters=hyper, seed=int(spec.get("seed", hyper.get("seed", 0))),
                base=BaseRef(str(base["name"]), str(base["weights_hash"]), base.get("path")) if base else None,
                set_name=str(tset["name"]), merkle_root=str(tset["merkle_root"]), set_size=int(tset["size"]),
                members=tuple(tset["members"]), model_name=str(model["name"]), model_version=str(model["version"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"training run {run_uid}'s specification from Slate lacks or garbles {exc}") from None
        if made.method not in METHODS:
            raise InvalidInput(f"training run {run_uid} asks for method '{made.method}'",
                               hint=f"this worker trains with {' or '.join(METHODS)}")
        if made.method == "lora" and made.base is None:
            raise InvalidInput(f"training run {run_uid} is a LoRA run without a base model")
        return made

    def config(self, threads: int) -> TrainingConfig:
        h = self.hyperparameters
        try:
            return TrainingConfig(
                steps=int(h.get("steps", 100)), batch_size=int(h.get("batch_size", 4)),
                learning_rate=float(h.get("learning_rate", 1e-3)),
                autoencoder_steps=0 if self.method == "lora" else int(h.get("autoencoder_steps", 0)),
                autoencoder_learning_rate=float(h.get("autoencoder_learning_rate", 1e-3)),
                caption_dropout=float(h.get("caption_dropout", 0.1)), seed=self.seed, threads=threads)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"training run {self.run}'s hyper-parameters are not numbers: {exc}") from None

    @property
    def rank(self) -> int:
        return int(self.hyperparameters.get("rank", 4))


@dataclass(frozen=True)
class TrainedRun:
    """A finished run: its output folder, identity, report, and signed attestation."""

    directory: Path
    identity: ModelIdentity
    report: TrainingReport
    attestation: dict[str, Any]
    key_id: str
    signature: str
    data: training_data.TrainingData = field(repr=False)


class ProgressReporter:
    """The training loop's ``on_step``: posts (step, loss) after the first step, then at most
    every ``every_s`` seconds, and after the last step. An unreachable API is logged and tried again at the next post
    (training goes on; the lease decides); a lost claim (``Conflict``) stops training."""

    def __init__(self, post: Callable[[int, int, float], Any], every_s: float = PROGRESS_EVERY_S) -> None:
        self.post, self.every_s = post, every_s
        self._last = float("-inf")
        self.posted: list[int] = []

    def __call__(self, step: int, total: int, loss: float) -> None:
        if step == total or time.monotonic() - self._last >= self.every_s:
            self._send(step, total, loss)

    def _send(self, step: int, total: int, loss: float) -> None:
        self._last = time.monotonic()
        try:
            self.post(step, total, loss)
        except SigningUnavailable as exc:
            log.warning("training progress not posted: %s", exc.message)
            return
        self.posted.append(step)


def process_training_run(run_uid: str, *, api_url: str | None = None, token: str | None = None,
                         models_dir: str | None = None, key_dir: str | None = None,
                         data_dir: str | None = None, device: str = "auto", threads: int | None = None,
                         client: TrainingRunClient | None = None, **_ignored: Any) -> dict[str, Any]:
    """Claim and run one approved training run end to end; never raises for the run.

    ``status``: ``registered`` (Slate registered the model: ``model``, ``weights_hash``);
    ``failed`` (reported to Slate with the reason: the data's root, a refusal of the
    attestation, a training error); ``skipped`` (not this worker's to run); ``deferred``
    (the API was away; the claim lapses and the run is claimed again).
    """
    if client is None:
        from .service import client_for
        if not api_url or not token:
            return {"run": run_uid, "status": "failed", "reason": "the worker has no API URL or token"}
        client = client_for(api_url, token)
    try:
        answer = client.claim_training_run(run_uid)
    except Conflict as exc:
        return {"run": run_uid, "status": "skipped", "reason": exc.message}
    except SigningUnavailable as exc:
        return {"run": run_uid, "status": "deferred", "reason": exc.message}
    except SlateError as exc:
        return {"run": run_uid, "status": "failed", "reason": exc.message}
    return _run_claimed(client, run_uid, answer, models_dir=models_dir, key_dir=key_dir, data_dir=data_dir,
                        device=device, threads=threads)


def _run_claimed(client: TrainingRunClient, run_uid: str, answer: Mapping[str, Any], *, models_dir: str | None,
                 key_dir: str | None, data_dir: str | None, device: str, threads: int | None) -> dict[str, Any]:
    output: Path | None = None
    try:
        from .service import worker_key
        spec = TrainingSpec.from_claim(run_uid, answer.get("spec") or {})
        key = worker_key(key_dir)
        folder = training_folder(data_dir, spec.set_name)
        output = output_directory(models_dir, spec)
        reporter = ProgressReporter(lambda s, t, loss: client.training_progress(run_uid, s, t, loss))
        trained = execute_training(spec, folder, output, key=key, device=device, threads=threads,
                                   progress=reporter)
        registered = _attested(client, run_uid, trained)
    except Conflict as exc:  # the claim was lost, or Slate refused the attestation and failed the run itself
        _discard(output)
        log.warning("training run %s: %s", run_uid, exc.message)
        return {"run": run_uid, "status": "lost", "reason": exc.message}
    except SigningUnavailable as exc:
        _discard(output)
        return {"run": run_uid, "status": "deferred", "reason": exc.message}
    except SlateError as exc:
        _discard(output)
        return _report_failure(client, run_uid, exc.message)
    except Exception as exc:  # the worker outlives any one run
        _discard(output)
        log.error("training run %s failed unexpectedly", run_uid, exc_info=exc)
        return _report_failure(client, run_uid, f"training failed unexpectedly ({type(exc).__name__}); "
                                                "the worker log has the details")
    signature = registered.get("model_signature")
    if isinstance(signature, str) and signature:
        (trained.directory / SIGNATURE_FILE).write_text(signature, encoding="utf-8")
    return {"run": run_uid, "status": "registered", "model": registered.get("model"),
            "weights_hash": trained.identity.digest, "directory": str(trained.directory),
            "attestation_sha256": registered.get("attestation_sha256")}


def _attested(client: TrainingRunClient, run_uid: str, trained: TrainedRun) -> Mapping[str, Any]:
    """Post the attestation; if its answer is lost (the API went away mid-call), Slate may have
    registered the model all the same: ask for the run's kept answer, Slate's model signature
    with it, rather than throw away a registered model nobody could load without ``model.sig``.
    A run Slate did not register is a ``Conflict`` there, and the first failure stands."""
    try:
        return client.post_attestation(run_uid, trained.attestation, trained.key_id, trained.signature)
    except SigningUnavailable as lost:
        try:
            kept = client.training_model_signature(run_uid)
        except SlateError:
            raise lost from None
        if kept.get("attestation_sha256") != hashlib.sha256(canonical_json(trained.attestation)).hexdigest():
            raise lost from None  # registered from another attestation than ours: not this folder's
        log.info("training run %s: the attestation's answer was lost; Slate had registered it", run_uid)
        return kept


def _report_failure(client: TrainingRunClient, run_uid: str, reason: str) -> dict[str, Any]:
    log.warning("training run %s failed: %s", run_uid, reason)
    try:
        client.fail_training_run(run_uid, reason)
    except SlateError as exc:
        return {"run": run_uid, "status": "failed", "reason": reason, "report": exc.message}
    return {"run": run_uid, "status": "failed", "reason": reason}


def training_folder(data_dir: str | Path | None, set_name: str) -> Path:
    """Where the run's files are: ``DATA_DIR/<set name>`` if that folder exists, else ``DATA_DIR``."""
    if not data_dir:
        raise InvalidInput("this worker has no training data folder",
                           hint="set SLATE_TRAINING_DATA_DIR to the folder holding the training sets' files")
    folder = Path(data_dir)
    return folder / set_name if (folder / set_name).is_dir() else folder


def output_directory(models_dir: str | Path | None, spec: TrainingSpec) -> Path:
    """``MODELS_DIR/<name>-<version>``; a LoRA model's base must be found beside it by name
    (``loader.lora_base_directory``), so the base's folder is linked there when it lives
    elsewhere. An existing folder is never overwritten."""
    root = Path(models_dir) if models_dir else (Path(spec.base.path).parent if spec.base and spec.base.path
                                                else None)
    if root is None:
        raise InvalidInput("this worker has no models folder to write the trained model into",
                           hint="set SLATE_MODELS_DIR")
    directory = root / f"{spec.model_name}-{spec.model_version}"
    if directory.exists():
        raise InvalidInput(f"{directory} already exists; a trained model is never written over another",
                           hint="register the run's model under a new version, or move the old folder away")
    return directory


def execute_training(spec: TrainingSpec, folder: Path, output: Path, *, key: WorkerKeyPair, device: str = "auto",
                     threads: int | None = None, progress: ProgressReporter | None = None) -> TrainedRun:
    """Read and check the data, train, save to ``output``, attest and sign: no HTTP here."""
    started = utc_now()
    clock = time.perf_counter()
    torch_device = resolve_device(device)
    threads = threads or torch.get_num_threads()
    stated = spec.hyperparameters.get("resolution")
    # with the resolution stated, the data is checked before the base is even loaded
    data = _checked_data(spec, folder, int(stated)) if stated else None
    pipeline, base_dir = _starting_pipeline(spec, torch_device, threads)
    if data is None:
        data = _checked_data(spec, folder, int(pipeline.unet.config.sample_size
                                              * getattr(pipeline, "vae_scale_factor", 8)))
    config = spec.config(threads)
    if spec.method == "lora":
        report = train_lora(pipeline, data.images, config, rank=spec.rank, progress=False, on_step=progress)
    else:
        report = train(pipeline, data.images, config, progress=False, on_step=progress)
    identity = _save(pipeline, spec, output, base_dir)
    attestation = build_attestation(
        spec, data, identity, model_file_digests(output), report, device=torch_device,
        started_at=started, finished_at=utc_now(), seconds=time.perf_counter() - clock)
    return TrainedRun(directory=output, identity=identity, report=report, attestation=attestation,
                      key_id=key.key_id, signature=sign_attestation(key, attestation), data=data)


def _checked_data(spec: TrainingSpec, folder: Path, resolution: int) -> training_data.TrainingData:
    """The run's files, read and hashed once, refused unless they make the set's root."""
    data = training_data.read_training_data(folder, spec.members, resolution=resolution)
    data.check_root(spec.merkle_root, spec.set_name)
    return data


def _starting_pipeline(spec: TrainingSpec, device: torch.device, threads: int) -> tuple[Any, Path | None]:
    """The base, loaded through the generator's loader (so its identity is checked as a job's
    would be), in float32 for training; or, with no base (a full training from scratch), a
    fresh pipeline of Slate's architecture for the run's resolution."""
    if spec.base is None:
        resolution = int(spec.hyperparameters.get("resolution", 0))
        shapes = {a.image_size: a for a in ARCHITECTURES.values()}
        if resolution not in shapes:
            raise InvalidInput(f"training run {spec.run} has no base, and no Slate architecture is made "
                               f"for {resolution} pixels", hint=f"use resolution {' or '.join(map(str, shapes))}")
        return build_pipeline(shapes[resolution], seed=spec.seed).to(device), None
    if not spec.base.path:
        raise InvalidInput(f"base model {spec.base.name} has no path registered, so this worker cannot find it")
    loaded = load_model(spec.base.path, LoadOptions(device=str(device), dtype="float32", threads=threads))
    if loaded.weights_hash != spec.base.weights_hash:
        raise SlateError(f"the base model at {spec.base.path} ({loaded.weights_hash[:12]}…) is not the registered "
                         f"base {spec.base.name} ({spec.base.weights_hash[:12]}…); nothing was trained")
    return loaded.pipeline, Path(spec.base.path)


def _save(pipeline: Any, spec: TrainingSpec, output: Path, base_dir: Path | None) -> ModelIdentity:
    """Write the model folder (atomically: a half-written folder never has the final name)
    and return the identity the loader will compute for it."""
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    if spec.method == "lora":
        assert spec.base is not None and base_dir is not None
        save_lora(pipeline, partial)
        lora = LoraModel(base_name=spec.base.name, base_weights_hash=spec.base.weights_hash)
        (partial / LORA_MODEL_FILE).write_bytes(canonical_json(lora.to_dict()))
    else:
        save_model(pipeline, partial)
    os.replace(partial, output)
    if spec.method != "lora":
        return model_identity(output)
    assert spec.base is not None and base_dir is not None
    _link_base(output.parent, spec.base.name, base_dir)
    return combined_identity(model_identity(base_dir), [(model_identity(output), 1.0)])


def _link_base(models_root: Path, name: str, base_dir: Path) -> None:
    beside = models_root / name
    if not beside.exists():
        beside.symlink_to(base_dir.resolve(), target_is_directory=True)


def build_attestation(spec: TrainingSpec, read: DataRead, identity: ModelIdentity,
                      files: Mapping[str, str], report: TrainingReport, *, device: torch.device,
                      started_at: str, finished_at: str, seconds: float) -> dict[str, Any]:
    """The run's attestation (``slate-training-attestation/1``), as Slate checks and signs it."""
    libraries = library_versions()
    return {
        "format": ATTESTATION_FORMAT, "run": spec.run,
        "training_set": {"name": spec.set_name, "merkle_root": read.merkle_root, "size": read.size},
        "base": spec.base.to_dict() if spec.base else None,
        "method": spec.method, "hyperparameters": dict(spec.hyperparameters), "seed": spec.seed,
        "code": {"slate": __version__, "training_code_sha256": training_code_sha256(),
                 "libraries": {name: libraries.get(name, "absent") for name in ATTESTED_LIBRARIES},
                 "device": device_description(device)},
        "output": {"weights_hash": identity.digest, "files": dict(sorted(files.items()))},
        "metrics": {"steps": len(report.losses), "final_loss": report.losses[-1] if report.losses else None,
                    "eval_loss_before": report.eval_loss_before, "eval_loss_after": report.eval_loss_after,
                    "seconds": round(seconds, 3), "captions_sha256": read.captions_sha256},
        "started_at": started_at, "finished_at": finished_at,
    }


def sign_attestation(key: WorkerKeyPair, attestation: Mapping[str, Any]) -> str:
    """The worker's Ed25519 signature over the attestation's canonical JSON, base64."""
    return base64.b64encode(key.private_key.sign(canonical_json(attestation))).decode("ascii")


def training_code_sha256() -> str:
    """SHA-256 over the source of the modules that decide what a run computes."""
    sha = hashlib.sha256()
    for module in TRAINING_CODE:
        source = Path(str(module.__file__)).read_bytes()
        sha.update(f"{module.__name__}\0{len(source)}\0".encode())
        sha.update(source)
    return sha.hexdigest()


def _discard(output: Path | None) -> None:
    """A run that is not registered leaves no model folder behind."""
    if output is not None and output.is_dir() and not output.is_symlink():
        shutil.rmtree(output, ignore_errors=True)


def utc_now() -> str:
    """Now, as an attestation writes its times (ISO 8601, UTC, ``Z``)."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

"""Slate's bundled model, ``slate-studio``: made here, from registered data, end to end.

The whole provenance chain in one function, as a studio would do it for its own model:
the procedural studio images are registered as assets under the studio's own licence,
gathered into a training set (whose Merkle root the model records), the model is trained
on exactly those images and saved as a diffusers directory, and it is registered with the
identity the worker will compute when it loads that directory.

Training (``train_studio_model``) needs no database; the registration functions need
an open one (the CLI opens it). Re-running with the same settings and thread count
reproduces the same weights, so a rebuild finds its own registration and reuses it.

The model is registered attested, as a governed run's is (``training_runs``): the build's
attestation names the root of the image bytes it decoded (the registered set's root), the
hyper-parameters, code and libraries, and the files and identity it wrote; the embedded
worker's key signs it, and Slate checks and countersigns it (``register_attested_model``,
origin ``bundled``: the studio's own build needs no approval). Slate's OpenSSF signature
over the files is written into the folder as ``model.sig``.

This module is the ``slate.bundled_model`` entry point (pyproject.toml): ``slate serve``
reads ``MODEL_NAME`` and ``MODEL_VERSION`` and calls ``build_bundled_model(settings,
progress=...)`` without naming this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Sequence

import torch

from governance.canonical import digest
from governance.credentials.keys import KeyStore
from governance.credentials.model_signatures import SIGNATURE_FILE, model_file_digests
from governance.db import private_folder
from governance.errors import Conflict
from governance.lifecycle.training_runs import register_attested_model
from governance.registry import assets, licences, models_registry, training_sets
from governance.registry.merkle import leaf_key, root_of
from governance.settings import Settings
from governance.workers.keyfile import WorkerKeyPair

from .architecture import SLATE_STUDIO, Architecture, build_pipeline
from .dataset import StudioImage, studio_dataset
from .identity import ModelIdentity, model_identity
from .training import TrainingConfig, TrainingReport, save_model, train
from .training_runs import TrainingSpec, build_attestation, sign_attestation, utc_now

MODEL_NAME = "slate-studio"
MODEL_VERSION = "1"
LICENCE_REF = "slate-studio-own-work"
LICENSOR = "Slate Studio"
TRAINING_SET = "slate-studio-style-1"
DATASET_SEED = 0
DATASET_SIZE = 64


@dataclass(frozen=True)
class StudioDataRead:
    """The bytes the bundled build trained on (each image's PNG, which training decodes)."""

    merkle_root: str
    size: int
    captions_sha256: str

    @classmethod
    def of(cls, images: Sequence[StudioImage]) -> StudioDataRead:
        hashes = {hashlib.sha256(i.png).hexdigest(): i for i in images}
        return cls(merkle_root=root_of(leaf_key(sha, LICENCE_REF) for sha in hashes), size=len(hashes),
                   captions_sha256=digest({sha: hashlib.sha256(i.caption.encode()).hexdigest()
                                           for sha, i in hashes.items()}))


@dataclass(frozen=True)
class BuiltModel:
    directory: Path
    identity: ModelIdentity
    report: TrainingReport
    data: StudioDataRead | None = None
    arch: str = SLATE_STUDIO.name
    started_at: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class BundledModel:
    built: BuiltModel
    training_set: dict[str, Any]
    model: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"model": self.model.get("ref", f"{MODEL_NAME}:{MODEL_VERSION}"),
                "directory": str(self.built.directory),
                "weights_hash": self.built.identity.digest,
                "training_set": self.training_set["name"],
                "training_set_root": self.training_set["merkle_root"],
                "training": self.built.report.summary()}


def bundled_directory(settings: Settings) -> Path:
    return settings.models_dir / MODEL_NAME


def train_studio_model(directory: Path, images: Sequence[StudioImage],
                       config: TrainingConfig = TrainingConfig(),
                       arch: Architecture = SLATE_STUDIO, progress: bool = True) -> BuiltModel:
    """Build ``arch`` from configs, train it on ``images``, save it; no database needed."""
    started = utc_now()
    pipeline = build_pipeline(arch, seed=config.seed)
    report = train(pipeline, images, config, progress=progress)
    save_model(pipeline, directory)
    return BuiltModel(directory=directory, identity=model_identity(directory), report=report,
                      data=StudioDataRead.of(images), arch=arch.name, started_at=started, finished_at=utc_now())


def register_training_data(images: Sequence[StudioImage], name: str = TRAINING_SET) -> dict[str, Any]:
    """Register the studio's licence, the images as assets and the training set."""
    _ensure_licence()
    hashes = []
    for image in images:
        asset, _ = assets.register_asset(
            image.png, media_type="image/png", title=image.title,
            source=f"generator.dataset procedural studio style (seed {DATASET_SEED})",
            licence=LICENCE_REF)
        hashes.append(asset["sha256"])
    try:
        return training_sets.create_training_set(
            name, [(h, None) for h in hashes],
            description="Procedural studio-style frames, Slate's bundled demo model's training data")
    except Conflict:
        return _same_training_set(name, hashes)


def bundled_attestation(built: BuiltModel, training_set: dict[str, Any],
                        version: str = MODEL_VERSION) -> dict[str, Any]:
    """The build's attestation, in the format a governed run's worker posts (``training_runs``)."""
    assert built.data is not None, "a build made by train_studio_model knows the bytes it read"
    config = built.report.config
    spec = TrainingSpec(run="bundled", production="studio", method="full",
                        hyperparameters={**asdict(config), "architecture": built.arch}, seed=config.seed,
                        base=None, set_name=str(training_set["name"]), merkle_root=str(training_set["merkle_root"]),
                        set_size=int(training_set["size"]), members=(), model_name=MODEL_NAME, model_version=version)
    return build_attestation(spec, built.data, built.identity, model_file_digests(built.directory), built.report,
                             device=torch.device("cpu"), started_at=built.started_at, finished_at=built.finished_at,
                             seconds=built.report.seconds)


def register_bundled_model(built: BuiltModel, training_set: dict[str, Any], version: str = MODEL_VERSION,
                           settings: Settings | None = None) -> dict[str, Any]:
    """Register the trained model with its identity and training-set root (once): attested,
    and signed in the OpenSSF form, when ``settings`` (keys) are given."""
    try:
        if settings is not None and built.data is not None:
            return register_attested_bundle(settings, built, training_set, version)
        return models_registry.register_model(
            MODEL_NAME, version, built.identity.digest, training_set=training_set["name"],
            base_model=None, path=str(built.directory))
    except Conflict:
        existing = models_registry.show_model(f"{MODEL_NAME}:{version}")
        if existing["weights_hash"] != built.identity.digest:
            raise Conflict(
                f"{MODEL_NAME}:{version} is registered with other weights "
                f"({existing['weights_hash'][:12]}…, these are {built.identity.digest[:12]}…)",
                hint="training on another thread count or library version changes the weights; "
                     "register this build under a new version") from None
        return existing


def build_bundled_model(settings: Settings, *, config: TrainingConfig = TrainingConfig(),
                        count: int = DATASET_SIZE, arch: Architecture = SLATE_STUDIO,
                        progress: bool = True) -> BundledModel:
    """Dataset, registration, training, saving, model registration: the whole chain."""
    images = studio_dataset(count, size=arch.image_size, seed=DATASET_SEED)
    training_set = register_training_data(images)
    built = train_studio_model(bundled_directory(settings), images, config, arch, progress)
    model = register_bundled_model(built, training_set, settings=settings)
    return BundledModel(built=built, training_set=training_set, model=model)


def register_attested_bundle(settings: Settings, built: BuiltModel, training_set: dict[str, Any],
                             version: str) -> dict[str, Any]:
    """Sign the build's attestation with the embedded worker's key and have Slate check,
    countersign and register it (``lifecycle.training_runs.register_attested_model``)."""
    attestation = bundled_attestation(built, training_set, version)
    key = WorkerKeyPair.load_or_create(private_folder(settings.embedded_worker_dir, top=settings.data_dir))
    signature = sign_attestation(key, attestation)
    registered = register_attested_model(attestation, key_id=key.key_id, signature=signature,
                                         keys=KeyStore(settings), model=f"{MODEL_NAME}:{version}",
                                         public_key=key.public_key)
    (built.directory / SIGNATURE_FILE).write_text(registered.model_signature, encoding="utf-8")
    return models_registry.show_model(f"{MODEL_NAME}:{version}")


def _ensure_licence() -> None:
    try:
        licences.add_licence(LICENCE_REF, LICENSOR,
                             grants=["ai_training", "concept", "previs", "final_frame", "marketing"],
                             territories=["WW"],
                             starts_on=date(2024, 1, 1))
    except Conflict:
        pass  # registered by an earlier build: the studio's own work, same terms


def _same_training_set(name: str, hashes: list[str]) -> dict[str, Any]:
    existing = training_sets.show_training_set(name, with_members=True)
    if sorted(m["asset"] for m in existing["members"]) != sorted(set(hashes)):
        raise Conflict(f"training set '{name}' already exists with other images",
                       hint="training sets are immutable; build under a new training-set name")
    existing.pop("members")
    return existing

"""Generating images for jobs, reproducibly, and recording how.

A ``GenerationJob`` is validated when it is made (sizes, steps, guidance, seed), so a bad
job fails with an ``InvalidInput`` naming the field, before any GPU time is spent. Every
image comes back with a ``GenerationRecord``: the job's settings, the scheduler, the
model identity and the environment that affects pixels (see ``environment``). The prompt
is recorded only as its SHA-256: scripts are confidential.

Noise is drawn from a CPU generator seeded per job, so a job's starting latents do not
depend on the device or on the other jobs in its batch.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from PIL import Image

from governance.canonical import digest
from governance.errors import InvalidInput
from governance.lifecycle import params as limits

from .dataset import encode_png
from .environment import pinned_threads, pixel_environment
from .loader import LoadedModel

SCHEDULERS: dict[str, type[Any]] = {
    "ddim": DDIMScheduler,
    "euler": EulerDiscreteScheduler,
    "euler_a": EulerAncestralDiscreteScheduler,
    "dpm++": DPMSolverMultistepScheduler,
    "pndm": PNDMScheduler,
    "unipc": UniPCMultistepScheduler,
}
# the limits are governance.lifecycle.params's: what the API accepted, the generator runs
STEPS_RANGE = limits.STEPS
GUIDANCE_RANGE = limits.GUIDANCE
SIZE_RANGE = limits.SIZE
SIZE_MULTIPLE = limits.SIZE_MULTIPLE
MAX_PROMPT_CHARS = limits.MAX_PROMPT_CHARS
MAX_SEED = limits.SEED_MAX
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
#: As the registry has them; the worker refuses only ``retired`` (policy checks approval).
MODEL_STATUSES = ("registered", "approved", "retired")


@dataclass(frozen=True)
class ModelRef:
    """The registered model a job was approved for, as the registry knows it."""

    name: str
    version: str
    weights_hash: str
    status: str = "approved"

    def __post_init__(self) -> None:
        if self.status not in MODEL_STATUSES:
            raise InvalidInput(f"model status must be one of {', '.join(MODEL_STATUSES)}",
                               fields={"model.status": self.status})
        if not re.fullmatch(r"[0-9a-f]{64}", self.weights_hash):
            raise InvalidInput("a model's weights hash is 64 lowercase hex characters",
                               fields={"model.weights_hash": "not a SHA-256 hex digest"})

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class GenerationJob:
    """One approved image to make. Invalid values raise ``InvalidInput`` on creation."""

    job_id: str
    model: ModelRef
    prompt: str
    seed: int
    steps: int = 25
    guidance: float = 7.5
    width: int = 128
    height: int = 128
    negative_prompt: str = ""
    scheduler: str | None = None  # None: the model's own

    def __post_init__(self) -> None:
        errors = _job_errors(self)
        if errors:
            raise InvalidInput(f"job {self.job_id!r} is not valid: {'; '.join(errors.values())}",
                               fields=errors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationJob:
        """Build a job from the queue's JSON; unknown or missing fields are ``InvalidInput``."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"unknown job fields: {', '.join(unknown)}")
        missing = sorted(f for f in ("job_id", "model", "prompt", "seed") if f not in data)
        if missing:
            raise InvalidInput(f"job is missing {', '.join(missing)}")
        model = data["model"]
        if not isinstance(model, Mapping):
            raise InvalidInput("job.model must be an object with name, version, weights_hash")
        try:
            ref = ModelRef(**model)
            return cls(**{**data, "model": ref})
        except TypeError as exc:
            raise InvalidInput(f"job is malformed: {exc}") from None

    def settings(self) -> dict[str, Any]:
        """What the job asked for, fit for a record (the prompt only as its hash)."""
        return {
            "job_id": self.job_id,
            "model": asdict(self.model),
            "prompt_sha256": _sha256_text(self.prompt),
            "negative_prompt_sha256": _sha256_text(self.negative_prompt),
            "seed": self.seed, "steps": self.steps, "guidance": self.guidance,
            "width": self.width, "height": self.height,
        }


def _job_errors(job: GenerationJob) -> dict[str, str]:
    errors: dict[str, str] = {}

    def check(name: str, ok: bool, message: str) -> None:
        if not ok:
            errors[name] = message

    check("job_id", isinstance(job.job_id, str) and bool(_JOB_ID.match(job.job_id)),
          "job_id must be 1-200 letters, digits or ._:-")
    check("model", isinstance(job.model, ModelRef), "model must be a registered model reference")
    check("prompt", isinstance(job.prompt, str) and 0 < len(job.prompt) <= MAX_PROMPT_CHARS,
          f"prompt must be 1-{MAX_PROMPT_CHARS} characters")
    check("negative_prompt", isinstance(job.negative_prompt, str)
          and len(job.negative_prompt) <= MAX_PROMPT_CHARS,
          f"negative_prompt must be at most {MAX_PROMPT_CHARS} characters")
    check("seed", _is_int(job.seed) and 0 <= job.seed <= MAX_SEED, f"seed must be 0..{MAX_SEED}")
    check("steps", _is_int(job.steps) and STEPS_RANGE[0] <= job.steps <= STEPS_RANGE[1],
          f"steps must be {STEPS_RANGE[0]}..{STEPS_RANGE[1]}, got {job.steps!r}")
    check("guidance", isinstance(job.guidance, (int, float)) and not isinstance(job.guidance, bool)
          and GUIDANCE_RANGE[0] <= job.guidance <= GUIDANCE_RANGE[1],
          f"guidance must be {GUIDANCE_RANGE[0]}..{GUIDANCE_RANGE[1]}, got {job.guidance!r}")
    for side in ("width", "height"):
        value = getattr(job, side)
        check(side, _is_int(value) and SIZE_RANGE[0] <= value <= SIZE_RANGE[1]
              and value % SIZE_MULTIPLE == 0,
              f"{side} must be a multiple of {SIZE_MULTIPLE} in {SIZE_RANGE[0]}..{SIZE_RANGE[1]}, "
              f"got {value!r}")
    check("scheduler", job.scheduler is None or job.scheduler in SCHEDULERS,
          f"scheduler must be one of {', '.join(SCHEDULERS)} (or unset), got {job.scheduler!r}")
    return errors


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class GenerationRecord:
    """How an image was made: enough to make it again, byte for byte, on a CPU."""

    job: dict[str, Any]
    scheduler: dict[str, Any]
    model_identity: str
    environment: dict[str, Any]
    image_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GeneratedImage:
    png: bytes
    record: GenerationRecord


def generate(loaded: LoadedModel, job: GenerationJob) -> GeneratedImage:
    """Make the image for one job."""
    return generate_batch(loaded, [job])[0]


def generate_batch(loaded: LoadedModel, jobs: Sequence[GenerationJob]) -> list[GeneratedImage]:
    """Make several jobs' images in one pass; they must share steps, size, guidance, scheduler."""
    if not jobs:
        return []
    first = jobs[0]
    _check_batch(jobs)
    _check_fits_model(loaded, first)
    scheduler = _fresh_scheduler(loaded, first.scheduler)
    pipeline = loaded.pipeline
    pipeline.scheduler = scheduler
    threads = loaded.threads if loaded.device.type == "cpu" else None
    with pinned_threads(threads), torch.inference_mode():
        output = pipeline(
            prompt=[j.prompt for j in jobs],
            negative_prompt=[j.negative_prompt for j in jobs],
            num_inference_steps=first.steps,
            guidance_scale=float(first.guidance),
            height=first.height,
            width=first.width,
            generator=[torch.Generator("cpu").manual_seed(j.seed) for j in jobs],
            output_type="pil",
        )
    environment = pixel_environment(loaded.device, loaded.dtype, loaded.threads, len(jobs),
                                    loaded.options.to_dict(), loaded.libraries)
    described = describe_scheduler(scheduler, first.scheduler)
    return [_result(job, image, described, loaded.identity.digest, environment)
            for job, image in zip(jobs, output.images, strict=True)]


def _check_batch(jobs: Sequence[GenerationJob]) -> None:
    shared = {(j.steps, j.guidance, j.width, j.height, j.scheduler) for j in jobs}
    if len(shared) > 1:
        raise InvalidInput("jobs batched together must share steps, guidance, size and scheduler")
    if len({j.job_id for j in jobs}) != len(jobs):
        raise InvalidInput("a batch names the same job twice")


def _check_fits_model(loaded: LoadedModel, job: GenerationJob) -> None:
    multiple = loaded.pixel_multiple
    if job.width % multiple or job.height % multiple:
        raise InvalidInput(f"this model needs image sides that are multiples of {multiple}, "
                           f"got {job.width}x{job.height}", fields={"width": job.width,
                                                                    "height": job.height})


def _fresh_scheduler(loaded: LoadedModel, name: str | None) -> Any:
    """A new scheduler per call: schedulers keep state between steps."""
    original = loaded.default_scheduler
    cls = type(original) if name is None else SCHEDULERS[name]
    return cls.from_config(original.config)


def describe_scheduler(scheduler: Any, name: str | None) -> dict[str, Any]:
    config = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
    return {"name": name or "model-default", "class": type(scheduler).__name__,
            "config_sha256": digest(_jsonable(config))}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, float) and value != value:
        return "nan"
    return value


def _result(job: GenerationJob, image: Image.Image, scheduler: dict[str, Any],
            identity: str, environment: dict[str, Any]) -> GeneratedImage:
    png = encode_png(image)
    record = GenerationRecord(job=job.settings() | {"scheduler": job.scheduler},
                              scheduler=scheduler, model_identity=identity,
                              environment=environment,
                              image_sha256=hashlib.sha256(png).hexdigest())
    return GeneratedImage(png=png, record=record)

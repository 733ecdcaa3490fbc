"""The worker's unit of work: one approved job in, one signed output (or a reason) out.

``run_job`` never raises for a bad job: whatever goes wrong (an invalid job, a retired
model, weights that are not the registered ones, a refusal from the signing API, an
unexpected library error), the job comes back ``failed`` with a reason a person can act
on, and the worker moves on to the next job. Checks run before generation, so a job that
cannot be signed costs no GPU time.

One outcome is neither: when signing stays unavailable (the signing client has retried
it up to its deadline, see ``signing``), the job comes back ``deferred``. It is not the
job's fault, so it is not failed; and the image is not thrown away: ``UnsignedImages``
keeps it, so when the job is claimed again this process signs the same image instead of
generating it again. ``run_job`` itself retries nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from governance.errors import ModelIdentityError, SlateError

from .errors import ModelRetired, SigningUnavailable
from .generate import GeneratedImage, GenerationJob, GenerationRecord, ModelRef, generate
from .loader import LoadedModel
from .signing import SigningClient

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
#: generated, but signing stayed unavailable: the job is left to be claimed again
DEFERRED = "deferred"
#: generated and handed over, but Slate's output review held the image for a person, or
#: refused it: the worker's part is done either way (nothing to retry, nothing to report)
HELD = "held_for_review"
REFUSED = "output_refused"
#: what Slate's signing answer says of an image it did not sign at once (its review's status)
_REVIEWED = {"held": HELD, "refused": REFUSED, "rejected": REFUSED}


class ModelLookup(Protocol):
    """The registry's current view of a model (so a model retired after queueing is seen)."""

    def current(self, name: str, version: str) -> ModelRef: ...


@dataclass(frozen=True)
class JobResult:
    job_id: str
    status: str  # "succeeded" | "failed" | "deferred"
    model_identity: str | None = None
    reason: str | None = None
    error: str | None = None  # the SlateError's class name, for machines
    record: GenerationRecord | None = None
    receipt: Mapping[str, Any] | None = None
    #: False when the image was one this process had kept from an earlier, unsigned run
    generated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The worker did its part: the image was signed, or handed to Slate's output review."""
        return self.status in (SUCCEEDED, HELD, REFUSED)

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status,
                "model_identity": self.model_identity, "reason": self.reason,
                "error": self.error, "generated": self.generated,
                "record": self.record.to_dict() if self.record else None,
                "receipt": dict(self.receipt) if self.receipt is not None else None}


class UnsignedImages:
    """Images generated but not yet signed, by job, so that a signing outage never costs a
    second generation in this process. Kept only for the same job (prompt, settings and
    approved weights) and the same loaded weights; the oldest are dropped beyond ``limit``.
    Safe to share between worker threads."""

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._images: OrderedDict[str, tuple[GenerationJob, str, GeneratedImage]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._images)

    def get(self, job: GenerationJob, weights_hash: str) -> GeneratedImage | None:
        with self._lock:
            kept = self._images.get(job.job_id)
        if kept is None or kept[0] != job or kept[1] != weights_hash:
            return None
        return kept[2]

    def keep(self, job: GenerationJob, weights_hash: str, image: GeneratedImage) -> None:
        with self._lock:
            self._images[job.job_id] = (job, weights_hash, image)
            self._images.move_to_end(job.job_id)
            while len(self._images) > self.limit:
                self._images.popitem(last=False)

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._images.pop(job_id, None)


def run_job(job: GenerationJob | Mapping[str, Any], loaded: LoadedModel, signer: SigningClient,
            *, models: ModelLookup | None = None, unsigned: UnsignedImages | None = None,
            generation_lock: AbstractContextManager[Any] | None = None) -> JobResult:
    """Check, generate (or take the image ``unsigned`` kept from an earlier run) and sign
    one job. Never raises for a job's own failure.

    ``signer.sign`` is called at most once: whatever retrying signing deserves happens
    inside it. Without ``unsigned``, a deferred job's image is not kept. ``generation_lock``
    is held while generating only, so a job whose signing is being retried does not keep
    another job off the GPU.
    """
    job_id = _job_id_of(job)
    generated = False
    try:
        job = job if isinstance(job, GenerationJob) else GenerationJob.from_dict(job)
        check_model(job, loaded, models)
        image, generated, seconds = _image_for(job, loaded, unsigned, generation_lock or nullcontext())
        receipt = signer.sign(image.png, job.job_id, loaded.weights_hash, gpu_seconds=seconds)
    except SigningUnavailable as exc:
        log.warning("job %s: generated, but not signed: %s", job_id, exc.message)
        return JobResult(job_id=job_id, status=DEFERRED, model_identity=loaded.weights_hash,
                         reason=exc.message, error=type(exc).__name__, generated=generated)
    except Exception as exc:  # noqa: BLE001 - the worker outlives any one job
        if unsigned is not None:
            unsigned.drop(job_id)
        return _failed(job_id, loaded, exc, generated)
    if unsigned is not None:
        unsigned.drop(job.job_id)
    reviewed = _REVIEWED.get(str(receipt.get("status"))) if "outcome" in receipt else None
    if reviewed is not None:
        log.info("job %s: generated; Slate's output review %s it", job.job_id,
                 "held" if reviewed == HELD else "refused")
    return JobResult(job_id=job.job_id, status=reviewed or SUCCEEDED, model_identity=loaded.weights_hash,
                     record=image.record, receipt=receipt, generated=generated)


def _image_for(job: GenerationJob, loaded: LoadedModel, unsigned: UnsignedImages | None,
               generation_lock: AbstractContextManager[Any]) -> tuple[GeneratedImage, bool, float]:
    """The job's image, whether it was generated now (False: kept from an unsigned run), and
    the seconds generating it held the device (the lock held, not the wait for it)."""
    kept = unsigned.get(job, loaded.weights_hash) if unsigned is not None else None
    if kept is not None:
        log.info("job %s: signing the image kept from its earlier, unsigned run", job.job_id)
        return kept, False, 0.0
    with generation_lock:
        started = time.perf_counter()
        image = generate(loaded, job)
        seconds = time.perf_counter() - started
    if unsigned is not None:
        unsigned.keep(job, loaded.weights_hash, image)
    return image, True, seconds


def _failed(job_id: str, loaded: LoadedModel, exc: Exception, generated: bool) -> JobResult:
    if isinstance(exc, SlateError):
        log.warning("job %s failed: %s", job_id, exc.message)
        reason, error = exc.message, type(exc).__name__
    else:
        log.error("job %s failed unexpectedly", job_id, exc_info=exc)
        reason = (f"the generator failed unexpectedly ({type(exc).__name__}); "
                  "the worker log has the details")
        error = "InternalError"
    return JobResult(job_id=job_id, status=FAILED, model_identity=loaded.weights_hash,
                     reason=reason, error=error, generated=generated)


def check_model(job: GenerationJob, loaded: LoadedModel, models: ModelLookup | None = None) -> None:
    """Refuse a job for a retired model or for weights other than the loaded ones."""
    model = models.current(job.model.name, job.model.version) if models else job.model
    if model.status == "retired":
        raise ModelRetired(f"model {model.label} is retired; job {job.job_id} cannot run",
                           hint="resubmit the request for a current model")
    if model.weights_hash != job.model.weights_hash:
        raise ModelIdentityError(
            f"job {job.job_id} was approved for weights {job.model.weights_hash[:12]}… but "
            f"{model.label} is now registered as {model.weights_hash[:12]}…")
    if model.weights_hash != loaded.weights_hash:
        raise ModelIdentityError(
            f"the loaded model's weights ({loaded.weights_hash[:12]}… from {loaded.directory}) "
            f"are not the registered {model.label} ({model.weights_hash[:12]}…)",
            hint="point the worker at the registered model directory, or register these weights")


def _job_id_of(job: GenerationJob | Mapping[str, Any]) -> str:
    if isinstance(job, GenerationJob):
        return job.job_id
    value = job.get("job_id") if isinstance(job, Mapping) else None
    return value if isinstance(value, str) else "(unknown)"

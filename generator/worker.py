"""The worker's unit of work: one approved job in, one signed output (or a reason) out.

``run_job`` never raises for a bad job: whatever goes wrong (an invalid job, a retired
model, weights that are not the registered ones, a refusal from the signing API, an
unexpected library error), the job comes back ``failed`` with a reason a person can act
on, and the worker moves on to the next job. Checks run before generation, so a job that
cannot be signed costs no GPU time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from governance.errors import ModelIdentityError, SlateError

from .errors import ModelRetired, SigningUnavailable
from .generate import GenerationJob, GenerationRecord, ModelRef, generate
from .loader import LoadedModel
from .signing import SigningClient

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"


class ModelLookup(Protocol):
    """The registry's current view of a model (so a model retired after queueing is seen)."""

    def current(self, name: str, version: str) -> ModelRef: ...


@dataclass(frozen=True)
class JobResult:
    job_id: str
    status: str  # "succeeded" | "failed"
    model_identity: str | None = None
    reason: str | None = None
    error: str | None = None  # the SlateError's class name, for machines
    record: GenerationRecord | None = None
    receipt: Mapping[str, Any] | None = None
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status,
                "model_identity": self.model_identity, "reason": self.reason,
                "error": self.error, "attempts": self.attempts,
                "record": self.record.to_dict() if self.record else None,
                "receipt": dict(self.receipt) if self.receipt is not None else None}


def run_job(job: GenerationJob | Mapping[str, Any], loaded: LoadedModel, signer: SigningClient,
            *, models: ModelLookup | None = None, attempts: int = 3,
            backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> JobResult:
    """Check, generate and sign one job; never raises for a job's own failure."""
    job_id = _job_id_of(job)
    try:
        job = job if isinstance(job, GenerationJob) else GenerationJob.from_dict(job)
        check_model(job, loaded, models)
        image = generate(loaded, job)
        receipt, tries = _sign(signer, image.png, job.job_id, loaded.weights_hash,
                               attempts, backoff_s, sleep)
    except SlateError as exc:
        log.warning("job %s failed: %s", job_id, exc.message)
        return JobResult(job_id=job_id, status=FAILED, model_identity=loaded.weights_hash,
                         reason=exc.message, error=type(exc).__name__)
    except Exception as exc:  # the worker outlives any one job
        log.exception("job %s failed unexpectedly", job_id)
        return JobResult(job_id=job_id, status=FAILED, model_identity=loaded.weights_hash,
                         reason=f"the generator failed unexpectedly ({type(exc).__name__}); "
                                "the worker log has the details",
                         error="InternalError")
    return JobResult(job_id=job.job_id, status=SUCCEEDED, model_identity=loaded.weights_hash,
                     record=image.record, receipt=receipt, attempts=tries)


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


def _sign(signer: SigningClient, png: bytes, job_id: str, identity: str, attempts: int,
          backoff_s: float, sleep: Callable[[float], None]) -> tuple[Mapping[str, Any], int]:
    """Sign, retrying transient failures; the job id makes every retry the same request."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return signer.sign(png, job_id, identity), attempt
        except SigningUnavailable as exc:
            if attempt == attempts:
                raise SigningUnavailable(f"signing failed after {attempts} attempts: {exc.message}",
                                         hint=exc.hint) from exc
            log.info("signing job %s: attempt %d failed (%s); retrying", job_id, attempt, exc.message)
            sleep(backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _job_id_of(job: GenerationJob | Mapping[str, Any]) -> str:
    if isinstance(job, GenerationJob):
        return job.job_id
    value = job.get("job_id") if isinstance(job, Mapping) else None
    return value if isinstance(value, str) else "(unknown)"

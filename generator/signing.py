"""What the worker needs from the signing API (one call, ``sign``), and the worker's one
retry layer, which is for that call alone.

The worker never holds Slate's signing key. It holds its own worker key (enrolled and
approved, see ``governance.workers``) and signs a generation receipt for each image
(``generation_receipt``): the job, the image's SHA-256, the weights, seed, scheduler,
steps, size, library versions and device. It posts the PNG with the job id, the identity
of the model it loaded and the receipt; the signing API checks the receipt against the
enrolled key, the job's recorded parameters and the bytes, checks the job is approved and
that the identity matches the registered model the decision named, embeds the
credentials, and records the output. The job id is the idempotency key: signing the same job twice returns the first
output, so resending after a timeout or a lost response never makes a second output.

Where retries live, and why only here:

* ``sign_with_retry`` retries a sign call that failed transiently (``SigningUnavailable``:
  no connection, a timeout, 5xx, 429) with exponential backoff, honouring the API's
  ``Retry-After``, until ``SigningRetry.deadline_s`` has passed. The image is already made,
  so a retry costs an upload, never a generation; and it is safe, because signing is
  idempotent per job.
* Nothing else is retried: not claims, lease extensions or failure reports (the HTTP
  client tries each once), not refusals (any other ``SlateError``: the job is failed once
  with the API's reason), and not whole jobs (the queue's task has no retries).
* When signing is still unavailable at the deadline the worker keeps the image
  (``worker.UnsignedImages``), stops extending its lease and leaves the job claimed; once
  the lease lapses the job is enqueued again (``slate serve``'s requeuer or ``slate
  requeue``) and claimed again, and a worker that still holds the image signs it without
  generating again. A long outage therefore costs at most one generation per outage per
  worker, never three in a row.

The deadline should stay below the lease (three minutes by default): the worker's lease
keeper extends the lease while signing is retried, and a worker that gives up is still
holding a live claim nobody else can take until it lapses.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, TypeVar

from governance.canonical import sha256_hex
from governance.workers.keyfile import WorkerKeyPair
from governance.workers.receipts import REQUIRED_LIBRARIES, Receipt

from .errors import SigningUnavailable

log = logging.getLogger(__name__)


def generation_receipt(key: WorkerKeyPair, image_png: bytes, job_id: str, model_identity: str,
                       environment: Mapping[str, Any]) -> str:
    """The receipt for one image, signed by this worker's key, as the signing API takes it.

    ``environment`` is the job's pixel environment (``service._job_environment``): its seed,
    steps, size and scheduler are the job's as the worker ran it, its libraries and device
    the worker's own.
    """
    libraries = environment.get("libraries") or {}
    width, height = environment["size"]
    receipt = Receipt(job_id=job_id, image_sha256=sha256_hex(image_png), weights_sha256=model_identity,
                      seed=environment["seed"], scheduler=environment["scheduler"], steps=environment["steps"],
                      width=width, height=height,
                      libraries={name: str(libraries.get(name, "absent")) for name in REQUIRED_LIBRARIES},
                      device=dict(environment.get("device") or {}), key_id=key.key_id)
    return key.sign(receipt).text()

T = TypeVar("T")


class SigningClient(Protocol):
    def sign(self, image_png: bytes, job_id: str, model_identity: str,
             gpu_seconds: float = 0.0) -> Mapping[str, Any]:
        """Sign one output; return the signing API's receipt (the ledger's output).
        ``gpu_seconds``: the time generating it held the device, counted against its
        production's budget (0 for an image kept from an earlier run: already measured).

        Raise ``errors.SigningUnavailable`` when signing stayed unavailable (the client has
        done its retrying by then) and another ``SlateError`` for a refusal (identity
        mismatch, job not approved, claim lost).
        """
        ...


@dataclass(frozen=True)
class SigningRetry:
    """How long, and how often, one image's signing is tried while the API is away.

    Waits ``first_delay_s``, then twice as long each time up to ``max_delay_s`` (or
    longer when the API's ``Retry-After`` asks), and starts no attempt whose wait would
    end after ``deadline_s`` from the first attempt; ``deadline_s=0`` tries once. The last
    attempt may still run for one request timeout past the deadline.
    """

    deadline_s: float = 120.0
    first_delay_s: float = 1.0
    max_delay_s: float = 20.0

    def __post_init__(self) -> None:
        if self.deadline_s < 0 or self.first_delay_s <= 0 or self.max_delay_s < self.first_delay_s:
            raise ValueError("SigningRetry needs deadline_s >= 0 and 0 < first_delay_s <= max_delay_s")

    def delay_s(self, failed_attempts: int, retry_after_s: float | None = None) -> float:
        """The wait after ``failed_attempts`` attempts (1, 2, ...) have failed."""
        backoff = min(self.max_delay_s, self.first_delay_s * 2.0 ** (failed_attempts - 1))
        return max(backoff, retry_after_s or 0.0)


def sign_with_retry(attempt: Callable[[], T], job_id: str, policy: SigningRetry, *,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``attempt`` (one sign request for ``job_id``) until it succeeds, is refused, or
    the policy's deadline leaves no room for another try.

    Returns what ``attempt`` returns. Raises whatever refusal ``attempt`` raises, at once;
    and ``SigningUnavailable`` naming the job, the attempts and the time spent, from the
    last transient failure, when the deadline has passed.
    """
    started = clock()
    failed = 0
    while True:
        try:
            return attempt()
        except SigningUnavailable as exc:
            failed += 1
            wait = policy.delay_s(failed, exc.retry_after_s)
            spent = clock() - started
            if spent + wait > policy.deadline_s:
                raise SigningUnavailable(
                    f"{exc.message} (signing job {job_id}: gave up after {failed} attempt(s) over {spent:.0f} s)",
                    hint="the image is kept; the job is claimed again once its lease lapses",
                    retry_after_s=exc.retry_after_s) from exc
            log.info("signing job %s: attempt %d failed (%s); trying again in %.1f s",
                     job_id, failed, exc.message, wait)
            sleep(wait)

"""The reproduction audit: make a signed output's recorded job again and compare the result
with the pixels the ledger points at.

Generation is deterministic for a given prompt, seed, parameters, weights and pixel
environment (``Job.environment``: device, dtype, torch threads, library versions), so a
credential's "this model made this image" can be checked by making it again. The
generator plugs in through the ``slate.worker`` entry point (``governance.plugins``): the
object it names runs queued jobs when called, and its ``reproduce(spec, environment)``
makes a recorded job's PNG in this process. Governance never imports it.

Verdicts, from the decoded pixels of the ledger's file and of the new image:

- ``reproduced``: every pixel identical (the file Slate signed embeds the generator's
  pixels plus the output's invisible watermark, which is deterministic: the new image gets
  the same watermark again before the comparison, ``as_signed``). ``png_identical`` also says whether the
  new PNG's bytes are the very bytes the worker's receipt stated.
- ``close``: the mean absolute difference per 8-bit channel value is at most
  ``CLOSE_AT_MOST`` (reported as ``distance``). Another device class or BLAS build changes
  float sums in the last bits, which after the autoencoder and 8-bit rounding moves pixels
  by a level or two; another image of the same model (another seed or prompt) differs by
  tens of levels on average. A mean, unlike a perceptual hash, is exact to compute, needs
  no tuning per image size and is as sensitive to a small local edit as its area is.
- ``differs``: anything else, a different size, or no readable file.

Each result is a ``Reproduction`` row and an audit entry naming the output, job, worker and
verdict; a ``differs`` takes the output out of good standing (``provenance.standing``).
The prompt goes to the generator and nowhere else: not into the answer, the row, the audit
entry, a log line or an error message.

This module's audit runs where it is asked for, on the generator installed in that
process; ``sampling`` has a sample of outputs made again by a *different* worker.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Protocol

from PIL import Image, ImageChops, ImageStat

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..credentials import softbinding
from ..db import transaction
from ..errors import ConfigurationError, Forbidden, InvalidInput, NotFound, SlateError
from ..jobs.tables import Job
from ..ledger.bindings import bound_output
from ..ledger.tables import Output, Reproduction
from ..plugins import load_plugin
from ..policy.tables import GenerationRequest
from ..principal import Principal
from ..registry.tables import Model
from ..workers.receipts import SignedReceipt
from . import params as generation

REPRODUCED, CLOSE, DIFFERS = "reproduced", "close", "differs"
VERDICTS = (REPRODUCED, CLOSE, DIFFERS)
#: the largest mean absolute difference per 8-bit channel value still called ``close``
CLOSE_AT_MOST = 2.0
#: who may ask for an audit: it re-runs a prompt they may not read, on a generator
AUDITORS = ("legal", "auditor")
WORKER_GROUP = "slate.worker"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Reproducer(Protocol):
    """What the generator's ``reproduce`` is: a recorded job's spec (as a claim hands it
    over) and its pixel environment in, the generator's PNG bytes out."""

    def __call__(self, spec: Mapping[str, Any], environment: Mapping[str, Any] | None) -> bytes: ...


@dataclass(frozen=True)
class Comparison:
    verdict: str
    #: mean absolute difference per 8-bit channel value; None where it cannot be measured
    distance: float | None
    reason: str


@dataclass(frozen=True)
class ReproductionResult:
    output: str
    job_id: str
    worker: str | None
    verdict: str
    distance: float | None
    close_at_most: float
    reason: str
    #: the new PNG's bytes are exactly those the worker's receipt stated (None: no receipt)
    png_identical: bool | None
    #: the ledger's file still hashes to the output's SHA-256
    file_matches_ledger: bool
    requested_by: str
    at: datetime
    #: the worker whose generator made the image again; None: the server's own
    reproduced_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pixels(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        image.load()
    return image.convert("RGB")


def compare(recorded: bytes | None, made: bytes) -> Comparison:
    """``recorded`` (the ledger's file; None if it could not be read) against ``made``."""
    if recorded is None:
        return Comparison(DIFFERS, None, "the ledger's file for this output could not be read")
    try:
        old = _pixels(recorded)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Comparison(DIFFERS, None, "the ledger's file for this output is not a readable image")
    new = _pixels(made)
    if old.size != new.size:
        return Comparison(DIFFERS, None, f"the ledger's image is {old.size[0]}x{old.size[1]}, the recorded job "
                                         f"makes {new.size[0]}x{new.size[1]}")
    difference = ImageChops.difference(old, new)
    if difference.getbbox() is None:
        return Comparison(REPRODUCED, 0.0, "the recorded job makes exactly the ledger's pixels")
    means = ImageStat.Stat(difference).mean
    distance = round(sum(means) / len(means), 4)
    if distance <= CLOSE_AT_MOST:
        return Comparison(CLOSE, distance, f"the recorded job makes pixels within {distance} of the ledger's "
                                           f"(mean absolute difference; close is at most {CLOSE_AT_MOST})")
    return Comparison(DIFFERS, distance, f"the recorded job makes other pixels than the ledger's: mean absolute "
                                         f"difference {distance} (close is at most {CLOSE_AT_MOST})")


def as_signed(sha256: str, made: bytes) -> bytes:
    """The generator's image as Slate signed output ``sha256``: with the output's watermark
    embedded again (deterministic, so an honest reproduction matches pixel for pixel).
    Unchanged for an output signed without one, or an image that does not decode (which
    ``compare`` then reports)."""
    binding = bound_output(sha256)
    if binding is None or not binding.watermark_id:
        return made
    try:
        return softbinding.rebind(made, binding.watermark_id, max_pixels=40_000_000)
    except SlateError:
        return made


def load_reproducer() -> Reproducer:
    """The installed generator's ``reproduce``; ``ConfigurationError`` where there is none."""
    worker = load_plugin(WORKER_GROUP, "reproducing an output")
    reproduce = getattr(worker, "reproduce", None)
    if not callable(reproduce):
        raise ConfigurationError("the generator installed here cannot reproduce outputs",
                                 hint="upgrade Slate's generator extra on this host")
    return reproduce  # type: ignore[no-any-return]


def check_sha256(sha256: str) -> str:
    """An output's SHA-256 as the ledger keys it; ``InvalidInput`` (never echoing it) otherwise."""
    value = sha256.strip().lower() if isinstance(sha256, str) else ""
    if not _SHA256.fullmatch(value):
        raise InvalidInput("an output is named by the SHA-256 of its signed file: 64 hexadecimal digits")
    return value


def job_spec(job: Job) -> dict[str, Any]:
    """The recorded job as the generator takes it (the prompt included: for it alone)."""
    request: GenerationRequest = job.request
    model: Model = request.model
    return {"job_id": job.id, "prompt": request.prompt, "params": generation.recorded(job.params),
            "model": {"ref": f"{model.name}:{model.version}", "name": model.name, "version": model.version,
                      "weights_hash": model.weights_hash, "path": model.path}}


def read_file(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def stated_sha256(output: Output) -> str | None:
    """The image SHA-256 the worker's receipt stated for ``output`` (None: no readable receipt)."""
    if not output.receipt:
        return None
    try:
        return SignedReceipt.from_text(output.receipt).receipt.image_sha256
    except SlateError:
        return None


def reproduce_output(sha256: str, by: Principal, reproducer: Reproducer | None = None) -> ReproductionResult:
    """Make output ``sha256``'s recorded job again and record how it compares (``compare``).

    Only legal and auditors may (``Forbidden``); an unknown output or one without its job
    is ``NotFound``; a generator failure raises its ``SlateError`` and records nothing.
    """
    if not by.has_any(AUDITORS):
        raise Forbidden("a reproduction audit needs one of the roles: " + ", ".join(AUDITORS))
    sha256 = check_sha256(sha256)
    output = Output.get_or_none(Output.sha256 == sha256)
    job = Job.get_or_none(Job.id == output.job_id) if output is not None else None
    if output is None or job is None:
        raise NotFound("the ledger holds no output with that SHA-256 and a recorded job")
    made = (reproducer or load_reproducer())(job_spec(job), job.environment)
    recorded = read_file(output.file_path)
    comparison = compare(recorded, as_signed(sha256, made))
    stated = stated_sha256(output)
    result = ReproductionResult(
        output=sha256, job_id=job.id, worker=job.worker, verdict=comparison.verdict,
        distance=comparison.distance, close_at_most=CLOSE_AT_MOST, reason=comparison.reason,
        png_identical=None if stated is None else stated == sha256_hex(made),
        file_matches_ledger=recorded is not None and sha256_hex(recorded) == sha256,
        requested_by=by.name, at=utcnow())
    with transaction():
        Reproduction.create(output_sha256=sha256, job_id=job.id, worker=job.worker, requested_by=by.name,
                            verdict=result.verdict, distance=result.distance, reason=result.reason, at=result.at)
        record("output.reproduction_audited", f"output:{sha256}",
               {"job": job.id, "worker": job.worker, "verdict": result.verdict, "distance": result.distance,
                "png_identical": result.png_identical, "file_matches_ledger": result.file_matches_ledger},
               actor=by.name)
    return result


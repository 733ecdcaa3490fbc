"""Sampled reproductions on another worker: checking the worker, not only the ledger.

A reproduction on the server's own generator (``reproduction``) finds a ledger pointed at
other pixels, but a worker host that made an image some other way and receipted it is
caught only by a *different* worker making the recorded job again. With sampling on
(``Settings.reproduction_sample_rate``), signing draws each new output with that
probability (``draw``: the operating system's randomness, so no worker can tell in advance
which of its outputs will be checked) and leaves a ``ReproductionSample`` row, in the
signing transaction:

1. ``waiting``: a queue message tells the workers; any worker *other than the one that
   made the output* claims it (``claim_sample``: one conditional UPDATE under a lease, as
   jobs are claimed). The original worker is never handed its own output; a lapsed lease
   returns the sample to the others.
2. ``claimed``: the claiming worker makes the recorded job again in the recorded pixel
   environment and posts the PNG with a receipt its own approved key signed
   (``record_result``, checked as signing checks receipts).
3. ``done``: the server compares the pixels with the ledger's file
   (``reproduction.compare``) and keeps a ``Reproduction`` row naming both workers.

A ``differs`` flags the output (its latest audit, ``provenance.standing.reproduction_holds``)
and the worker that made it (``provenance.standing.worker_not_flagged``: every output of a flagged worker is reported
not in good standing until legal or an auditor re-audits the disputed output on the
server's generator and it reproduces), with audit entries for both. A reproducing worker
that lies can therefore raise a false alarm, which the server's own reproduction settles;
it cannot clear one, because only a later audit of the same output does.

The prompt reaches the claiming worker (it must, to make the image) and nowhere else.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

import peewee

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..credentials.pixels import check_layout
from ..db import transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..jobs.tables import Job
from ..ledger.tables import Output, Reproduction, ReproductionSample
from . import params as generation
from . import reproduction
from .receipts import check_receipt

WAITING, CLAIMED, DONE = "waiting", "claimed", "done"
#: how long a claiming worker holds a sample before another may take it
LEASE = timedelta(minutes=5)
#: who a sampled reproduction was requested by, in its ``Reproduction`` row and audit entry
REQUESTED_BY = "slate-sampling"
#: ``draw``'s resolution: a rate is honoured to one part in a million
_SCALE = 1_000_000


def check_rate(rate: float) -> float:
    """A sampling rate is a probability; anything else is a configuration mistake."""
    if not 0.0 <= rate <= 1.0:
        raise InvalidInput(f"a reproduction sampling rate is between 0 and 1, not {rate}",
                           hint="set SLATE_REPRODUCTION_SAMPLE_RATE to e.g. 0.05 for one output in twenty")
    return rate


def draw(rate: float) -> bool:
    """Whether this output is sampled: unpredictable to workers (``secrets``), exact at 0 and 1."""
    return secrets.randbelow(_SCALE) < round(check_rate(rate) * _SCALE)


@dataclass(frozen=True, repr=False)
class SampleSpec:
    """What a claiming worker needs: the recorded job (prompt included) and its pixel environment."""

    sample_id: str
    output_sha256: str
    spec: dict[str, Any]
    environment: dict[str, Any] | None
    lease_expires_at: datetime
    lease_s: int

    def __repr__(self) -> str:  # never the prompt
        return f"SampleSpec({self.sample_id}, output={self.output_sha256[:12]})"

    def to_dict(self) -> dict[str, Any]:
        return {"sample_id": self.sample_id, "output_sha256": self.output_sha256, **self.spec,
                "environment": self.environment, "lease_expires_at": self.lease_expires_at,
                "lease_s": self.lease_s}


def sample_output(output_sha256: str, job: Job, worker: str) -> str:
    """Leave ``output_sha256`` waiting for a reproduction on another worker; in the caller's
    (signing) transaction. Returns the sample's id."""
    sample_id = "rs_" + uuid.uuid4().hex
    ReproductionSample.create(id=sample_id, output_sha256=output_sha256, job_id=job.id, original_worker=worker,
                              status=WAITING, created_at=utcnow())
    record("output.sampled_for_reproduction", f"output:{output_sha256}",
           {"sample": sample_id, "job": job.id, "worker": worker})
    return sample_id


def _open(worker: str, now: datetime) -> peewee.Expression:
    """Samples ``worker`` may take: waiting, or claimed under a lapsed lease; never its own."""
    return (ReproductionSample.original_worker != worker) & (
        (ReproductionSample.status == WAITING)
        | ((ReproductionSample.status == CLAIMED) & (ReproductionSample.lease_expires_at < now)))


def device_class(environment: Mapping[str, Any] | None) -> str | None:
    """The device class (``cpu``, ``cuda``, ``mps``) a pixel environment or receipt records."""
    device = (environment or {}).get("device")
    kind = device.get("type") if isinstance(device, Mapping) else None
    return str(kind) if kind else None


def claim_sample(worker: str, lease: timedelta = LEASE, device: str | None = None) -> SampleSpec | None:
    """Take the oldest sample ``worker`` may reproduce on its ``device`` class; None when there
    is none. Pixels made on another device class differ in their last bits, so a worker is
    handed only outputs made on its own class (when it says which it has).

    One conditional UPDATE per candidate takes it, so two workers racing for one sample
    cannot both win.
    """
    now = utcnow()
    candidates = (ReproductionSample.select(ReproductionSample.id, Job.environment)
                  .join(Job, on=(Job.id == ReproductionSample.job_id)).where(_open(worker, now))
                  .order_by(ReproductionSample.created_at, ReproductionSample.id).limit(50).dicts())
    rows: list[dict[str, Any]] = list(candidates)  # type: ignore[arg-type]  # .dicts() rows
    for candidate in rows:
        if device is not None and device_class(candidate["environment"]) not in (None, device):
            continue
        with transaction():
            taken = (ReproductionSample.update(status=CLAIMED, claimed_by=worker, lease_expires_at=now + lease,
                                               attempts=ReproductionSample.attempts + 1)
                     .where((ReproductionSample.id == candidate["id"]) & _open(worker, now)).execute())
            if not taken:
                continue
            sample = ReproductionSample.get_by_id(candidate["id"])
            job = Job.get_or_none(Job.id == sample.job_id)
            if job is None:  # the job is gone: nothing can be made again; close it
                sample.status, sample.finished_at = DONE, now
                sample.save()
                continue
            record("output.reproduction_claimed", f"output:{sample.output_sha256}",
                   {"sample": sample.id, "job": job.id, "worker": worker}, actor=worker)
            return SampleSpec(sample.id, sample.output_sha256, reproduction.job_spec(job),
                              dict(job.environment) if job.environment else None, now + lease,
                              int(lease.total_seconds()))
    return None


def _held(sample_id: str, worker: str) -> ReproductionSample:
    sample = ReproductionSample.get_or_none(ReproductionSample.id == sample_id) \
        if isinstance(sample_id, str) and len(sample_id) <= 100 else None
    if sample is None:
        raise NotFound("no reproduction sample has that id")
    if sample.status != CLAIMED or sample.claimed_by != worker or sample.lease_expires_at < utcnow():
        raise Conflict("this reproduction sample is not held by you under a live lease",
                       hint="claim a sample with POST /api/v1/reproductions/claim and post its image before "
                            "the lease lapses")
    return sample


def record_result(sample_id: str, image: bytes, receipt_text: str, worker: str) -> reproduction.ReproductionResult:
    """Compare the image ``worker`` made for a sample it holds with the ledger's pixels.

    Refused, with nothing recorded: a sample it does not hold (``Conflict``), a receipt that
    does not hold for this image and the recorded job (as signing refuses one), an image
    that is not a PNG of the job's size (``InvalidInput``).
    """
    sample = _held(sample_id, worker)
    job = Job.get_by_id(sample.job_id)
    signed = check_receipt(job, image, receipt_text, worker)
    made_on, recorded_on = device_class(signed.receipt.to_dict()), device_class(job.environment)
    if made_on and recorded_on and made_on != recorded_on:
        # not evidence either way: release it to a worker of the output's own class
        (ReproductionSample.update(status=WAITING, claimed_by=None, lease_expires_at=None)
         .where((ReproductionSample.id == sample.id) & (ReproductionSample.claimed_by == worker)).execute())
        raise Conflict(f"this sample was made on a {recorded_on} device and your image on {made_on}: pixels from "
                       "another device class are not conclusive, so nothing is recorded",
                       hint="claim samples with your device class: POST /api/v1/reproductions/claim {device}")
    params = generation.recorded(job.params)
    check_layout(image, job.id, params["width"], params["height"])
    output = Output.get(Output.sha256 == sample.output_sha256)
    recorded_bytes = reproduction.read_file(output.file_path)
    comparison = reproduction.compare(recorded_bytes, reproduction.as_signed(sample.output_sha256, image))
    now = utcnow()
    result = reproduction.ReproductionResult(
        output=sample.output_sha256, job_id=job.id, worker=sample.original_worker, verdict=comparison.verdict,
        distance=comparison.distance, close_at_most=reproduction.CLOSE_AT_MOST, reason=comparison.reason,
        png_identical=reproduction.stated_sha256(output) == sha256_hex(image),
        file_matches_ledger=recorded_bytes is not None and sha256_hex(recorded_bytes) == sample.output_sha256,
        requested_by=REQUESTED_BY, at=now, reproduced_by=worker)
    with transaction():
        done = (ReproductionSample.update(status=DONE, verdict=result.verdict, finished_at=now, lease_expires_at=None)
                .where((ReproductionSample.id == sample.id) & (ReproductionSample.status == CLAIMED)
                       & (ReproductionSample.claimed_by == worker)).execute())
        if not done:
            raise Conflict("this reproduction sample was finished or taken by another worker meanwhile")
        Reproduction.create(output_sha256=sample.output_sha256, job_id=job.id, worker=sample.original_worker,
                            requested_by=REQUESTED_BY, verdict=result.verdict, distance=result.distance,
                            reason=result.reason, at=now, reproduced_by=worker, receipt=signed.text())
        record("output.reproduction_audited", f"output:{sample.output_sha256}",
               {"job": job.id, "worker": sample.original_worker, "reproduced_by": worker, "sample": sample.id,
                "verdict": result.verdict, "distance": result.distance, "png_identical": result.png_identical,
                "file_matches_ledger": result.file_matches_ledger, "receipt_sha256": signed.sha256},
               actor=worker)
        if result.verdict == reproduction.DIFFERS:
            record("worker.flagged", f"worker:{sample.original_worker}",
                   {"output": sample.output_sha256, "job": job.id, "reproduced_by": worker, "sample": sample.id,
                    "distance": result.distance}, actor=worker)
    return result


def waiting_samples(older_than: timedelta = timedelta(0)) -> list[str]:
    """Samples waiting (or under a lapsed lease) that the workers were not told of within
    ``older_than``: what the requeuer tells them about again, each at most once per
    ``older_than`` (in a fleet with one generator user a sample waits for good; its
    messages must not grow with it). Marks them sent."""
    now = utcnow()
    due = ((ReproductionSample.last_sent_at.is_null() & (ReproductionSample.created_at <= now - older_than))
           | (ReproductionSample.last_sent_at <= now - older_than))
    rows = [r.id for r in ReproductionSample.select(ReproductionSample.id)
            .where(due & ((ReproductionSample.status == WAITING)
                          | ((ReproductionSample.status == CLAIMED) & (ReproductionSample.lease_expires_at < now))))]
    if rows:
        with transaction():
            ReproductionSample.update(last_sent_at=now).where(ReproductionSample.id.in_(rows)).execute()
    return rows

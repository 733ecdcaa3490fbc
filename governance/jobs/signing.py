"""Signing a worker's image for its job: identity check, credential, ledger, job state,
audit entry, all in one transaction, and idempotent per job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict
from ..ledger.tables import Output
from . import flow
from .tables import Job


def sign_job(issuer: Any, job_id: str, image: bytes, model_identity: str, environment: dict[str, Any],
             worker: str) -> tuple[Output, bool]:
    """Returns (ledger row, created). A job that already has its output returns that output."""
    signed_path: str | None = None
    try:
        with transaction():
            # lock the job first (SQLite: the write lock; PostgreSQL: the row lock) so two
            # retries of one job can never both sign: the second waits, then finds the output
            Job.update(updated_at=utcnow()).where(Job.id == job_id).execute()
            job = flow.get_job(job_id)
            if job.status == "succeeded" and job.output_sha256:
                return Output.get(Output.sha256 == job.output_sha256), False
            if job.status in ("failed", "blocked"):
                raise Conflict(f"job {job.id} is {job.status}: {job.failure_reason or 'no reason recorded'}")
            claim = flow.signing_claim(job, model_identity)
            signed = issuer.sign(image, claim, store=True)
            signed_path = signed.path
            output = signed.to_dict()
            flow.complete_job(job, output, environment, worker)
            return Output.get(Output.sha256 == signed.sha256), True
    except BaseException:
        # the transaction rolled back: the ledger has no row, so no file may remain either
        if signed_path and not Output.select().where(Output.file_path == signed_path).exists():
            Path(signed_path).unlink(missing_ok=True)
        raise

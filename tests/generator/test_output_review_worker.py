"""The real worker against the real API when output review holds its image: a job whose
generated image is a near copy of a registered work (here: the very image, registered
beforehand as a licensed asset) is held for legal, not signed; the worker reports its part
done (``held_for_review``), never a failure, and the job waits for the reviewer."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

from generator.service import process_job, reproduce
from generator.worker import HELD
from governance.jobs.tables import Job, OutputReview
from governance.ledger.tables import Output
from governance.lifecycle.reproduction import job_spec
from governance.registry import assets, licences
from tests import workers

from .live import queued_job


@pytest.mark.slow
def test_an_image_output_review_holds_leaves_the_worker_done_and_the_job_waiting(live, client, studio, cache):
    job_id = queued_job(client, studio.tokens["pat-producer"], seed=5)
    job = Job.get_by_id(job_id)
    made = reproduce(job_spec(job), None)  # what the worker will make for this job, made here first
    licences.add_licence("LIC-FRAMES", "Frame Library", grants=["ai_reference", "previs"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    registered, _ = assets.register_asset(made, media_type="image/png", title="Library frame", licence="LIC-FRAMES")
    token = studio.tokens["gpu-worker"]
    key_dir = workers.enrolled_key_dir(token, Path(tempfile.mkdtemp(prefix="slate-worker-")))
    result = process_job(job_id, api_url=live.url, token=token, key_dir=key_dir, cache=cache)
    assert result["status"] == HELD, result
    review = OutputReview.get(OutputReview.job_id == job_id)
    assert (review.status, review.facts["nearest_asset"]) == ("held", registered["sha256"])
    assert review.facts["nearest_distance"] == 0.0
    assert Job.get_by_id(job_id).status == "awaiting_output_review" and Output.select().count() == 0
    # the worker reported no failure: the job was not failed under it
    assert not live.tap.calls("POST", f"/api/v1/jobs/{job_id}/fail")

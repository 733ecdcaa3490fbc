"""``run_job``'s checks before any GPU time or signing, and the images it keeps unsigned.

Signing itself is tested against the real signing API (test_service.py, test_api_client.py):
no test here asserts what a signer answers. ``NoSigning`` only proves that a refused job
never reaches signing.
"""

from dataclasses import replace

import pytest

from generator.generate import ModelRef, generate
from generator.worker import FAILED, UnsignedImages, run_job


class NoSigning:
    """A job refused before generation must never get here."""

    def sign(self, image_png: bytes, job_id: str, model_identity: str, gpu_seconds: float = 0.0):  # pragma: no cover
        raise AssertionError(f"job {job_id} reached signing")


def test_a_job_for_other_weights_is_refused_before_generation(loaded, job, generations):
    other = replace(job, model=replace(job.model, weights_hash="ab" * 32))
    result = run_job(other, loaded, NoSigning())
    assert result.status == FAILED and result.error == "ModelIdentityError"
    assert "not the registered micro 1" in result.reason
    assert generations == [] and not result.generated


def test_a_job_for_a_retired_model_fails_with_the_reason(loaded, job, generations):
    retired = replace(job, model=replace(job.model, status="retired"))
    result = run_job(retired, loaded, NoSigning())
    assert result.status == FAILED and result.error == "ModelRetired"
    assert "micro 1 is retired" in result.reason and generations == []


def test_a_model_retired_after_queueing_is_seen_through_the_registry(loaded, job, generations):
    class Registry:
        def current(self, name: str, version: str) -> ModelRef:
            return replace(job.model, status="retired")

    result = run_job(job, loaded, NoSigning(), models=Registry())
    assert result.error == "ModelRetired" and generations == []


def test_a_malformed_job_fails_without_crashing_the_worker(loaded, registered):
    result = run_job({"job_id": "job-9", "model": vars(registered), "prompt": "x", "seed": 1,
                      "steps": 999}, loaded, NoSigning())
    assert result.status == FAILED and result.error == "InvalidInput"
    assert "steps must be 1..150" in result.reason and result.job_id == "job-9"
    assert run_job("not a job", loaded, NoSigning()).status == FAILED  # type: ignore[arg-type]


def test_an_unexpected_library_error_fails_the_job_with_a_readable_reason(loaded, job, monkeypatch):
    import generator.worker as worker

    def explode(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate ...")

    monkeypatch.setattr(worker, "generate", explode)
    result = run_job(job, loaded, NoSigning())
    assert result.status == FAILED and result.error == "InternalError"
    assert "RuntimeError" in result.reason and "worker log" in result.reason


def test_a_kept_image_is_only_for_the_same_job_and_weights(loaded, job):
    kept = UnsignedImages(limit=2)
    image = generate(loaded, job)
    kept.keep(job, loaded.weights_hash, image)
    assert kept.get(job, loaded.weights_hash) is image
    assert kept.get(replace(job, prompt="another prompt"), loaded.weights_hash) is None
    assert kept.get(replace(job, seed=job.seed + 1), loaded.weights_hash) is None
    assert kept.get(job, "cd" * 32) is None


@pytest.mark.parametrize("limit", [1, 2])
def test_the_oldest_kept_images_are_dropped_beyond_the_limit(loaded, job, limit):
    kept = UnsignedImages(limit=limit)
    image = generate(loaded, job)
    jobs = [replace(job, job_id=f"job-{i}") for i in range(3)]
    for each in jobs:
        kept.keep(each, loaded.weights_hash, image)
    assert len(kept) == limit
    assert [kept.get(j, loaded.weights_hash) is not None for j in jobs] == [False] * (3 - limit) + [True] * limit

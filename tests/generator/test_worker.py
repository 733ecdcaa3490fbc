from dataclasses import replace

from generator.generate import ModelRef, generate
from generator.worker import FAILED, SUCCEEDED, run_job

NO_WAIT = {"sleep": lambda seconds: None}


def test_an_approved_job_is_generated_and_signed_with_the_model_identity(loaded, job, signer):
    result = run_job(job, loaded, signer, **NO_WAIT)
    assert result.status == SUCCEEDED, result.reason
    assert signer.calls == [("job-1", loaded.weights_hash, len(generate(loaded, job).png))]
    assert result.receipt == {"job_id": "job-1", "output_id": "out-1", "bytes": signer.calls[0][2]}
    assert result.record.model_identity == loaded.weights_hash


def test_a_job_for_other_weights_is_refused_before_generation(loaded, job, signer):
    other = replace(job, model=replace(job.model, weights_hash="ab" * 32))
    result = run_job(other, loaded, signer, **NO_WAIT)
    assert result.status == FAILED and result.error == "ModelIdentityError"
    assert "not the registered micro 1" in result.reason
    assert signer.calls == []


def test_the_signing_api_refusing_an_identity_fails_the_job(loaded, job, signer):
    signer.expected_identity = "cd" * 32
    result = run_job(job, loaded, signer, **NO_WAIT)
    assert result.status == FAILED and result.error == "ModelIdentityError"
    assert len(signer.calls) == 1


def test_a_job_for_a_retired_model_fails_with_the_reason(loaded, job, signer):
    retired = replace(job, model=replace(job.model, status="retired"))
    result = run_job(retired, loaded, signer, **NO_WAIT)
    assert result.status == FAILED and result.error == "ModelRetired"
    assert "micro 1 is retired" in result.reason and signer.calls == []


def test_a_model_retired_after_queueing_is_seen_through_the_registry(loaded, job, signer):
    class Registry:
        def current(self, name: str, version: str) -> ModelRef:
            return replace(job.model, status="retired")

    result = run_job(job, loaded, signer, models=Registry(), **NO_WAIT)
    assert result.error == "ModelRetired"


def test_a_malformed_job_fails_without_crashing_the_worker(loaded, registered, signer):
    result = run_job({"job_id": "job-9", "model": vars(registered), "prompt": "x", "seed": 1,
                      "steps": 999}, loaded, signer, **NO_WAIT)
    assert result.status == FAILED and result.error == "InvalidInput"
    assert "steps must be 1..150" in result.reason and result.job_id == "job-9"
    assert run_job("not a job", loaded, signer, **NO_WAIT).status == FAILED  # type: ignore[arg-type]


def test_transient_signing_failures_are_retried_with_the_same_job_id(loaded, job, signer):
    signer.failures_before_success = 2
    result = run_job(job, loaded, signer, **NO_WAIT)
    assert result.status == SUCCEEDED and result.attempts == 3
    assert [c[0] for c in signer.calls] == ["job-1"] * 3


def test_signing_gives_up_after_the_attempts_and_says_so(loaded, job, signer):
    signer.failures_before_success = 5
    result = run_job(job, loaded, signer, attempts=2, **NO_WAIT)
    assert result.status == FAILED and result.error == "SigningUnavailable"
    assert "after 2 attempts" in result.reason


def test_running_a_job_again_returns_the_same_signed_output(loaded, job, signer):
    first, second = run_job(job, loaded, signer, **NO_WAIT), run_job(job, loaded, signer, **NO_WAIT)
    assert first.receipt == second.receipt and len(signer.signed) == 1
    assert first.record.image_sha256 == second.record.image_sha256


def test_an_unexpected_library_error_fails_the_job_with_a_readable_reason(loaded, job, signer,
                                                                         monkeypatch):
    import generator.worker as worker

    def explode(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate ...")

    monkeypatch.setattr(worker, "generate", explode)
    result = run_job(job, loaded, signer, **NO_WAIT)
    assert result.status == FAILED and result.error == "InternalError"
    assert "RuntimeError" in result.reason and "worker log" in result.reason

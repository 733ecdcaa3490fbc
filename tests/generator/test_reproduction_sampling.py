"""Sampled reproductions on a *different* worker, against the real API over HTTP with real
workers, keys and the micro model.

With ``SLATE_REPRODUCTION_SAMPLE_RATE`` at 1, every output signed is left waiting for a
reproduction; the worker that made it is never handed it; another worker claims it, makes
the recorded job again, posts it with its own receipt and Slate compares the pixels. A
``differs`` flags the output and the worker that made it: every output of that worker
loses its good standing in ``/api/v1/verify`` until legal re-audits the disputed output on
the server's generator."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import pytest

from generator.service import reproduce_sample
from governance.audit.tables import AuditEntry
from governance.auth.users import add_user, issue_token
from governance.jobs.tables import Job
from governance.ledger.tables import Output, Reproduction, ReproductionSample
from governance.lifecycle import sampling
from tests import workers
from tests.api.conftest import auth

from .live import PROMPT
from .test_reproduction import signed_output


@pytest.fixture
def sampling_on(app):
    """Every output signed from now on is sampled."""
    settings = app.config["SLATE_SETTINGS"]
    app.config["SLATE_SETTINGS"] = dataclasses.replace(settings, reproduction_sample_rate=1.0)
    yield
    app.config["SLATE_SETTINGS"] = settings


@pytest.fixture
def second_worker(studio) -> tuple[str, str]:
    """Another generator user with its own approved worker key: (token, key folder)."""
    add_user("gpu-worker-2", ["generator"])
    token = issue_token("gpu-worker-2")["token"]
    return token, workers.enrolled_key_dir(token, Path(tempfile.mkdtemp(prefix="slate-worker2-")))


def sign_by_first_worker(live, client, studio, cache, seed: int) -> Output:
    """A job queued through the API, run and signed by gpu-worker over HTTP."""
    return signed_output(live, client, studio, cache, seed=seed)


def verify(client, token: str, data: bytes) -> dict:
    answer = client.post("/api/v1/verify", headers=auth(token), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(data), "out.png", "image/png")})
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.mark.slow
def test_a_sampled_output_is_made_again_by_another_worker_and_reproduces(live, client, studio, cache, sampling_on,
                                                                          second_worker):
    output = sign_by_first_worker(live, client, studio, cache, seed=3)
    [sample] = ReproductionSample.select()
    assert (sample.output_sha256, sample.original_worker, sample.status) == (output.sha256, "gpu-worker", "waiting")
    # the worker that made it is never handed it
    mine = client.post("/api/v1/reproductions/claim", headers=auth(studio.tokens["gpu-worker"]))
    assert mine.status_code == 200 and mine.json["sample"] is None
    assert reproduce_sample(api_url=live.url, token=studio.tokens["gpu-worker"])["status"] == "none"

    token, key_dir = second_worker
    outcome = reproduce_sample(api_url=live.url, token=token, key_dir=key_dir)
    assert outcome == {"sample_id": sample.id, "status": "compared", "verdict": "reproduced"}
    row = Reproduction.get(Reproduction.output_sha256 == output.sha256)
    assert (row.verdict, row.worker, row.reproduced_by, row.requested_by) == \
        ("reproduced", "gpu-worker", "gpu-worker-2", sampling.REQUESTED_BY)
    assert row.receipt and PROMPT not in row.receipt
    assert ReproductionSample.get_by_id(sample.id).status == "done"
    entry = AuditEntry.get(AuditEntry.action == "output.reproduction_audited")
    assert entry.data["reproduced_by"] == "gpu-worker-2" and entry.data["sample"] == sample.id
    assert PROMPT not in str(entry.data)
    assert verify(client, studio.tokens["aud-auditor"], Path(output.file_path).read_bytes())["outcome"] == "verified"


@pytest.mark.slow
def test_a_differs_from_another_worker_flags_the_output_and_every_output_of_its_worker(
        live, client, studio, cache, sampling_on, second_worker):
    first = sign_by_first_worker(live, client, studio, cache, seed=3)
    second = sign_by_first_worker(live, client, studio, cache, seed=4)
    token, _ = second_worker
    claimed = client.post("/api/v1/reproductions/claim", headers=auth(token)).json["sample"]
    assert claimed["output_sha256"] == first.sha256 and claimed["prompt"] == PROMPT
    # what the other worker makes is not the first output's pixels (here: the second output's
    # generator image, with a valid receipt of its own for those bytes)
    other_pixels = _generator_png(second)
    key = workers.approved_key(token)
    receipt = workers.make_receipt(key, first.job_id, other_pixels)
    answer = client.post(f"/api/v1/reproductions/{claimed['sample_id']}/result", headers=auth(token),
                         content_type="multipart/form-data",
                         data={"image": (io.BytesIO(other_pixels), "r.png", "image/png"),
                               "receipt": key.sign(receipt).text()})
    assert answer.status_code == 200, answer.json
    assert (answer.json["verdict"], answer.json["reproduced_by"]) == ("differs", "gpu-worker-2")
    flagged = AuditEntry.get(AuditEntry.action == "worker.flagged")
    assert flagged.subject == "worker:gpu-worker" and flagged.data["output"] == first.sha256

    auditor = studio.tokens["aud-auditor"]
    disputed = verify(client, auditor, Path(first.file_path).read_bytes())
    assert disputed["outcome"] == "revoked"
    assert any("made again by worker gpu-worker-2" in r for r in disputed["checks"]["standing"]["reasons"])
    # the worker is in doubt: its other output loses its standing too, naming why
    sibling = verify(client, auditor, Path(second.file_path).read_bytes())
    assert sibling["outcome"] == "revoked"
    assert any("gpu-worker, is flagged" in r and first.sha256 in r for r in sibling["checks"]["standing"]["reasons"])

    # legal settles it on the server's own generator: the output reproduces, both recover
    settled = client.post(f"/api/v1/outputs/{first.sha256}/reproduce", headers=auth(studio.tokens["lee-legal"]))
    assert settled.status_code == 200 and settled.json["verdict"] == "reproduced", settled.json
    assert verify(client, auditor, Path(first.file_path).read_bytes())["outcome"] == "verified"
    assert verify(client, auditor, Path(second.file_path).read_bytes())["outcome"] == "verified"


def _generator_png(output: Output) -> bytes:
    """The generator's own PNG for ``output`` (its pixels without the manifest): made again here."""
    from generator.service import reproduce
    from governance.lifecycle.reproduction import job_spec
    job = Job.get_by_id(output.job_id)
    return reproduce(job_spec(job), job.environment)


@pytest.mark.slow
def test_a_sample_result_is_refused_without_recording_anything(live, client, studio, cache, sampling_on,
                                                              second_worker):
    output = sign_by_first_worker(live, client, studio, cache, seed=3)
    token, _ = second_worker
    png = _generator_png(output)
    key = workers.approved_key(token)

    def post(sample_id: str, by: str, image: bytes, receipt: str):
        return client.post(f"/api/v1/reproductions/{sample_id}/result", headers=auth(by),
                           content_type="multipart/form-data",
                           data={"image": (io.BytesIO(image), "r.png", "image/png"), "receipt": receipt})

    [sample] = ReproductionSample.select()
    good = key.sign(workers.make_receipt(key, output.job_id, png)).text()
    # not claimed yet: nobody holds it
    assert post(sample.id, token, png, good).status_code == 409
    claimed = client.post("/api/v1/reproductions/claim", headers=auth(token)).json["sample"]
    assert claimed["sample_id"] == sample.id
    # the original worker posting for a sample another holds
    first_key = workers.approved_key(studio.tokens["gpu-worker"])
    theirs = first_key.sign(workers.make_receipt(first_key, output.job_id, png)).text()
    assert post(sample.id, studio.tokens["gpu-worker"], png, theirs).status_code == 409
    # a receipt for other bytes, a receipt by another user's key, no receipt at all
    other = key.sign(workers.make_receipt(key, output.job_id, png + b"x")).text()
    assert post(sample.id, token, png, other).status_code == 403
    assert post(sample.id, token, png, theirs).status_code == 403
    assert post(sample.id, token, png, "").status_code == 422
    # an unknown sample
    assert post("rs_" + "0" * 32, token, png, good).status_code == 404
    assert Reproduction.select().count() == 0
    assert ReproductionSample.get_by_id(sample.id).status == "claimed"
    assert not AuditEntry.select().where(AuditEntry.action == "output.reproduction_audited").exists()
    # and the honest answer still goes through
    assert post(sample.id, token, png, good).json["verdict"] == "reproduced"


def test_with_sampling_off_no_output_is_sampled(app):
    assert app.config["SLATE_SETTINGS"].reproduction_sample_rate == 0.0
    assert not any(sampling.draw(0.0) for _ in range(1000))
    assert all(sampling.draw(1.0) for _ in range(1000))


def test_a_sampling_rate_draws_about_that_share_and_refuses_nonsense():
    drawn = sum(sampling.draw(0.25) for _ in range(20_000))
    assert 4_500 < drawn < 5_500  # 5,000 expected; sd ≈ 61
    from governance.errors import InvalidInput
    with pytest.raises(InvalidInput):
        sampling.draw(1.5)


def test_the_sampling_rate_setting_is_a_probability(tmp_path):
    from governance.errors import ConfigurationError
    from governance.settings import Settings
    base = {"SLATE_HOME": str(tmp_path)}
    assert Settings.from_env(base).reproduction_sample_rate == 0.0
    assert Settings.from_env({**base, "SLATE_REPRODUCTION_SAMPLE_RATE": "0.05"}).reproduction_sample_rate == 0.05
    for bad in ("2", "-0.1", "often"):
        with pytest.raises(ConfigurationError, match="SLATE_REPRODUCTION_SAMPLE_RATE"):
            Settings.from_env({**base, "SLATE_REPRODUCTION_SAMPLE_RATE": bad})


@pytest.mark.slow
def test_a_lapsed_lease_returns_a_sample_to_other_workers_never_to_the_original(live, client, studio, cache,
                                                                               sampling_on, second_worker):
    from datetime import timedelta
    output = sign_by_first_worker(live, client, studio, cache, seed=3)
    add_user("gpu-worker-3", ["generator"])
    taken = sampling.claim_sample("gpu-worker-2", lease=timedelta(0))
    assert taken is not None and taken.output_sha256 == output.sha256 and PROMPT not in repr(taken)
    # its lease has lapsed: the original worker still may not take it, a third worker may
    assert sampling.claim_sample("gpu-worker") is None
    again = sampling.claim_sample("gpu-worker-3")
    assert again is not None and again.sample_id == taken.sample_id
    assert sampling.claim_sample("gpu-worker-2") is None  # held under gpu-worker-3's live lease
    row = ReproductionSample.get_by_id(taken.sample_id)
    assert (row.claimed_by, row.attempts) == ("gpu-worker-3", 2)


@pytest.mark.slow
def test_only_a_worker_of_the_outputs_device_class_reproduces_it(live, client, studio, cache, sampling_on,
                                                                 second_worker):
    output = sign_by_first_worker(live, client, studio, cache, seed=3)
    token, _ = second_worker
    # a GPU worker is not handed an output made on a CPU
    gpu = client.post("/api/v1/reproductions/claim", json={"device": "cuda"}, headers=auth(token))
    assert gpu.status_code == 200 and gpu.json["sample"] is None
    claimed = client.post("/api/v1/reproductions/claim", json={"device": "cpu"}, headers=auth(token)).json["sample"]
    assert claimed["output_sha256"] == output.sha256
    # an image stated as made on another class is not evidence: refused, recorded nowhere, released
    png = Path(output.file_path).read_bytes()
    key = workers.approved_key(token)
    other = key.sign(workers.make_receipt(key, output.job_id, png, device={"type": "cuda"})).text()
    answer = client.post(f"/api/v1/reproductions/{claimed['sample_id']}/result", headers=auth(token),
                         content_type="multipart/form-data",
                         data={"image": (io.BytesIO(png), "r.png", "image/png"), "receipt": other})
    assert answer.status_code == 409 and "another device class" in answer.json["detail"]
    assert Reproduction.select().count() == 0
    assert ReproductionSample.get_by_id(claimed["sample_id"]).status == "waiting"
    assert not AuditEntry.select().where(AuditEntry.action == "worker.flagged").exists()


@pytest.mark.slow
def test_a_waiting_sample_is_told_to_the_workers_again_at_most_once_per_interval(live, client, studio, cache,
                                                                                sampling_on):
    from datetime import timedelta

    from governance.lifecycle.dispatch import requeue_samples
    sign_by_first_worker(live, client, studio, cache, seed=3)
    sent: list[str] = []

    class Queue:
        def enqueue_reproduction(self, sample_id: str) -> None:
            sent.append(sample_id)
    assert requeue_samples(Queue(), timedelta(0)) == 1
    # told once: not again within the interval, however often the requeuer passes
    assert requeue_samples(Queue(), timedelta(minutes=5)) == 0
    assert requeue_samples(Queue(), timedelta(minutes=5)) == 0
    assert len(sent) == 1 and ReproductionSample.get_by_id(sent[0]).last_sent_at is not None

"""A queue that cannot be reached does not fail the request that made a job: the job is
committed, the caller gets it, a warning names the job (never the queue's URL), and the
requeuer sends it once the queue is back."""

from __future__ import annotations

import logging
import socket

import pytest

from governance.jobs.tables import Job
from governance.lifecycle.dispatch import requeue
from governance.settings import Settings
from tests.api.conftest import auth

ASK = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "studio:1",
       "prompt": "a quiet harbour at dusk, wide shot"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def settings(tmp_path):
    return Settings.for_folder(tmp_path, redis_url=f"redis://:queue-sekrit@127.0.0.1:{_closed_port()}/0")


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[str] = []

    def enqueue_generation(self, job_id: str) -> None:
        self.jobs.append(job_id)


def test_a_request_made_while_the_queue_is_down_keeps_its_job_and_is_sent_later(app, studio, caplog):
    caplog.set_level(logging.WARNING)
    answer = app.test_client().post("/api/v1/requests", json=ASK, headers=auth(studio["tokens"]["pat-producer"]))
    assert answer.status_code == 201, answer.get_data(as_text=True)[:300]
    job_id = answer.json["job"]["id"]
    assert Job.get_by_id(job_id).status == "queued"
    warned = [r.getMessage() for r in caplog.records if r.name == "slate.dispatch"]
    assert len(warned) == 1 and job_id in warned[0] and "ConnectionError" in warned[0]
    assert "queue-sekrit" not in caplog.text and "queue-sekrit" not in answer.get_data(as_text=True)

    back = RecordingQueue()
    assert requeue(back) == 1 and back.jobs == [job_id]

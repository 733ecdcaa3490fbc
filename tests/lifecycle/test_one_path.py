"""One path for a request: the CLI, the API and the web form create the same request,
decision and job, and each queues the job it created."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from governance.cli import cli
from governance.jobs.queue import Queue
from governance.jobs.tables import Job
from governance.policy.tables import DecisionRecord, GenerationRequest
from tests.api.conftest import auth

ASK = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "studio:1",
       "prompt": "a quiet harbour at dusk, wide shot",
       "params": {"seed": 7, "steps": 12, "guidance": 5.5, "scheduler": "ddim"}}


def comparable(request: GenerationRequest) -> dict:
    """What the three paths must agree on: everything but ids, times and the idempotency scope."""
    decision = DecisionRecord.get(DecisionRecord.request == request)
    job = Job.get(Job.request == request)
    return {"request": (request.requester, request.production, request.use, request.territory,
                        request.model_id, request.references, request.people, request.prompt_sha256),
            "decision": (decision.outcome, decision.policy_version_id, decision.violations, decision.approvals,
                         decision.duties, decision.inputs_digest != "", decision.records),
            "job": (job.status, job.params, job.decision_id == decision.id)}


@pytest.fixture
def cli_as_slate(app, monkeypatch):
    settings = app.config["SLATE_SETTINGS"]
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    monkeypatch.setenv("SLATE_POLICIES_DIR", str(settings.policies_dir))
    for name in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR", "SLATE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_cli_the_api_and_the_web_form_create_the_same_request_decision_and_job(app, studio, browser,
                                                                                   cli_as_slate):
    queue = Queue(app.config["SLATE_SETTINGS"])
    before = queue.pending()

    by_api = app.test_client().post("/api/v1/requests", json=ASK, headers=auth(studio["tokens"]["pat-producer"]))
    assert by_api.status_code == 201 and by_api.json["status"] == "queued", by_api.json

    by_cli = cli_as_slate("request", "submit", "--requester", "pat-producer", "--production", ASK["production"],
                          "--use", ASK["use"], "--territory", ASK["territory"], "--model", ASK["model"],
                          "--prompt", ASK["prompt"], "--seed", "7", "--steps", "12", "--guidance", "5.5",
                          "--scheduler", "ddim", "--json")
    assert by_cli.exit_code == 0, by_cli.output
    cli_view = json.loads(by_cli.output)
    assert cli_view["status"] == "queued" and cli_view["job"]["status"] == "queued"

    pat = browser("pat-producer")
    pat.get("/requests/new")
    form = {k: v for k, v in ASK.items() if k != "params"} | {"seed": "7", "steps": "12", "guidance": "5.5",
                                                               "scheduler": "ddim"}
    by_web = pat.post("/requests/new", form)
    assert by_web.status_code == 302, by_web.get_data(as_text=True)

    requests = list(GenerationRequest.select().order_by(GenerationRequest.id))
    assert len(requests) == 3
    api_one, cli_one, web_one = (comparable(r) for r in requests)
    assert api_one == cli_one == web_one
    assert api_one["job"][1] == {"seed": 7, "steps": 12, "guidance": 5.5, "width": 128, "height": 128,
                                 "scheduler": "ddim"}
    assert queue.pending() == before + 3  # each path queued the job it created, once
    # the prompt appears in no answer, from any of the three
    for said in (json.dumps(by_api.json), by_cli.output, by_web.get_data(as_text=True)):
        assert ASK["prompt"] not in said


def test_a_request_the_cli_submits_for_someone_who_is_not_a_producer_is_refused(app, studio, cli_as_slate):
    refused = cli_as_slate("request", "submit", "--requester", "lee-legal", "--production", "harbour-lights",
                           "--use", "previs", "--territory", "GB", "--model", "studio:1", "--prompt", "a boat")
    assert refused.exit_code == 5 and "does not have the producer role" in refused.output
    assert GenerationRequest.select().count() == 0

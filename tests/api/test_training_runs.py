"""Training as a governed request, through the API: the policy's training rules with evidence,
legal's approval (four eyes), the worker's claim, progress and attestation, Slate's checks and
countersignature, and the model registered attested."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from governance.audit.tables import AuditEntry
from governance.canonical import canonical_json
from governance.credentials.countersign import verify_countersignature
from governance.errors import CredentialError
from governance.lifecycle import training_runs
from governance.registry import assets, base_models, licences, models_registry, training_sets
from governance.registry.tables import Model, TrainingRun
from governance.workers.keyfile import WorkerKeyPair
from tests import training, workers
from tests.api.conftest import auth
from tests.api.test_flow import png, studio, submit  # noqa: F401  (fixture)

BASE_WEIGHTS = "5d" * 32


@pytest.fixture
def cleared(studio):  # noqa: F811  (the fixture imported above)
    """The demo studio, an approved base, and a set licensed for AI training worldwide."""
    base_models.register_base("sd-tiny", BASE_WEIGHTS, licence="CreativeML OpenRAIL-M",
                              training_data="LAION-5B subset, per the maker's model card", status="approved")
    licences.add_licence("LIC-TRAIN-WW", "The Studio", grants=["ai_training", "concept", "previs"],
                         territories=["WW"], starts_on=date(2020, 1, 1))
    shas = [assets.register_asset(png(10 + i), media_type="image/png", title=f"frame {i}",
                                  licence="LIC-TRAIN-WW")[0]["sha256"] for i in range(3)]
    training_sets.create_training_set("frames-v1", [(s, None) for s in shas])
    return studio


def ask(client, token, **overrides):
    body = {"production": "harbour-lights", "training_set": "frames-v1", "method": "lora", "base": "sd-tiny",
            "territory": "GB", "model": {"name": "harbour-lora", "version": "1"},
            "hyperparameters": {"steps": 20, "rank": 4, "seed": 3}}
    body.update(overrides)
    return client.post("/api/v1/training-runs", json=body, headers=auth(token))


def approved_run(client, t) -> str:
    response = ask(client, t["pat-producer"])
    assert response.status_code == 201, response.json
    uid = response.json["uid"]
    assert client.post(f"/api/v1/training-runs/{uid}/approve", json={}, headers=auth(t["lee-legal"])).status_code == 200
    return uid


def claimed(client, t) -> dict:
    uid = approved_run(client, t)
    response = client.post(f"/api/v1/training-runs/{uid}/claim", headers=auth(t["gpu-worker"]))
    assert response.status_code == 200, response.json
    return response.json


def post_attestation(client, token, uid, posted):
    return client.post(f"/api/v1/training-runs/{uid}/attestation", json=posted, headers=auth(token))


def worker_key(token) -> WorkerKeyPair:
    return workers.approved_key(token)


# ---------------------------------------------------------------- the decision and the approval

def test_a_run_on_a_cleared_set_waits_for_legal_and_a_producer_cannot_approve_it(client, cleared):
    t = cleared.tokens
    response = ask(client, t["pat-producer"])
    assert response.status_code == 201, response.json
    run = response.json
    assert run["status"] == "needs_approval" and run["decision"]["outcome"] == "needs_approval"
    assert [a["rule"] for a in run["decision"]["approvals"]] == ["training-needs-legal"]
    assert run["decision"]["violations"] == []
    refused = client.post(f"/api/v1/training-runs/{run['uid']}/approve", json={}, headers=auth(t["pat-producer"]))
    assert refused.status_code == 403
    assert client.post(f"/api/v1/training-runs/{run['uid']}/claim",
                       headers=auth(t["gpu-worker"])).status_code == 409  # not approved: nothing to claim
    approved = client.post(f"/api/v1/training-runs/{run['uid']}/approve", json={"comment": "set reviewed"},
                           headers=auth(t["lee-legal"]))
    assert approved.status_code == 200 and approved.json["status"] == "queued"
    assert approved.json["approved_by"] == "lee-legal"


def test_an_approved_run_is_queued_once_for_the_workers(client, cleared, settings):
    from governance.jobs.queue import Queue
    from governance.lifecycle.training_runs import requeue_training
    queue = Queue(settings)
    before = queue.pending()
    approved_run(client, cleared.tokens)
    assert queue.pending() == before + 1
    assert requeue_training(queue) == 1 and queue.pending() == before + 2  # a lost message is sent again


def test_legal_cannot_approve_a_run_they_asked_for(client, cleared):
    t = cleared.tokens
    uid = ask(client, t["lee-legal"]).json["uid"]
    response = client.post(f"/api/v1/training-runs/{uid}/approve", json={}, headers=auth(t["lee-legal"]))
    assert response.status_code == 403 and "cannot approve it" in response.json["detail"]
    assert client.post(f"/api/v1/training-runs/{uid}/approve", json={},
                       headers=auth(t["lou-legal"])).json["status"] == "queued"


def test_a_member_not_licensed_for_ai_training_is_refused_naming_it(client, cleared):
    t = cleared.tokens
    # the demo's reference plate is licensed for reference and release uses, not AI training
    training_sets.create_training_set("with-plate", [(cleared.reference_sha256, None)])
    run = ask(client, t["pat-producer"], training_set="with-plate").json
    assert run["status"] == "denied"
    [violation] = run["decision"]["violations"]
    assert violation["rule"] == "training-members-licensed-for-ai-training"
    found = [e["found"] for e in violation["evidence"] if e["path"] == "member"]
    assert found == [f"Harbour plate, dusk ({cleared.reference_sha256[:16]}): licence LIC-NORTHLIGHT-PLATES "
                     + "does not grant ai_training"]
    assert client.post(f"/api/v1/training-runs/{run['uid']}/approve", json={},
                       headers=auth(t["lee-legal"])).status_code == 409


def test_a_person_in_a_member_without_ai_training_consent_is_refused_naming_them(client, cleared):
    t = cleared.tokens
    # Mara Quinn's confirmed consent covers likeness and reference, not AI training
    sha = assets.register_asset(png(40), media_type="image/png", title="Mara on the quay", licence="LIC-TRAIN-WW",
                                people=["Mara Quinn"])[0]["sha256"]
    training_sets.create_training_set("with-mara", [(sha, None)])
    run = ask(client, t["pat-producer"], training_set="with-mara").json
    assert run["status"] == "denied"
    [violation] = run["decision"]["violations"]
    assert violation["rule"] == "training-people-consent-to-ai-training"
    assert [e["found"] for e in violation["evidence"] if e["path"] == "unconsented"] == ["Mara Quinn"]


def test_a_person_of_another_production_is_named_by_number_to_a_producer(client, cleared):
    from governance.registry import people
    people.add_production("northern-line")
    stranger = people.add_person("Nell Ward", productions=["northern-line"])
    sha = assets.register_asset(png(41), media_type="image/png", title="Nell at the depot", licence="LIC-TRAIN-WW",
                                people=["Nell Ward"])[0]["sha256"]
    training_sets.create_training_set("with-nell", [(sha, None)])
    run = ask(client, cleared.tokens["pat-producer"], training_set="with-nell").json
    assert "Nell Ward" not in json.dumps(run)
    [violation] = run["decision"]["violations"]
    assert [e["found"] for e in violation["evidence"] if e["path"] == "unconsented"] == [f"#{stranger['id']}"]


def test_a_failing_member_of_another_production_is_counted_not_named_to_a_producer(client, cleared):
    from governance.registry import people
    people.add_production("secret-show")
    licences.add_licence("LIC-SECRET-REF", "The Studio", grants=["ai_reference"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    secret = assets.register_asset(png(42), media_type="image/png", title="Secret show key art",
                                   licence="LIC-SECRET-REF", production="secret-show")[0]["sha256"]
    training_sets.create_training_set("with-secret", [(secret, None), (cleared.reference_sha256, None)])
    t = cleared.tokens
    run = ask(client, t["pat-producer"], training_set="with-secret").json
    assert run["status"] == "denied"
    shown = json.dumps([run, client.get(f"/api/v1/training-runs/{run['uid']}", headers=auth(t["pat-producer"])).json,
                        client.get("/api/v1/training-runs", headers=auth(t["pat-producer"])).json])
    for leak in ("Secret show key art", secret[:16], "LIC-SECRET-REF"):
        assert leak not in shown
    [violation] = run["decision"]["violations"]
    plate = f"Harbour plate, dusk ({cleared.reference_sha256[:16]}): licence LIC-NORTHLIGHT-PLATES does not grant "
    assert [e["found"] for e in violation["evidence"] if e["path"] == "member"] == [
        plate + "ai_training", "1 member(s) of productions you are not in cannot train a model here"]
    assert run["decision"]["facts"]["trainings"][0]["training"]["members_without_ai_training_count"] == 2
    # legal sees the studio: the same set names both members
    seen_by_legal = ask(client, t["lee-legal"], training_set="with-secret",
                        model={"name": "harbour-lora", "version": "2"}).json
    assert "Secret show key art" in json.dumps(seen_by_legal["decision"]["violations"])


@pytest.mark.parametrize("status", ["restricted", "retired"])
def test_a_base_that_is_not_approved_is_refused_with_evidence(client, cleared, status):
    t = cleared.tokens
    base_models.register_base("web-scrape", "6e" * 32, licence="unknown", training_data="scraped", status="restricted")
    if status == "retired":
        base_models.set_base_status("web-scrape", "retired", "not ours to use")
    run = ask(client, t["pat-producer"], base="web-scrape").json
    assert run["status"] == "denied"
    [violation] = run["decision"]["violations"]
    assert violation["rule"] == "training-base-approved"
    assert violation["evidence"][0]["path"] == "training.base_status" and violation["evidence"][0]["found"] == status


def test_a_producer_of_another_production_cannot_ask_or_see(client, cleared):
    t = cleared.tokens
    from governance.auth.users import add_user, issue_token
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("other-producer", ["producer"], ["northern-line"])
    tokens = {"other-producer": issue_token("other-producer")["token"]}
    response = ask(client, tokens["other-producer"])
    assert response.status_code == 403
    uid = ask(client, t["pat-producer"]).json["uid"]
    assert client.get(f"/api/v1/training-runs/{uid}", headers=auth(tokens["other-producer"])).status_code == 404
    assert client.get("/api/v1/training-runs", headers=auth(tokens["other-producer"])).json == []


@pytest.mark.parametrize("hyperparameters, field", [({"steps": 0}, "steps"), ({"rank": 10_000}, "rank"),
                                                    ({"learning_rate": "fast"}, "learning_rate"),
                                                    ({"epochs": 3}, None)])
def test_out_of_range_or_unknown_hyperparameters_are_a_422_and_record_nothing(client, cleared, hyperparameters,
                                                                             field):
    before = TrainingRun.select().count()
    response = ask(client, cleared.tokens["pat-producer"], hyperparameters=hyperparameters)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    if field:
        assert field in response.json["errors"]
    assert TrainingRun.select().count() == before


# ---------------------------------------------------------------- the worker's side

def test_a_claimed_run_reports_progress_that_the_api_and_the_page_show(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    spec = claim["spec"]
    assert spec["base"] == {"name": "sd-tiny", "weights_hash": BASE_WEIGHTS, "path": None}
    assert spec["training_set"]["size"] == 3 and len(spec["training_set"]["members"]) == 3
    assert {m["licence"] for m in spec["training_set"]["members"]} == {"LIC-TRAIN-WW"}
    assert spec["hyperparameters"]["steps"] == 20 and spec["seed"] == 3 and spec["method"] == "lora"
    response = client.post(f"/api/v1/training-runs/{claim['run']}/progress",
                           json={"step": 5, "total_steps": 20, "loss": 0.25}, headers=auth(t["gpu-worker"]))
    assert response.status_code == 200
    shown = client.get(f"/api/v1/training-runs/{claim['run']}", headers=auth(t["pat-producer"])).json
    assert shown["status"] == "running" and shown["progress"]["step"] == 5 and shown["progress"]["loss"] == 0.25


def test_the_training_runs_page_shows_each_runs_progress_and_refreshes_while_it_runs(app, client, cleared):
    from tests.web.conftest import Browser
    t = cleared.tokens
    claim = claimed(client, t)
    client.post(f"/api/v1/training-runs/{claim['run']}/progress", json={"step": 7, "total_steps": 20, "loss": 0.5},
                headers=auth(t["gpu-worker"]))
    page = Browser(app.test_client())
    page.sign_in(t["pat-producer"])
    html = page.get("/training-runs").get_data(as_text=True)
    assert claim["run"] in html and "step 7 / 20, loss 0.5000" in html and 'data-refresh-seconds="3"' in html
    assert "harbour-lora:1" in html and "frames-v1 (3)" in html


def test_the_cli_asks_approves_and_shows_a_run_as_the_api_does(cleared, settings):
    from click.testing import CliRunner

    from governance.cli import cli
    env = {"SLATE_HOME": str(settings.home)}
    runner = CliRunner()
    asked = runner.invoke(cli, ["model", "train", "--requester", "pat-producer", "--production", "harbour-lights",
                                "--base", "sd-tiny", "--training-set", "frames-v1", "--name", "cli-lora",
                                "--version", "1", "--steps", "30", "--json"], env=env, catch_exceptions=False)
    assert asked.exit_code == 0, asked.output
    run = json.loads(asked.output)
    assert run["status"] == "needs_approval" and run["hyperparameters"]["steps"] == 30
    refused = runner.invoke(cli, ["model", "approve-run", run["uid"], "--by", "pat-producer"], env=env)
    assert refused.exit_code != 0 and "cannot approve it" in refused.output
    approved = runner.invoke(cli, ["model", "approve-run", run["uid"], "--by", "lee-legal"], env=env)
    assert approved.exit_code == 0 and "queued" in approved.output and "approved by lee-legal" in approved.output


def test_another_worker_cannot_post_progress_fail_or_an_attestation(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    from governance.auth.users import add_user, issue_token
    add_user("gpu-two", ["generator"], [])
    other = issue_token("gpu-two")["token"]
    uid = claim["run"]
    assert client.post(f"/api/v1/training-runs/{uid}/progress", json={"step": 1, "total_steps": 20, "loss": 1.0},
                       headers=auth(other)).status_code == 409
    assert client.post(f"/api/v1/training-runs/{uid}/fail", json={"reason": "mine now"},
                       headers=auth(other)).status_code == 409
    posted = training.signed(training.attestation_body(claim), worker_key(other))
    assert post_attestation(client, other, uid, posted).status_code == 409
    assert client.post(f"/api/v1/training-runs/{uid}/claim", headers=auth(other)).status_code == 409
    assert TrainingRun.get(TrainingRun.uid == uid).status == "running" and Model.select().where(
        Model.name == "harbour-lora").count() == 0


def test_an_attested_run_registers_the_model_attested_and_countersigned(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    body = training.attestation_body(claim)
    posted = training.signed(body, worker_key(t["gpu-worker"]))
    response = post_attestation(client, t["gpu-worker"], claim["run"], posted)
    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["model"] == "harbour-lora:1" and answer["weights_hash"] == training.TRAINED_WEIGHTS
    model = models_registry.show_model("harbour-lora:1")
    assert model["attested"] is True and model["training_set"] == "frames-v1"
    run = client.get(f"/api/v1/training-runs/{claim['run']}", headers=auth(t["lee-legal"])).json
    assert run["status"] == "registered" and run["model"]["ref"] == "harbour-lora:1"
    assert run["attestation"]["sha256"] == answer["attestation_sha256"]
    # Slate's countersignature covers exactly the worker's attestation bytes
    verify_countersignature(canonical_json(body), run["attestation"]["slate_signature"])
    with pytest.raises(CredentialError):
        verify_countersignature(canonical_json({**body, "seed": 4}), run["attestation"]["slate_signature"])
    assert AuditEntry.select().where(AuditEntry.action == "training_run.registered").count() == 1
    card = training_runs.model_attestation(models_registry.get_model("harbour-lora:1"))
    assert card["run"] == claim["run"] and card["attestation_sha256"] == answer["attestation_sha256"]
    assert card["approved_by"] == "lee-legal" and card["training_set_root"] == run["training_set"]["merkle_root"]
    # the model card (CLI, API, page) shows the same attestation and the registered base
    shown = client.get("/api/v1/models/harbour-lora:1/card", headers=auth(t["lee-legal"])).json
    assert shown["attestation"]["attestation_sha256"] == answer["attestation_sha256"]
    assert shown["attestation"]["training_set_root"] == run["training_set"]["merkle_root"]
    assert shown["base"]["name"] == run["base"]["name"] and shown["base"]["status"] == "approved"
    models_registry.register_model("typed-in", "1", "9c" * 32, training_set="frames-v1")
    assert training_runs.model_attestation(models_registry.get_model("typed-in:1")) is None
    typed = client.get("/api/v1/models/typed-in:1/card", headers=auth(t["lee-legal"])).json
    assert typed["attestation"] is None and typed["base"]["status"] == "undeclared"


def test_slates_model_signature_is_kept_for_the_attesting_worker_whose_answer_was_lost(client, cleared):
    from governance.auth.users import add_user, issue_token
    t = cleared.tokens
    claim = claimed(client, t)
    uid = claim["run"]
    url = f"/api/v1/training-runs/{uid}/model-signature"
    assert client.get(url, headers=auth(t["gpu-worker"])).status_code == 409  # not registered yet: nothing to give
    body = training.attestation_body(claim)
    answer = post_attestation(client, t["gpu-worker"], uid, training.signed(body, worker_key(t["gpu-worker"]))).json
    # the answer above is lost on the way back: the worker asks again and gets the same signature
    again = client.get(url, headers=auth(t["gpu-worker"]))
    assert again.status_code == 200 and again.json == answer
    assert client.get(url, headers=auth(t["lee-legal"])).json["model_signature"] == answer["model_signature"]
    assert client.get(url, headers=auth(t["aud-auditor"])).status_code == 200
    add_user("gpu-two", ["generator"], [])
    for stranger in (issue_token("gpu-two")["token"], t["pat-producer"]):
        assert client.get(url, headers=auth(stranger)).status_code == 403
    # the shown countersignature is as before: the kept bundle is not repeated in every run view
    shown = client.get(f"/api/v1/training-runs/{uid}", headers=auth(t["lee-legal"])).json
    assert "model_signature" not in shown["attestation"]["slate_signature"]
    verify_countersignature(canonical_json(body), shown["attestation"]["slate_signature"])


def test_a_run_that_read_one_unregistered_file_fails_its_root_check_and_registers_nothing(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    root = training.root_read(claim["spec"]["training_set"]["members"], extra=[("ee" * 32, "LIC-TRAIN-WW")])
    posted = training.signed(training.attestation_body(claim, root=root), worker_key(t["gpu-worker"]))
    response = post_attestation(client, t["gpu-worker"], claim["run"], posted)
    assert response.status_code == 409 and "Merkle root" in response.json["detail"]
    run = TrainingRun.get(TrainingRun.uid == claim["run"])
    assert run.status == "failed" and "nothing was registered" in run.failure and run.model_id is None
    assert Model.select().where(Model.name == "harbour-lora").count() == 0
    assert AuditEntry.select().where(AuditEntry.action == "training_run.failed").count() == 1
    # a failed run takes no second attestation
    good = training.signed(training.attestation_body(claim), worker_key(t["gpu-worker"]))
    assert post_attestation(client, t["gpu-worker"], claim["run"], good).status_code == 409


def _unenrolled(claim, token):
    return training.signed(training.attestation_body(claim), WorkerKeyPair.generate())


def _altered(claim, token):
    posted = training.signed(training.attestation_body(claim), worker_key(token))
    posted["attestation"]["output"]["weights_hash"] = "66" * 32  # other weights, same signature
    return posted


def _other_generators_key(claim, token):
    from governance.auth.users import add_user, issue_token
    add_user("gpu-three", ["generator"], [])
    return training.signed(training.attestation_body(claim), worker_key(issue_token("gpu-three")["token"]))


@pytest.mark.parametrize("forge, detail", [(_unenrolled, "not enrolled"), (_altered, "does not verify"),
                                           (_other_generators_key, "another generator user")])
def test_a_forged_worker_signature_is_refused_and_registers_nothing(client, cleared, forge, detail):
    t = cleared.tokens
    claim = claimed(client, t)
    response = post_attestation(client, t["gpu-worker"], claim["run"], forge(claim, t["gpu-worker"]))
    assert response.status_code == 403 and detail in response.json["detail"]
    assert TrainingRun.get(TrainingRun.uid == claim["run"]).status == "running"
    assert Model.select().where(Model.name == "harbour-lora").count() == 0


@pytest.mark.parametrize("overrides, words", [
    ({"hyperparameters": {"steps": 20, "rank": 64, "seed": 3}}, "hyper-parameters"),
    ({"seed": 99}, "seed 99"),
    ({"method": "full"}, "method full"),
    ({"base": {"name": "sd-tiny", "weights_hash": "00" * 32}}, "base"),
])
def test_an_attestation_of_other_values_than_the_approved_run_is_refused(client, cleared, overrides, words):
    t = cleared.tokens
    claim = claimed(client, t)
    if "hyperparameters" in overrides:
        overrides = {"hyperparameters": {**claim["spec"]["hyperparameters"], "rank": 64}}
    body = training.attestation_body(claim, **overrides)
    posted = training.signed(body, worker_key(t["gpu-worker"]))
    response = post_attestation(client, t["gpu-worker"], claim["run"], posted)
    assert response.status_code == 409 and words in response.json["detail"]
    assert TrainingRun.get(TrainingRun.uid == claim["run"]).status == "running"
    assert Model.select().where(Model.name == "harbour-lora").count() == 0


@pytest.mark.parametrize("posted", [
    {"attestation": {"format": "slate-training-attestation/1"}, "key_id": "ab" * 32, "signature": "AA=="},
    {"attestation": {}, "key_id": "nothex", "signature": "x"},
    {"key_id": "ab" * 32, "signature": "AA=="},
])
def test_a_malformed_attestation_is_a_422_problem(client, cleared, posted):
    t = cleared.tokens
    claim = claimed(client, t)
    response = post_attestation(client, t["gpu-worker"], claim["run"], posted)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert TrainingRun.get(TrainingRun.uid == claim["run"]).status == "running"


@pytest.mark.parametrize("report", [{"step": 21, "total_steps": 20, "loss": 0.1}, {"step": -1, "total_steps": 20,
                                    "loss": 0.1}, {"step": 1, "total_steps": 0, "loss": 0.1},
                                    {"step": 1, "total_steps": 20, "loss": "low"}, {"step": 1.5, "total_steps": 20,
                                                                                    "loss": 0.1}])
def test_progress_out_of_range_is_a_422_and_changes_nothing(client, cleared, report):
    t = cleared.tokens
    claim = claimed(client, t)
    response = client.post(f"/api/v1/training-runs/{claim['run']}/progress", json=report,
                           headers=auth(t["gpu-worker"]))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert TrainingRun.get(TrainingRun.uid == claim["run"]).step is None


def test_a_licence_taken_down_after_approval_fails_the_run_at_its_claim(client, cleared):
    t = cleared.tokens
    uid = approved_run(client, t)
    assert client.post("/api/v1/licences/LIC-TRAIN-WW/takedown", json={"reason": "the licensor withdrew it"},
                       headers=auth(t["lee-legal"])).status_code == 200
    response = client.post(f"/api/v1/training-runs/{uid}/claim", headers=auth(t["gpu-worker"]))
    assert response.status_code == 409 and "no longer cleared" in response.json["detail"]
    run = TrainingRun.get(TrainingRun.uid == uid)
    assert run.status == "failed" and "licensed for AI training" in run.failure


@pytest.mark.parametrize("withdraw", ["licence", "consent"])
def test_a_takedown_or_revocation_while_the_run_trains_fails_it_at_its_attestation(client, cleared, settings,
                                                                                   withdraw):
    from governance.registry import people
    from tests import rights
    t = cleared.tokens
    people.add_person("Ada Lowe", productions=["harbour-lights"])
    consent = rights.grant_consent(settings, "Ada Lowe", uses=["ai_training"], productions=["harbour-lights"],
                                   territories=["WW"], valid_from=date(2020, 1, 1), valid_until=date(2099, 1, 1))
    sha = assets.register_asset(png(43), media_type="image/png", title="Ada on set", licence="LIC-TRAIN-WW",
                                people=["Ada Lowe"])[0]["sha256"]
    training_sets.create_training_set("with-ada", [(sha, None)])
    uid = ask(client, t["pat-producer"], training_set="with-ada").json["uid"]
    assert client.post(f"/api/v1/training-runs/{uid}/approve", json={}, headers=auth(t["lee-legal"])).status_code == 200
    claim = client.post(f"/api/v1/training-runs/{uid}/claim", headers=auth(t["gpu-worker"])).json
    if withdraw == "licence":
        withdrawn = client.post("/api/v1/licences/LIC-TRAIN-WW/takedown", json={"reason": "the licensor withdrew it"},
                                headers=auth(t["lee-legal"]))
    else:
        withdrawn = client.post(f"/api/v1/consents/{consent['id']}/revoke", json={"reason": "Ada withdrew"},
                                headers=auth(t["lee-legal"]))
    assert withdrawn.status_code == 200, withdrawn.json
    posted = training.signed(training.attestation_body(claim), worker_key(t["gpu-worker"]))
    response = post_attestation(client, t["gpu-worker"], uid, posted)
    assert response.status_code == 409 and "no longer cleared" in response.json["detail"]
    run = TrainingRun.get(TrainingRun.uid == uid)
    assert run.status == "failed" and run.model_id is None  # committed: no requeue, no retraining
    assert Model.select().where(Model.name == "harbour-lora").count() == 0


def test_a_second_run_for_a_model_version_in_training_is_refused_at_request_and_approval(client, cleared):
    t = cleared.tokens
    first = approved_run(client, t)
    again = ask(client, t["pat-producer"])
    assert again.status_code == 409 and first in again.json["detail"]
    assert TrainingRun.select().where(TrainingRun.origin == "request").count() == 1
    # a run waiting for approval holds the name too, until it ends
    TrainingRun.update(status="failed").where(TrainingRun.uid == first).execute()
    waiting = ask(client, t["pat-producer"]).json["uid"]
    models_registry.register_model("harbour-lora", "1", "9c" * 32, training_set="frames-v1")
    refused = client.post(f"/api/v1/training-runs/{waiting}/approve", json={}, headers=auth(t["lee-legal"]))
    assert refused.status_code == 409 and "already registered" in refused.json["detail"]
    assert TrainingRun.get(TrainingRun.uid == waiting).status == "needs_approval"


def test_a_run_whose_model_version_was_registered_meanwhile_fails_and_is_not_retrained(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    models_registry.register_model("harbour-lora", "1", "9c" * 32, training_set="frames-v1")
    posted = training.signed(training.attestation_body(claim), worker_key(t["gpu-worker"]))
    response = post_attestation(client, t["gpu-worker"], claim["run"], posted)
    assert response.status_code == 409 and "registered meanwhile" in response.json["detail"]
    run = TrainingRun.get(TrainingRun.uid == claim["run"])
    assert run.status == "failed" and run.model_id is None
    assert models_registry.show_model("harbour-lora:1")["weights_hash"] == "9c" * 32


def test_a_worker_that_fails_its_run_records_why(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    response = client.post(f"/api/v1/training-runs/{claim['run']}/fail", json={"reason": "CUDA out of memory\x1b[31m"},
                           headers=auth(t["gpu-worker"]))
    assert response.status_code == 200 and response.json["status"] == "failed"
    assert response.json["failure"] == "CUDA out of memory [31m"


# ---------------------------------------------------------------- using the model

def test_an_attested_model_passes_final_frame_and_an_unattested_one_is_refused(client, cleared):
    t = cleared.tokens
    claim = claimed(client, t)
    posted = training.signed(training.attestation_body(claim), worker_key(t["gpu-worker"]))
    assert post_attestation(client, t["gpu-worker"], claim["run"], posted).status_code == 200
    models_registry.set_status("harbour-lora:1", "approved")
    attested = submit(client, t["pat-producer"], model="harbour-lora:1", use="final_frame").json
    assert "model-attested-for-release" not in [v["rule"] for v in attested["decision"]["violations"]]
    # a model registered by a typed-in weights hash, on the same cleared set
    models_registry.register_model("typed-in", "1", "9c" * 32, training_set="studio-style-v1")
    models_registry.set_status("typed-in:1", "approved")
    assert models_registry.show_model("typed-in:1")["attested"] is False
    unattested = submit(client, t["pat-producer"], model="typed-in:1", use="final_frame").json
    assert unattested["decision"]["decision"] == "deny"
    [refusal] = [v for v in unattested["decision"]["violations"] if v["rule"] == "model-attested-for-release"]
    assert refusal["evidence"][0] == {"path": "model.attested", "operator": "eq", "found": False, "required": True,
                                      "result": False}
    assert submit(client, t["pat-producer"], model="typed-in:1", use="previs").json["decision"]["decision"] == "allow"


def test_the_bundled_build_registers_its_model_attested_in_process(cleared, settings):
    from governance.credentials.keys import KeyStore
    key = WorkerKeyPair.generate()
    ts = training_sets.show_training_set("frames-v1")
    members = [{"sha256": m["asset"], "licence": m["licence"]} for m in ts["members"]]
    claim = {"run": "bundled", "spec": {"training_set": {"name": "frames-v1", "size": 3, "members": members},
                                        "base": None, "method": "full", "seed": 0,
                                        "hyperparameters": {"steps": 10}}}
    posted = training.signed(training.attestation_body(claim), key)
    registered = training_runs.register_attested_model(
        posted["attestation"], key_id=posted["key_id"], signature=posted["signature"], keys=KeyStore(settings),
        model="slate-bundled:2", public_key=key.public_key)
    assert registered.model == "slate-bundled:2"
    model = models_registry.show_model("slate-bundled:2")
    assert model["attested"] is True
    assert TrainingRun.get(TrainingRun.model == model["id"]).origin == "bundled"
    forged = dict(posted["attestation"], seed=1)
    with pytest.raises(Exception, match="does not verify"):
        training_runs.register_attested_model(forged, key_id=posted["key_id"], signature=posted["signature"],
                                              keys=KeyStore(settings), model="slate-bundled:3",
                                              public_key=key.public_key)


def test_the_attestation_signature_is_base64_ed25519_over_the_canonical_json():
    key = WorkerKeyPair.generate()
    body = {"format": "slate-training-attestation/1", "b": 1, "a": [1, 2]}
    posted = training.signed(body, key)
    key.private_key.public_key().verify(base64.b64decode(posted["signature"]), b'{"a":[1,2],"b":1,'
                                        b'"format":"slate-training-attestation/1"}')
    assert posted["key_id"] == key.key_id

"""The worker's HTTP client against the real API: the worker contract (claim, spec, lease,
sign with the PNG the micro model made, fail) end to end, checked against the API's own
OpenAPI document; every failure translated once into Slate's errors; only signing retried;
the token never shown."""

from __future__ import annotations

import logging
import re
import socket
import threading
from typing import Any, Iterator

import pytest
import requests
from PIL import Image

from generator.dataset import encode_png
from generator.errors import SigningUnavailable
from generator.generate import GenerationJob, generate
from generator.service import SlateApiClient, job_from_spec
from generator.signing import SigningRetry
from governance.auth.users import add_user, issue_token
from governance.errors import ConfigurationError, Conflict, ModelIdentityError, NotFound, SlateError, Unauthorized
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from tests import workers

from .live import PROMPT, Arrived, queued_job

ONCE = SigningRetry(deadline_s=0)
QUICK = SigningRetry(deadline_s=5, first_delay_s=0.01, max_delay_s=0.05)
#: What the worker reads from a claim's answer (generator.service.job_from_spec, process_job).
SPEC_FIELDS = {"job_id", "prompt", "params", "model", "lease_s"}
SPEC_PARAMS = {"seed", "steps", "guidance", "width", "height", "scheduler"}
SPEC_MODEL = {"ref", "name", "version", "weights_hash", "path"}


@pytest.fixture
def worker(live, studio) -> SlateApiClient:
    return SlateApiClient(live.url, studio.tokens["gpu-worker"], signing_retry=QUICK)


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


# -- the contract -------------------------------------------------------------------------


def test_the_worker_contract_against_the_real_api(live, client, studio, worker, loaded, openapi):
    signed_job, failed_job = (queued_job(client, studio.tokens["pat-producer"], seed=s) for s in (3, 4))

    spec = worker.claim(signed_job, lease_s=120)
    assert spec["prompt"] == PROMPT and spec["lease_s"] > 100
    assert SPEC_FIELDS <= set(spec) and SPEC_PARAMS <= set(spec["params"]) and SPEC_MODEL <= set(spec["model"])
    again = worker.job_spec(signed_job)
    assert (again["job_id"], again["prompt"], again["model"]) == (signed_job, PROMPT, spec["model"])
    assert worker.extend_lease(signed_job, lease_s=60)["lease_s"] == 60
    image = generate(loaded, GenerationJob.from_dict(job_from_spec(signed_job, spec)))
    assert image.png.startswith(b"\x89PNG")

    receipt = workers.receipt(studio.tokens["gpu-worker"], signed_job, image.png)
    output = worker.sign(image.png, signed_job, loaded.weights_hash, {"torch_threads": 1}, receipt)
    assert output["job_id"] == signed_job and len(output["sha256"]) == 64
    assert worker.sign(image.png, signed_job, loaded.weights_hash, {"torch_threads": 1}, receipt) == output
    job = Job.get_by_id(signed_job)
    assert (job.status, job.output_sha256, job.environment) == ("succeeded", output["sha256"], {"torch_threads": 1})
    assert Output.select().where(Output.job_id == signed_job).count() == 1

    worker.claim(failed_job)
    failed = worker.fail(failed_job, "the GPU caught fire")
    assert failed["status"] == "failed" and failed["failure_reason"] == "the GPU caught fire"

    sent = [a for a in live.tap.arrived if a.path.startswith("/api/v1/jobs/") or a.path == "/api/v1/sign"]
    assert [(a.method, _template(openapi, a)) for a in sent] == [
        ("POST", "/api/v1/jobs/{job_id}/claim"), ("GET", "/api/v1/jobs/{job_id}/spec"),
        ("POST", "/api/v1/jobs/{job_id}/lease"),
        ("POST", "/api/v1/sign"), ("POST", "/api/v1/sign"),
        ("POST", "/api/v1/jobs/{job_id}/claim"), ("POST", "/api/v1/jobs/{job_id}/fail")]
    for arrived in sent:
        assert arrived.authorized
        _check_against_openapi(openapi, arrived)
    _check_documented_answer(openapi, "/api/v1/jobs/{job_id}/claim", "post", "200", SPEC_FIELDS,
                             {"params": SPEC_PARAMS, "model": SPEC_MODEL})
    _check_documented_answer(openapi, "/api/v1/sign", "post", "201", {"sha256", "job_id"}, {})


def _template(doc: dict[str, Any], arrived: Arrived) -> str:
    for template, operations in doc["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template), arrived.path) \
                and arrived.method.lower() in operations:
            return template
    pytest.fail(f"{arrived.method} {arrived.path} is not an operation of the OpenAPI document")


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _check_against_openapi(doc: dict[str, Any], arrived: Arrived) -> None:
    """The request's body has the media type, and only and all the fields, the document says."""
    operation = doc["paths"][_template(doc, arrived)][arrived.method.lower()]
    content = (operation.get("requestBody") or {}).get("content", {})
    media_type = arrived.content_type.split(";")[0].strip()
    if not arrived.body:
        assert not (operation.get("requestBody") or {}).get("required"), f"{arrived.path} needs a body"
        return
    assert media_type in content, f"{arrived.method} {arrived.path}: sends {media_type}, documented {list(content)}"
    schema = _resolve(doc, content[media_type]["schema"])
    properties, required = dict(schema.get("properties", {})), set(schema.get("required", []))
    if media_type == "application/json":
        sent = arrived.json_fields()
        files: set[str] = set()
    else:
        # form fields may be documented as parameters "in: formData" beside the file's schema
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "formData":
                properties[parameter["name"]] = parameter.get("schema", {})
                required |= {parameter["name"]} if parameter.get("required") else set()
        form, uploaded = arrived.form()
        files, sent = set(uploaded), set(form) | set(uploaded)
    assert sent <= set(properties), f"{arrived.path}: undocumented fields {sent - set(properties)}"
    assert required <= sent, f"{arrived.path}: required fields not sent {required - sent}"
    binary = {name for name, prop in properties.items() if _resolve(doc, prop).get("format") == "binary"}
    assert files == binary & sent, f"{arrived.path}: files {files}, documented as files {binary}"


def _check_documented_answer(doc: dict[str, Any], template: str, method: str, status: str,
                             fields: set[str], nested: dict[str, set[str]]) -> None:
    """The answer the worker reads is documented with the fields it reads."""
    answer = doc["paths"][template][method]["responses"][status]["content"]["application/json"]["schema"]
    properties = _resolve(doc, answer)["properties"]
    assert fields <= set(properties), f"{template}: {fields - set(properties)} undocumented"
    for name, inner in nested.items():
        inner_properties = set(_resolve(doc, properties[name]).get("properties", {}))
        assert inner <= inner_properties, f"{template}: {name}.{inner - inner_properties} undocumented"


# -- refusals --------------------------------------------------------------------------------


def test_refusals_become_the_errors_the_api_named_with_their_reason_and_are_not_retried(
        live, client, studio, worker, loaded):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    with pytest.raises(NotFound, match=r"claiming job nope: refused \(404\): no job 'nope'") as missing:
        worker.claim("nope")
    assert isinstance(missing.value.__cause__, requests.HTTPError)

    worker.claim(job_id)
    fits = encode_png(Image.new("RGB", (64, 64), (200, 120, 40)))  # the job's size, the generator's layout
    with pytest.raises(ModelIdentityError, match="does not match micro:1") as mismatch:
        worker.sign(fits, job_id, "0" * 64, {}, workers.receipt(studio.tokens["gpu-worker"], job_id, fits))
    assert mismatch.value.hint and "approved weights" in mismatch.value.hint
    assert len(live.tap.calls("POST", "/api/v1/sign")) == 1  # refused: tried once

    add_user("gpu-worker-2", ["generator"])
    with pytest.raises(Conflict, match="claimed by another worker"):
        SlateApiClient(live.url, issue_token("gpu-worker-2")["token"]).claim(job_id)

    forged = "slt_" + "x" * 40
    with pytest.raises(Unauthorized) as unknown:
        SlateApiClient(live.url, forged).claim(job_id)
    assert forged not in str(unknown.value) and forged not in unknown.value.diagnostics()


# -- transport failures and retries ------------------------------------------------------------


@pytest.fixture
def silent_api() -> Iterator[tuple[str, list[socket.socket]]]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    listener.close()
    for connection in accepted:
        connection.close()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_no_connection_is_signing_unavailable_from_the_requests_error():
    worker = SlateApiClient(closed_port(), "slt_secret", signing_retry=ONCE)
    with pytest.raises(SigningUnavailable, match=r"claiming job job-1: Slate's API at .* cannot be reached "
                                                 r"\(ConnectionError\)") as raised:
        worker.claim("job-1")
    assert isinstance(raised.value.__cause__, requests.ConnectionError)


def test_an_api_that_never_answers_times_out_and_only_signing_tries_again(silent_api):
    url, accepted = silent_api
    worker = SlateApiClient(url, "slt_secret", timeouts_s=(1.0, 0.2),
                            signing_retry=SigningRetry(deadline_s=0.5, first_delay_s=0.1, max_delay_s=0.1))
    with pytest.raises(SigningUnavailable, match=r"extending the lease on job job-1: .*\(ReadTimeout\)") as raised:
        worker.extend_lease("job-1")
    assert isinstance(raised.value.__cause__, requests.Timeout) and len(accepted) == 1  # tried once

    with pytest.raises(SigningUnavailable, match=r"\(signing job job-1: gave up after [2-9] attempt"):
        worker.sign(b"\x89PNG", "job-1", "a" * 64)
    assert len(accepted) >= 3  # the sign call, and only it, was tried again


def test_a_503_with_retry_after_is_retried_for_signing_only(live, client, studio, worker, loaded):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    claim = f"/api/v1/jobs/{job_id}/claim"
    live.tap.unavailable[claim] = 1
    with pytest.raises(SigningUnavailable, match="answered 503: the API is restarting") as raised:
        worker.claim(job_id)
    assert raised.value.retry_after_s == 0 and len(live.tap.calls("POST", claim)) == 1
    spec = worker.claim(job_id)

    live.tap.unavailable["/api/v1/sign"] = 2
    image = generate(loaded, GenerationJob.from_dict(job_from_spec(job_id, spec)))
    receipt = workers.receipt(studio.tokens["gpu-worker"], job_id, image.png)
    assert worker.sign(image.png, job_id, loaded.weights_hash, None, receipt)["job_id"] == job_id
    assert len(live.tap.calls("POST", "/api/v1/sign")) == 3


def test_a_url_that_cannot_work_is_a_configuration_error_not_an_outage():
    with pytest.raises(ConfigurationError, match="does not work") as raised:
        SlateApiClient("slate.internal/api", "slt_secret").claim("job-1")
    assert isinstance(raised.value.__cause__, requests.exceptions.MissingSchema)


# -- secrets and threads --------------------------------------------------------------------------


def test_the_token_and_the_prompt_are_never_in_a_repr_an_error_or_a_log(live, client, studio, caplog):
    token = studio.tokens["gpu-worker"]
    worker = SlateApiClient(live.url, token, signing_retry=ONCE)
    job_id = queued_job(client, studio.tokens["pat-producer"])
    caplog.set_level(logging.DEBUG)
    spec = worker.claim(job_id)
    assert spec["prompt"] == PROMPT
    errors: list[SlateError] = []
    for expected, call in ((NotFound, lambda: worker.claim("nope")),
                           (NotFound, lambda: worker.sign(b"x", "nope", "a" * 64, None,
                                                          workers.receipt(token, "nope", b"x"))),
                           (SigningUnavailable, lambda: SlateApiClient(closed_port(), token,
                                                                       signing_retry=ONCE).fail(job_id, "x"))):
        with pytest.raises(expected) as raised:
            call()
        errors.append(raised.value)
    shown = " ".join([repr(worker), repr(worker._session.auth), repr(vars(worker)), caplog.text]
                     + [f"{e!r} {e.diagnostics()}" for e in errors])
    assert "claiming job nope" in shown and "Bearer" not in shown
    assert token not in shown and PROMPT not in shown


def test_a_token_that_cannot_be_a_header_and_credentials_in_the_url_are_never_shown():
    with pytest.raises(ConfigurationError) as raised:
        SlateApiClient("http://127.0.0.1:1", "slt_secret\nX-Injected: 1")
    assert "slt_secret" not in str(raised.value)
    worker = SlateApiClient(closed_port().replace("//", "//admin:hunter2@"), "slt_secret", signing_retry=ONCE)
    with pytest.raises(SigningUnavailable) as down:
        worker.claim("job-1")
    assert "hunter2" not in f"{worker!r} {down.value}"


def test_each_thread_has_its_own_session(live, studio):
    worker = SlateApiClient(live.url, studio.tokens["gpu-worker"])
    sessions: list[requests.Session] = []
    thread = threading.Thread(target=lambda: sessions.append(worker._session))
    thread.start()
    thread.join()
    assert worker._session is worker._session and sessions[0] is not worker._session
    worker.close()
    assert "session" not in vars(worker._local)

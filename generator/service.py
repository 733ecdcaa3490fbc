"""The generator worker as a service: take a job id from the queue, claim the job from
Slate's API (which hands over its specification, the prompt included), generate with the
loaded model, post the image to ``/api/v1/sign``.

Workers talk to Slate only over HTTP with their own generator token: a GPU host needs no
database credentials and never holds a signing key. Models are loaded once per process
and kept; each job is checked against the registered identity before any GPU time. A job
another worker holds is skipped; the worker extends its own lease while it works, so a
slow host keeps its job, and a dead one's job is claimed again once the lease lapses.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Mapping

from governance.errors import (Conflict, Forbidden, InvalidInput, ModelIdentityError, NotFound, SlateError,
                               Unauthorized)

from .environment import pixel_environment
from .errors import SigningUnavailable
from .loader import LoadedModel, LoadOptions, load_model
from .worker import JobResult, run_job

log = logging.getLogger("slate.worker")

_STATUS_ERRORS: dict[int, type[SlateError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound,
                                                409: Conflict, 413: InvalidInput, 422: InvalidInput}


class SlateApiClient:
    """The few API calls a worker makes, with its token; never logs the token or the prompt."""

    def __init__(self, api_url: str, token: str, timeout_s: float = 60.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"SlateApiClient({self.api_url})"

    def _call(self, method: str, path: str, body: bytes | None = None,
              content_type: str | None = None) -> Mapping[str, Any]:
        request = urllib.request.Request(self.api_url + path, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            problem = _problem(exc)
            detail = problem.get("detail") or exc.reason
            if exc.code >= 500 or exc.code == 429:
                raise SigningUnavailable(f"Slate answered {exc.code}: {detail}") from None
            if exc.code == 409 and "model identity" in str(detail):
                raise ModelIdentityError(str(detail)) from None
            raise _STATUS_ERRORS.get(exc.code, InvalidInput)(f"Slate refused ({exc.code}): {detail}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError, a refused or reset connection, a timeout, a response cut short
            # (IncompleteRead, BadStatusLine) or a truncated JSON body: the API went away
            # mid-call. Transient, never the job's fault: the queue retries the job, and
            # signing is idempotent per job.
            raise SigningUnavailable(f"Slate's API cannot be reached ({type(exc).__name__})") from None

    def claim(self, job_id: str) -> Mapping[str, Any]:
        """Claim a job for this worker: its specification, the prompt included."""
        return self._call("POST", f"/api/v1/jobs/{job_id}/claim", b"{}", "application/json")

    def extend_lease(self, job_id: str) -> Mapping[str, Any]:
        return self._call("POST", f"/api/v1/jobs/{job_id}/lease", b"{}", "application/json")

    def job_spec(self, job_id: str) -> Mapping[str, Any]:
        """The specification of a job this worker has claimed."""
        return self._call("GET", f"/api/v1/jobs/{job_id}/spec")

    def fail(self, job_id: str, reason: str) -> None:
        self._call("POST", f"/api/v1/jobs/{job_id}/fail", json.dumps({"reason": reason[:2000]}).encode(),
                   "application/json")

    def sign(self, image_png: bytes, job_id: str, model_identity: str,
             environment: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        body, content_type = _multipart({"job_id": job_id, "model_identity": model_identity,
                                         "environment": json.dumps(environment or {}, default=str)},
                                        {"image": ("output.png", "image/png", image_png)})
        return self._call("POST", "/api/v1/sign", body, content_type)


class _SignerWithEnvironment:
    """The SigningClient the worker core expects, carrying the job's pixel environment."""

    def __init__(self, client: SlateApiClient) -> None:
        self.client = client
        self.environment: Mapping[str, Any] = {}

    def sign(self, image_png: bytes, job_id: str, model_identity: str) -> Mapping[str, Any]:
        return self.client.sign(image_png, job_id, model_identity, self.environment)


def _problem(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        data = json.loads(exc.read() or b"{}")
        return data if isinstance(data, dict) else {}
    except (ValueError, OSError):
        return {}


def _multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "slate-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8") + b"\r\n")
    for name, (filename, media_type, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {media_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ModelCache:
    """Models loaded once per worker process, by directory."""

    def __init__(self, options: LoadOptions = LoadOptions()) -> None:
        self.options = options
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, directory: str | Path) -> LoadedModel:
        key = str(Path(directory).resolve())
        with self._lock:
            if key not in self._models:
                log.info("loading model from %s", key)
                self._models[key] = load_model(key, self.options)
            return self._models[key]


class LeaseKeeper:
    """Extends a claimed job's lease every third of it while the worker holds the job
    (waiting for the model or for the generation lock, generating, signing), so a slow
    host keeps its job; once the job is done, or the claim is lost, it stops."""

    def __init__(self, client: SlateApiClient, job_id: str, lease_s: float) -> None:
        self.client, self.job_id = client, job_id
        self.interval_s = max(0.2, lease_s / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"slate-lease-{job_id}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.client.timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.client.extend_lease(self.job_id)
            except Conflict as exc:  # finished, or another worker took it after a lapse
                log.info("job %s: lease not extended: %s", self.job_id, exc.message)
                return
            except SlateError as exc:  # the API is away for now: try again next time
                log.warning("job %s: extending its lease failed: %s", self.job_id, exc.message)


_cache = ModelCache()
# the pipeline is not safe to run from two threads at once
_generate_lock = threading.Lock()


def process_job(job_id: str, *, api_url: str, token: str, models_dir: str | None = None,
                cache: ModelCache | None = None) -> dict[str, Any]:
    """Claim and run one queued job end to end; returns the JobResult as a dict (huey stores it).

    A job this worker may not claim (another worker holds it, or it has finished) is skipped.
    """
    client = SlateApiClient(api_url, token)
    try:
        spec = client.claim(job_id)
    except Conflict as exc:
        log.info("job %s is not this worker's to run: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "skipped", "reason": exc.message}
    with LeaseKeeper(client, job_id, float(spec.get("lease_s") or 60)):
        return _run_claimed(client, job_id, spec, models_dir, cache or _cache)


def _run_claimed(client: SlateApiClient, job_id: str, spec: Mapping[str, Any], models_dir: str | None,
                 cache: ModelCache) -> dict[str, Any]:
    model = spec["model"]
    directory = model.get("path") or (str(Path(models_dir) / model["name"]) if models_dir else None)
    if not directory:
        reason = f"model {model['ref']} has no path registered and the worker has no models folder"
        return _report_failure(client, job_id, reason)
    try:
        loaded = cache.get(directory)
    except SlateError as exc:
        return _report_failure(client, job_id, exc.message)
    job = _generation_job(job_id, spec)
    signer = _SignerWithEnvironment(client)
    # recorded with the job: what affects pixels, so the image can be reproduced
    signer.environment = {**pixel_environment(loaded.device, loaded.dtype, loaded.threads, 1,
                                              loaded.options.to_dict(), loaded.libraries),
                          "seed": job["seed"], "steps": job["steps"], "guidance": job["guidance"],
                          "size": [job["width"], job["height"]], "scheduler": job["scheduler"] or "default",
                          "model_identity": loaded.weights_hash}
    with _generate_lock:
        result: JobResult = run_job(job, loaded, signer)
    if result.error == "SigningUnavailable":
        # transient: let the queue retry the whole job; signing is idempotent per job
        raise SigningUnavailable(result.reason or "signing unavailable")
    outcome = {k: v for k, v in result.to_dict().items() if k != "record"}
    if not result.ok:
        outcome["status"] = _report_failure(client, job_id, result.reason or "the generator failed")["status"]
    return outcome


def _generation_job(job_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    model, params = spec["model"], spec["params"]
    return {"job_id": job_id, "prompt": spec["prompt"], "seed": params["seed"], "steps": params["steps"],
            "guidance": params["guidance"], "width": params["width"], "height": params["height"],
            "scheduler": None if params.get("scheduler") in (None, "default") else params["scheduler"],
            "model": {"name": model["name"], "version": model["version"], "weights_hash": model["weights_hash"]}}


def _report_failure(client: SlateApiClient, job_id: str, reason: str) -> dict[str, Any]:
    """Tell Slate why this worker could not run its job. If the claim was lost meanwhile
    (the lease lapsed and another worker took the job, or it finished), that worker's
    result stands and this one is dropped: the job is not failed under another's claim."""
    try:
        client.fail(job_id, reason)
    except Conflict as exc:
        log.info("job %s: failure not recorded: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "lost", "reason": reason, "claim": exc.message}
    return {"job_id": job_id, "status": "failed", "reason": reason}

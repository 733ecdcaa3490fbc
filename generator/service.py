"""The generator worker as a service: take a job id from the queue, fetch its specification
from Slate's API, generate with the loaded model, post the image to ``/api/v1/sign``.

Workers talk to Slate only over HTTP with their own generator token: a GPU host needs no
database credentials and never holds a signing key. Models are loaded once per process
and kept; each job is checked against the registered identity before any GPU time.
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

    def job_spec(self, job_id: str) -> Mapping[str, Any]:
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


_cache = ModelCache()
# the pipeline is not safe to run from two threads at once
_generate_lock = threading.Lock()


def process_job(job_id: str, *, api_url: str, token: str, models_dir: str | None = None,
                cache: ModelCache | None = None) -> dict[str, Any]:
    """Run one queued job end to end; returns the JobResult as a dict (huey stores it)."""
    client = SlateApiClient(api_url, token)
    try:
        spec = client.job_spec(job_id)
    except Conflict as exc:
        log.info("job %s needs no work: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "skipped", "reason": exc.message}
    model = spec["model"]
    directory = model.get("path") or (str(Path(models_dir) / model["name"]) if models_dir else None)
    if not directory:
        reason = f"model {model['ref']} has no path registered and the worker has no models folder"
        client.fail(job_id, reason)
        return {"job_id": job_id, "status": "failed", "reason": reason}
    try:
        loaded = (cache or _cache).get(directory)
    except SlateError as exc:
        client.fail(job_id, exc.message)
        return {"job_id": job_id, "status": "failed", "reason": exc.message}
    params = spec["params"]
    job = {"job_id": job_id, "prompt": spec["prompt"], "seed": params["seed"], "steps": params["steps"],
           "guidance": params["guidance"], "width": params["width"], "height": params["height"],
           "scheduler": None if params.get("scheduler") in (None, "default") else params["scheduler"],
           "model": {"name": model["name"], "version": model["version"], "weights_hash": model["weights_hash"]}}
    signer = _SignerWithEnvironment(client)
    # recorded with the job: what affects pixels, so the image can be reproduced
    signer.environment = {**pixel_environment(loaded.device, loaded.dtype, loaded.threads, 1,
                                              loaded.options.to_dict(), loaded.libraries),
                          "seed": job["seed"], "steps": job["steps"], "guidance": job["guidance"],
                          "size": [job["width"], job["height"]], "scheduler": job["scheduler"] or "default",
                          "model_identity": loaded.weights_hash}
    with _generate_lock:
        result: JobResult = run_job(job, loaded, signer)
    if not result.ok:
        if result.error == "SigningUnavailable":
            # transient: let the queue retry the whole job; signing is idempotent per job
            raise SigningUnavailable(result.reason or "signing unavailable")
        client.fail(job_id, result.reason or "the generator failed")
    return {k: v for k, v in result.to_dict().items() if k != "record"}


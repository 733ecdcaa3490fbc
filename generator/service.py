"""The generator worker as a service: take a job id from the queue, claim the job from
Slate's API (which hands over its specification, the prompt included), generate with the
loaded model, post the image to ``/api/v1/sign``.

Workers talk to Slate only over HTTP with their own generator token, through
``SlateApiClient``: a GPU host needs no database credentials and never holds a signing
key. Models are loaded once per process and kept; each job is checked against the
registered identity before any GPU time. A job another worker holds is skipped; the
worker extends its own lease while it works, so a slow host keeps its job, and a dead
one's job is claimed again once the lease lapses.

Retries live in one place: the client's ``sign`` (see ``signing``). ``process_job`` never
raises for a job, so the queue never runs a job twice because of it: a job the API
refuses is failed once with the API's reason; a job whose signing stays unavailable past
the deadline is left claimed, its image kept, to be claimed again once the lease lapses.

``process_job`` is the ``slate.worker`` entry point (pyproject.toml): called with a job id,
the queue's task runs the job (``run_queued_job``); its ``reproduce`` makes a signed
output's recorded job again in this process, for governance's reproduction audit
(``governance.lifecycle.reproduction``); its ``reproduce_sample`` takes an output another
worker made, sampled for a reproduction here (``governance.lifecycle.sampling``).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
import torch

from governance import __version__
from governance.credentials.model_signatures import PUBLIC_KEY_FILE, SIGNATURE_FILE
from governance.errors import (
    ConfigurationError,
    Conflict,
    CredentialError,
    Forbidden,
    InvalidInput,
    ModelIdentityError,
    NotFound,
    PolicyError,
    SlateError,
    Unauthorized,
)
from governance.workers.keyfile import WorkerKeyPair

from .environment import pixel_environment
from .errors import SigningUnavailable
from .generate import GenerationJob, generate
from .loader import LoadedModel, LoadOptions, load_model
from .signing import SigningRetry, generation_receipt, sign_with_retry
from .worker import DEFERRED, JobResult, UnsignedImages, run_job

log = logging.getLogger("slate.worker")

#: Try signing for up to two minutes, well inside a three-minute lease (see ``signing``).
DEFAULT_SIGNING_RETRY = SigningRetry()
#: (connect, read) seconds. Reading waits for the signing API's work (a C2PA signature and
#: perhaps a timestamp authority), so it gets far longer than connecting does.
TIMEOUTS_S = (5.0, 60.0)
#: The refusals the API names in its problem documents (their ``type`` ends with the name).
_REFUSALS: dict[str, type[SlateError]] = {cls.__name__: cls for cls in (
    Conflict, CredentialError, Forbidden, InvalidInput, ModelIdentityError, NotFound, PolicyError,
    Unauthorized)}
_BY_STATUS: dict[int, type[SlateError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}
#: Answers worth trying again: the API (or a proxy in front of it) is away or overloaded.
_TRANSIENT = frozenset({408, 429})
#: Failures of the worker's own settings: no retry makes a malformed URL work.
_MISCONFIGURED = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                  requests.exceptions.InvalidSchema, requests.exceptions.URLRequired,
                  requests.exceptions.InvalidHeader, requests.exceptions.TooManyRedirects)


class _BearerToken(requests.auth.AuthBase):
    """The generator token, sent as ``Authorization: Bearer``; its repr never shows it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<generator token>"


class SlateApiClient:
    """The calls a worker makes to Slate's API, with its generator token.

    Each thread gets its own ``requests.Session`` (the worker runs jobs on several threads,
    and each job's lease keeper on another). Every transport failure and every error answer
    becomes a ``SlateError``, raised ``from`` the ``requests`` exception: a refusal (4xx) as
    the API named it (``Conflict``, ``ModelIdentityError``, ...) with its reason;
    ``SigningUnavailable`` for no connection, a timeout, a response cut short, 5xx or 429;
    ``ConfigurationError`` for a URL that cannot work. Messages say which call failed and
    never carry the token or the prompt; neither is ever logged.

    Only ``sign`` retries (``signing_retry``); every other call is tried once.
    """

    def __init__(self, api_url: str, token: str, *, timeouts_s: tuple[float, float] = TIMEOUTS_S,
                 signing_retry: SigningRetry = DEFAULT_SIGNING_RETRY) -> None:
        if not token or not token.isprintable() or any(c.isspace() for c in token):
            # checked here, because requests' own refusal of such a header quotes its value
            raise ConfigurationError("the generator token is empty or holds spaces or control characters",
                                     hint="set SLATE_WORKER_TOKEN to the token `slate token create` printed")
        self.api_url = api_url.rstrip("/")
        self.timeouts_s = timeouts_s
        self.signing_retry = signing_retry
        self._auth = _BearerToken(token)
        self._local = threading.local()
        self._shown_url = _without_credentials(self.api_url)

    def __repr__(self) -> str:
        return f"SlateApiClient({self._shown_url!r})"

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers["User-Agent"] = f"slate-worker/{__version__} {requests.utils.default_user_agent()}"
            self._local.session = session
        return session

    def close(self) -> None:
        """Close this thread's session (other threads' close with their threads)."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            del self._local.session

    def claim(self, job_id: str, lease_s: int | None = None) -> Mapping[str, Any]:
        """Claim a job for this worker: its specification, the prompt included."""
        return self._call("POST", f"/api/v1/jobs/{job_id}/claim", f"claiming job {job_id}",
                          json=_lease_body(lease_s))

    def job_spec(self, job_id: str) -> Mapping[str, Any]:
        """The specification of a job this worker has claimed."""
        return self._call("GET", f"/api/v1/jobs/{job_id}/spec", f"reading job {job_id}'s specification")

    def extend_lease(self, job_id: str, lease_s: int | None = None) -> Mapping[str, Any]:
        """Extend this worker's lease on a job it holds, from now."""
        return self._call("POST", f"/api/v1/jobs/{job_id}/lease", f"extending the lease on job {job_id}",
                          json=_lease_body(lease_s))

    def fail(self, job_id: str, reason: str) -> Mapping[str, Any]:
        """Report why this worker could not run a job it holds; returns the failed job."""
        return self._call("POST", f"/api/v1/jobs/{job_id}/fail", f"reporting job {job_id} failed",
                          json={"reason": reason[:2000]})

    def sign(self, image_png: bytes, job_id: str, model_identity: str,
             environment: Mapping[str, Any] | None = None, receipt: str = "",
             gpu_seconds: float = 0.0) -> Mapping[str, Any]:
        """Sign a job's image with its generation receipt (``signing.generation_receipt``);
        returns the signed output (the first one, for a retry).

        Retried on ``SigningUnavailable`` as ``signing_retry`` says: the job id makes every
        attempt the same request, so a response lost on the way back costs nothing.
        """
        form = {"job_id": job_id, "model_identity": model_identity,
                "environment": _json_text(environment or {}), "receipt": receipt}
        if gpu_seconds > 0:  # what the image took, against its production's budget (Slate bounds it)
            form["gpu_seconds"] = f"{min(gpu_seconds, 86400.0):.3f}"
        files = {"image": ("output.png", image_png, "image/png")}

        def attempt() -> Mapping[str, Any]:
            return self._call("POST", "/api/v1/sign", f"signing job {job_id}", data=form, files=files)

        return sign_with_retry(attempt, job_id, self.signing_retry)

    def claim_reproduction(self, device: str | None = None) -> Mapping[str, Any]:
        """Claim an output sampled for a reproduction on another worker, made on this ``device``
        class: ``{"sample": spec or null}``."""
        return self._call("POST", "/api/v1/reproductions/claim", "claiming a reproduction sample",
                          json={"device": device} if device else {})

    def reproduction_result(self, sample_id: str, image_png: bytes, receipt: str) -> Mapping[str, Any]:
        """Post the image made for a claimed sample, with this worker's receipt; Slate's comparison."""
        return self._call("POST", f"/api/v1/reproductions/{sample_id}/result",
                          f"posting reproduction sample {sample_id}", data={"receipt": receipt},
                          files={"image": ("reproduction.png", image_png, "image/png")})

    def claim_training_run(self, run_uid: str) -> Mapping[str, Any]:
        """Claim an approved training run: ``{"run", "lease_expires_at", "spec"}``."""
        return self._call("POST", f"/api/v1/training-runs/{run_uid}/claim", f"claiming training run {run_uid}",
                          json={})

    def training_progress(self, run_uid: str, step: int, total_steps: int, loss: float | None) -> Mapping[str, Any]:
        """Report a claimed run's progress; it also extends the claim's lease. ``loss`` is
        left out before the first step (there is none yet)."""
        body: dict[str, Any] = {"step": step, "total_steps": total_steps}
        if loss is not None:
            body["loss"] = loss
        return self._call("POST", f"/api/v1/training-runs/{run_uid}/progress",
                          f"reporting training run {run_uid}'s progress", json=body)

    def fail_training_run(self, run_uid: str, reason: str) -> Mapping[str, Any]:
        """Report why this worker could not complete a run it holds."""
        return self._call("POST", f"/api/v1/training-runs/{run_uid}/fail", f"reporting training run {run_uid} failed",
                          json={"reason": reason[:2000]})

    def post_attestation(self, run_uid: str, attestation: Mapping[str, Any], key_id: str,
                         signature: str) -> Mapping[str, Any]:
        """Post a finished run's signed attestation; Slate checks it, signs it and registers the
        model: ``{"model", "weights_hash", "slate_signature", "attestation_sha256"}`` (and
        ``model_signature``, Slate's OpenSSF bundle over the model's files, where it signs one)."""
        return self._call("POST", f"/api/v1/training-runs/{run_uid}/attestation",
                          f"posting training run {run_uid}'s attestation",
                          json={"attestation": dict(attestation), "key_id": key_id, "signature": signature})

    def training_model_signature(self, run_uid: str) -> Mapping[str, Any]:
        """A registered run's attest answer again, with Slate's kept model signature (for a
        worker whose answer to ``post_attestation`` was lost after Slate registered the model)."""
        return self._call("GET", f"/api/v1/training-runs/{run_uid}/model-signature",
                          f"fetching training run {run_uid}'s model signature")

    def enrol(self, public_key: str, label: str = "") -> Mapping[str, Any]:
        """Enrol this worker's public key for its generator user (pending until an admin approves)."""
        return self._call("POST", "/api/v1/workers", "enrolling this worker's key",
                          json={"public_key": public_key, "label": label})

    def _call(self, method: str, path: str, what: str, **body: Any) -> Mapping[str, Any]:
        try:
            response = self._session.request(method, self.api_url + path, timeout=self.timeouts_s, **body)
            response.raise_for_status()
            answer = response.json()
        except requests.exceptions.ContentDecodingError as e:  # an HTTPError without an answer
            raise self._unreachable(what, e) from e
        except requests.HTTPError as e:
            raise _refusal(e.response, what) from e
        except _MISCONFIGURED as e:
            raise ConfigurationError(f"{what}: Slate's API URL {self._shown_url!r} does not work "
                                     f"({type(e).__name__})", hint="check SLATE_API_URL") from e
        except requests.RequestException as e:
            raise self._unreachable(what, e) from e
        if not isinstance(answer, dict):
            raise SigningUnavailable(f"{what}: Slate's API answered with something other than a JSON object")
        return answer

    def _unreachable(self, what: str, e: requests.RequestException) -> SigningUnavailable:
        # a refused or reset connection, a timeout, a body cut short or not JSON: the API
        # went away mid-call; never the job's fault
        return SigningUnavailable(f"{what}: Slate's API at {self._shown_url} cannot be reached "
                                  f"({type(e).__name__})")


def _without_credentials(url: str) -> str:
    """The URL as messages may show it: without any user or password in it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _lease_body(lease_s: int | None) -> dict[str, Any]:
    return {} if lease_s is None else {"lease_s": lease_s}


def _json_text(value: Mapping[str, Any]) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _refusal(response: requests.Response, what: str) -> SlateError:
    """The SlateError for an error answer, from its problem document (RFC 9457)."""
    problem = _problem(response)
    status = response.status_code
    detail = str(problem.get("detail") or response.reason or "no reason given")[:2000]
    if status >= 500 or status in _TRANSIENT:
        return SigningUnavailable(f"{what}: Slate's API answered {status}: {detail}",
                                  retry_after_s=_retry_after_s(response))
    kind = str(problem.get("type") or "").rsplit("/", 1)[-1]
    cls = _REFUSALS.get(kind) or _BY_STATUS.get(status, InvalidInput)
    hint = problem.get("hint")
    return cls(f"{what}: refused ({status}): {detail}", hint=str(hint) if hint else None)


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, requests.RequestException):  # not JSON, or cut short
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after_s(response: requests.Response) -> float | None:
    """Retry-After in seconds; an HTTP date (rare from an API) is ignored."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class _JobSigner:
    """The ``SigningClient`` the worker core expects: the client, with the job's pixel
    environment and the worker key that signs each image's receipt."""

    def __init__(self, client: SlateApiClient, environment: Mapping[str, Any], key: WorkerKeyPair) -> None:
        self.client, self.environment, self.key = client, environment, key

    def sign(self, image_png: bytes, job_id: str, model_identity: str,
             gpu_seconds: float = 0.0) -> Mapping[str, Any]:
        receipt = generation_receipt(self.key, image_png, job_id, model_identity, self.environment)
        return self.client.sign(image_png, job_id, model_identity, self.environment, receipt, gpu_seconds)


_keys: dict[str, WorkerKeyPair] = {}
_keys_lock = threading.Lock()


def worker_key(key_dir: str | None) -> WorkerKeyPair:
    """This worker's key, read once per process from its folder (made there on first use)."""
    if not key_dir:
        raise ConfigurationError("this worker has no folder for its key, so it cannot sign receipts",
                                 hint="set SLATE_WORKER_DIR and run `slate worker enroll`")
    with _keys_lock:
        if key_dir not in _keys:
            _keys[key_dir] = WorkerKeyPair.load_or_create(Path(key_dir))
        return _keys[key_dir]


class ModelCache:
    """Models loaded once per worker process, by directory."""

    def __init__(self, options: LoadOptions = LoadOptions()) -> None:
        self.options = options
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, directory: str | Path, signature_key: Path | None = None) -> LoadedModel:
        """The model in ``directory``; with ``signature_key``, loaded only if Slate's
        ``model.sig`` verifies (once per load, not per job)."""
        path = str(Path(directory).resolve())
        key = path if signature_key is None else f"{path}\0{signature_key}"
        with self._lock:
            if key not in self._models:
                log.info("loading model from %s", path)
                self._models[key] = load_model(path, replace(self.options, signature_key=signature_key))
            return self._models[key]


def required_signature_key(model: Mapping[str, Any], directory: str | Path,
                           signature_key: str | Path | None) -> Path | None:
    """The trusted key a model must verify against before it is loaded: on a worker that
    holds Slate's model-signing public key, every model registered as attested (its
    specification says so) and every model folder carrying a ``model.sig``. Removing the
    signature from an attested model does not get it loaded unchecked."""
    if signature_key is None:
        if model.get("attested"):
            raise ModelIdentityError(
                f"model {model.get('ref', model.get('name'))} is attested, and this worker cannot check "
                "Slate's signature over its files", hint="set SLATE_MODEL_SIGNING_PUBLIC_KEY to a copy of "
                f"{PUBLIC_KEY_FILE} from Slate's keys folder")
        return None
    if model.get("attested") or (Path(directory) / SIGNATURE_FILE).is_file():
        return Path(signature_key)
    return None


class LeaseKeeper:
    """Extends a claimed job's lease every third of it while the worker holds the job
    (waiting for the model or for the generation lock, generating, signing and retrying
    signing), so a slow host keeps its job; once the job is done or given up, or the claim
    is lost, it stops, and the lease lapses on its own."""

    def __init__(self, client: SlateApiClient, job_id: str, lease_s: float) -> None:
        self.client, self.job_id = client, job_id
        self.interval_s = max(0.2, lease_s / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"slate-lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=sum(self.client.timeouts_s))

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                if not self._extend():
                    return
        finally:
            self.client.close()  # this thread's session

    def _extend(self) -> bool:
        """One extension; False once there is no claim left to keep."""
        try:
            self.client.extend_lease(self.job_id)
        except Conflict as exc:  # finished, or another worker took it after a lapse
            log.info("job %s: lease not extended: %s", self.job_id, exc.message)
            return False
        except SlateError as exc:  # the API is away for now: the next period tries again
            log.warning("job %s: extending its lease failed: %s", self.job_id, exc.message)
        return True


_cache = ModelCache()
#: images generated but not signed yet (signing was unavailable), for the job's next claim
_unsigned = UnsignedImages()
_clients: dict[tuple[str, str], SlateApiClient] = {}
_clients_lock = threading.Lock()
# the pipeline is not safe to run from two threads at once
_generate_lock = threading.Lock()


def client_for(api_url: str, token: str) -> SlateApiClient:
    """One client per API and token in this process, shared by its worker threads."""
    key = (api_url, token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = SlateApiClient(api_url, token)
        return client


def run_queued_job(job_id: str, *, api_url: str, token: str, models_dir: str | None = None,
                key_dir: str | None = None, cache: ModelCache | None = None, client: SlateApiClient | None = None,
                unsigned: UnsignedImages | None = None, signature_key: str | None = None,
                **_ignored: Any) -> dict[str, Any]:
    """Claim and run one queued job end to end; returns what became of it (huey stores it).

    Never raises for the job, so the queue never re-runs it: ``status`` is ``succeeded``;
    ``failed`` (reported to Slate with the reason); ``skipped`` (another worker holds it,
    or it has finished); ``deferred`` (Slate's API was unavailable: the job is left to be
    claimed again, and an image already generated is kept in ``unsigned``); or ``lost``
    (the claim lapsed and another worker took the job meanwhile).

    ``key_dir`` is the worker's own folder: each image's receipt is signed with the key there.
    ``signature_key`` is Slate's model-signing public key (``required_signature_key``).
    """
    client = client or client_for(api_url, token)
    try:
        spec = client.claim(job_id)
    except Conflict as exc:
        log.info("job %s is not this worker's to run: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "skipped", "reason": exc.message}
    except SigningUnavailable as exc:
        log.warning("job %s not claimed: %s", job_id, exc.message)
        return {"job_id": job_id, "status": DEFERRED, "reason": exc.message}
    with LeaseKeeper(client, job_id, float(spec.get("lease_s") or 60)):
        return _run_claimed(client, job_id, spec, models_dir, key_dir, cache or _cache,
                            _unsigned if unsigned is None else unsigned, signature_key)


def reproduction_options(environment: Mapping[str, Any] | None) -> LoadOptions:
    """How to load a model to make a recorded job again: the device class, dtype, attention and
    (on a CPU) torch thread count its pixel environment records. Where that device class is
    not here, this host's own (the result is then at best ``close``)."""
    env = environment or {}
    device = str((env.get("device") or {}).get("type") or "auto")
    attention = str((env.get("options") or {}).get("attention") or "sdpa")
    threads = env.get("torch_threads")
    here = device == "cpu" or (device == "cuda" and torch.cuda.is_available()) \
        or (device == "mps" and torch.backends.mps.is_available())
    if not here:
        return LoadOptions(attention=attention)
    return LoadOptions(device=device, dtype=str(env.get("dtype") or "auto"), attention=attention,
                       threads=threads if device == "cpu" and isinstance(threads, int) and threads > 0 else None)


_reproduction_caches: dict[LoadOptions, ModelCache] = {}


def reproduce(spec: Mapping[str, Any], environment: Mapping[str, Any] | None, *,
              models_dir: str | None = None) -> bytes:
    """The PNG bytes the generator makes for a recorded job (``spec`` as a claim hands it over)
    in the pixel environment it was recorded with, on the registered weights. Errors name the
    job, never its prompt."""
    return _remake(spec, environment, models_dir)[0]


def _remake(spec: Mapping[str, Any], environment: Mapping[str, Any] | None,
            models_dir: str | None, signature_key: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """(PNG bytes, the pixel environment they were made in) for a recorded job."""
    job_id = str(spec.get("job_id") or "")
    job_dict = job_from_spec(job_id, spec)
    job = GenerationJob.from_dict(job_dict)
    options = reproduction_options(environment)
    with _clients_lock:
        cache = _reproduction_caches.setdefault(options, ModelCache(options))
    directory = _model_directory(spec["model"], models_dir)
    loaded = cache.get(directory, required_signature_key(spec["model"], directory, signature_key))
    if loaded.weights_hash != job.model.weights_hash:
        raise ModelIdentityError(f"job {job_id}'s model files no longer hash to its registered weights, "
                                 "so it cannot be made again from them")
    try:
        with _generate_lock:
            png = generate(loaded, job).png
    except SlateError:
        raise
    except Exception as exc:  # noqa: BLE001  (torch's errors may quote the input; only the kind is told)
        raise SlateError(f"making job {job_id} again failed ({type(exc).__name__})") from None
    return png, _job_environment(job_dict, loaded)


def reproduce_sample(*, api_url: str, token: str, models_dir: str | None = None, key_dir: str | None = None,
                     client: SlateApiClient | None = None, signature_key: str | None = None,
                     **_ignored: Any) -> dict[str, Any]:
    """Claim an output sampled for a reproduction on another worker (Slate never hands a worker
    its own), make its recorded job again and post the image with this worker's receipt;
    Slate compares it with the ledger's pixels. Never raises: ``status`` is ``compared`` (with
    Slate's ``verdict``), ``none`` (nothing this worker may take), ``deferred`` (the API is
    away; the sample's lease lapses and it is claimed again) or ``failed``."""
    client = client or client_for(api_url, token)
    try:
        answer = client.claim_reproduction("cuda" if torch.cuda.is_available() else "cpu")
    except SigningUnavailable as exc:
        return {"status": DEFERRED, "reason": exc.message}
    except SlateError as exc:
        return {"status": "failed", "reason": exc.message}
    sample = answer.get("sample")
    if not sample:
        return {"status": "none"}
    sample_id = str(sample["sample_id"])
    try:
        key = worker_key(key_dir)
        png, environment = _remake(sample, sample.get("environment"), models_dir, signature_key)
        receipt = generation_receipt(key, png, str(sample["job_id"]), str(sample["model"]["weights_hash"]),
                                     environment)
        result = client.reproduction_result(sample_id, png, receipt)
    except SigningUnavailable as exc:
        log.warning("reproduction sample %s: %s", sample_id, exc.message)
        return {"sample_id": sample_id, "status": DEFERRED, "reason": exc.message}
    except SlateError as exc:
        log.warning("reproduction sample %s: %s", sample_id, exc.message)
        return {"sample_id": sample_id, "status": "failed", "reason": exc.message}
    return {"sample_id": sample_id, "status": "compared", "verdict": result.get("verdict")}


class WorkerEntryPoint:
    """The ``slate.worker`` entry point: called with a job id, runs the queued job
    (``run_queued_job``); ``reproduce`` makes a recorded job again (``reproduce``);
    ``process_training_run`` runs an approved training run (``training_runs``)."""

    def __call__(self, job_id: str, **options: Any) -> dict[str, Any]:
        return run_queued_job(job_id, **options)

    def process_training_run(self, run_uid: str, **options: Any) -> dict[str, Any]:
        from .training_runs import process_training_run
        return process_training_run(run_uid, **options)

    def reproduce(self, spec: Mapping[str, Any], environment: Mapping[str, Any] | None) -> bytes:
        return reproduce(spec, environment)

    def reproduce_sample(self, **options: Any) -> dict[str, Any]:
        return reproduce_sample(**options)


process_job = WorkerEntryPoint()


def _run_claimed(client: SlateApiClient, job_id: str, spec: Mapping[str, Any], models_dir: str | None,
                 key_dir: str | None, cache: ModelCache, unsigned: UnsignedImages,
                 signature_key: str | None = None) -> dict[str, Any]:
    try:
        key = worker_key(key_dir)
        job = job_from_spec(job_id, spec)
        directory = _model_directory(spec["model"], models_dir)
        loaded = cache.get(directory, required_signature_key(spec["model"], directory, signature_key))
    except SlateError as exc:
        return _report_failure(client, job_id, exc.message)
    signer = _JobSigner(client, _job_environment(job, loaded), key)
    result: JobResult = run_job(job, loaded, signer, unsigned=unsigned, generation_lock=_generate_lock)
    outcome = {k: v for k, v in result.to_dict().items() if k != "record"}
    if result.status == DEFERRED:
        log.warning("job %s: left claimed, to be claimed again once its lease lapses", job_id)
    elif not result.ok:
        outcome["status"] = _report_failure(client, job_id, result.reason or "the generator failed")["status"]
    return outcome


def job_from_spec(job_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The generation job (as ``GenerationJob.from_dict`` takes it) in a claim's specification."""
    try:
        model, params = spec["model"], spec["params"]
        return {"job_id": job_id, "prompt": spec["prompt"], "seed": params["seed"], "steps": params["steps"],
                "guidance": params["guidance"], "width": params["width"], "height": params["height"],
                "scheduler": None if params.get("scheduler") in (None, "default") else params["scheduler"],
                "model": {"name": model["name"], "version": model["version"],
                          "weights_hash": model["weights_hash"]}}
    except (KeyError, TypeError) as e:
        raise InvalidInput(f"job {job_id}'s specification from Slate lacks {e}") from e


def _model_directory(model: Mapping[str, Any], models_dir: str | None) -> str:
    directory = model.get("path") or (_in_models_dir(Path(models_dir), model) if models_dir else None)
    if not directory:
        raise InvalidInput(f"model {model.get('ref', model['name'])} has no path registered "
                           "and the worker has no models folder")
    return str(directory)


def _in_models_dir(models_dir: Path, model: Mapping[str, Any]) -> str:
    """``<name>-<version>`` (where a training run writes a model, ``training_runs``) if it
    is there, else ``<name>`` (the bundled model's folder)."""
    versioned = models_dir / f"{model['name']}-{model.get('version')}"
    return str(versioned if versioned.is_dir() else models_dir / model["name"])


def _job_environment(job: Mapping[str, Any], loaded: LoadedModel) -> dict[str, Any]:
    """What affects pixels, recorded with the job so the image can be reproduced."""
    return {**pixel_environment(loaded.device, loaded.dtype, loaded.threads, 1, loaded.options.to_dict(),
                                loaded.libraries),
            "seed": job["seed"], "steps": job["steps"], "guidance": job["guidance"],
            "size": [job["width"], job["height"]], "scheduler": job["scheduler"] or "default",
            "model_identity": loaded.weights_hash}


def _report_failure(client: SlateApiClient, job_id: str, reason: str) -> dict[str, Any]:
    """Tell Slate why this worker could not run its job, once. If the claim was lost
    meanwhile (the lease lapsed and another worker took the job, or it finished), that
    worker's result stands and this one is dropped: the job is not failed under another's
    claim. If the API is away, the report is not retried: the job stays claimed until its
    lease lapses and is then claimed again."""
    try:
        client.fail(job_id, reason)
    except Conflict as exc:
        log.info("job %s: failure not recorded: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "lost", "reason": reason, "claim": exc.message}
    except SigningUnavailable as exc:
        log.warning("job %s: failure not recorded: %s", job_id, exc.message)
        return {"job_id": job_id, "status": DEFERRED, "reason": reason, "report": exc.message}
    return {"job_id": job_id, "status": "failed", "reason": reason}

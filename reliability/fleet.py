"""A whole Slate deployment on loopback, started by the same commands an operations team runs.

``start_fleet(home, database="postgresql", api_processes=N, workers=M, ...)`` is the scale-out
topology of docs/operations.md ("Scale-out"), with deploy/'s compose file and systemd units:

- setup, once: the schema, signing keys, the demo studio (``slate serve --no-embedded-worker
  --exit-after-setup``, whose printed tokens are parsed as a newcomer reads them), the bundled
  model (here a micro one, trained in seconds, registered attested as ``slate model
  build-bundled`` registers it), one generator user and token per worker;
- N gunicorn masters (``gunicorn --reuse-port ... governance.wsgi:app``), each its own process
  group as on its own host, all bound to ONE address: the kernel spreads connections over
  them (SO_REUSEPORT). They share one ``SLATE_SECRET_KEY``, so a page session signed in
  through one is accepted by every other; each logs its access lines (with the serving pid)
  to its own file, so a test can see which process answered;
- M standalone ``slate worker`` processes on Redis, each with its own key (enrolled through
  the address and approved by the demo's admin, as ``slate worker enroll`` and ``slate worker
  approve`` do, in this process: each command would import torch for seconds) and its own
  generator user: a job's ``worker`` names the worker that made it;
- ONE ``slate housekeeping``: the audit checkpoint at start and the requeuer that ``slate
  serve`` runs in-process.

``database="sqlite"`` is the embedded default instead: one ``slate serve`` with its embedded
worker (``api_processes`` and ``workers`` must then be 1).

The command lines are the module's ``API_COMMAND``, ``WORKER_COMMAND``,
``HOUSEKEEPING_COMMAND`` and ``SETUP_COMMAND`` templates; tests/test_deploy.py checks that
deploy/'s systemd units and compose file run exactly these, so the loopback test
(tests/e2e/test_fleet.py) is the test of record for them.

PostgreSQL and Redis themselves are the caller's (tests/servers.py starts them on loopback).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from governance.jobs.queue import REDIS_READ_TIMEOUT as QUEUE_READ_TIMEOUT  # noqa: E402
from governance.settings import Settings  # noqa: E402
from reliability.studio import env_for, free_port  # noqa: E402

#: gunicorn's access lines: the serving process's pid first, then the request (never headers,
#: so no token); what `journalctl -u 'slate-api@*'` shows in production
ACCESS_FORMAT = "%(p)s %(h)s %(r)s %(s)s %(b)s %(M)sms"
#: Each command as a template: "{name}" fields are filled per process; the first word is a
#: console script of Slate's virtual environment (deploy/'s units name it by its full path).
API_COMMAND = ("gunicorn", "--reuse-port", "--bind", "{bind}", "--workers", "1", "--threads", "{threads}",
               "--no-control-socket", "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT,
               "governance.wsgi:app")
WORKER_COMMAND = ("slate", "worker", "--workers", "1")
HOUSEKEEPING_COMMAND = ("slate", "housekeeping", "--requeue-after", "{requeue_after}")
SETUP_COMMAND = ("slate", "serve", "--no-embedded-worker", "--exit-after-setup")
ENROL_COMMAND = ("slate", "worker", "enroll", "--json", "--label", "{label}")
#: the demo's admin, who approves the fleet's worker keys
ADMIN = "root-admin"
#: the demo's generator user; workers beyond the first get their own, named after it
FIRST_WORKER = "gpu-worker"


def command(template: tuple[str, ...], **values: object) -> list[str]:
    """A template filled in, its console script resolved in this Python's environment."""
    script = Path(sys.executable).parent / template[0]
    if not script.exists():
        raise RuntimeError(f"{template[0]} is not installed beside {sys.executable} (run bash scripts/setup)")
    return [str(script), *(word.format(**values) if "{" in word else word for word in template[1:])]


def worker_name(number: int) -> str:
    """The generator user of worker ``number`` (1-based): gpu-worker, gpu-worker-2, ..."""
    return FIRST_WORKER if number == 1 else f"{FIRST_WORKER}-{number}"


# -- the model every fleet generates with ----------------------------------------------------

#: the micro model's training: seconds on one CPU thread, a real diffusion model all the same
MICRO_STEPS = {"steps": 12, "autoencoder_steps": 4, "batch_size": 4, "threads": 1}
#: the build of each micro bundle made in this process (its report and the bytes it trained
#: on), needed to register it attested
_BUILT: dict[Path, object] = {}


def build_micro_bundle(folder: Path) -> Path:
    """Train the micro model into ``folder/slate-studio`` (seconds); returns ``folder``, the
    ``bundle`` that ``prepare_home`` and ``start_fleet`` take (in this process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from generator import bundled
    from generator.architecture import MICRO
    from generator.dataset import studio_dataset
    from generator.training import TrainingConfig
    images = studio_dataset(8, size=MICRO.image_size, seed=0)
    _BUILT[folder] = bundled.train_studio_model(folder / bundled.MODEL_NAME, images, TrainingConfig(**MICRO_STEPS),
                                                MICRO, progress=False)
    return folder


def prepare_home(home: Path, bundle: Path, database_url: str | None = None) -> Settings:
    """Register the micro model of ``bundle`` as slate-studio:1 with its real training set,
    attested and approved, as the bundled build does (so ``slate serve`` trains nothing)."""
    import shutil

    from generator import bundled
    from generator.architecture import MICRO
    from generator.dataset import studio_dataset
    from generator.identity import model_identity
    from governance.db import close_database, open_database
    from governance.migrations import migrate
    from governance.registry.attestations import use_keys_folder
    from governance.registry.fingerprints import use_folder
    from governance.registry.models_registry import set_status
    built = _BUILT.get(bundle)
    if not isinstance(built, bundled.BuiltModel):
        raise ValueError(f"{bundle} was not built by build_micro_bundle in this process")
    overrides = {"database_url": database_url} if database_url else {}
    settings = Settings.for_folder(home, **overrides)
    directory = settings.models_dir / bundled.MODEL_NAME
    shutil.copytree(bundle / bundled.MODEL_NAME, directory)
    open_database(settings.database_url)
    migrate()
    use_folder(settings.index_dir)  # as `slate serve` does: training images go into the similarity index
    use_keys_folder(settings.keys_dir)  # as `slate serve` does: attestations are judged against its keys
    try:
        training_set = bundled.register_training_data(studio_dataset(8, size=MICRO.image_size, seed=0))
        # registered as `slate model build-bundled` registers it: attested, countersigned, and
        # signed in the OpenSSF form (model.sig) with this home's keys
        built = replace(built, directory=directory, identity=model_identity(directory))
        model = bundled.register_bundled_model(built, training_set, settings=settings)
        assert model["attested"], model
        if model["status"] == "registered":
            set_status(model["ref"], "approved", "fleet: approved")
    finally:
        close_database()
    return settings


# -- processes --------------------------------------------------------------------------------

def parse_demo_tokens(lines: list[str]) -> dict[str, str]:
    """The demo tokens ``slate serve`` prints, as a newcomer reads them: "  name token" lines
    after "demo tokens"."""
    tokens: dict[str, str] = {}
    in_tokens = False
    for line in lines:
        if line.startswith("demo tokens"):
            in_tokens = True
        elif in_tokens and line.startswith("  ") and len(line.split()) == 2:
            name, token = line.split()
            tokens[name] = token
        else:
            in_tokens = False
    return tokens


def _tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(deque(f, lines))
    except OSError:
        return ""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Fleet:
    base: str                    # the ONE address every client uses (http://127.0.0.1:PORT)
    tokens: dict[str, str]       # the demo studio's tokens by name (plus each further worker's)
    home: Path                   # SLATE_HOME of the whole fleet (data, keys, logs under home/"logs")
    settings: Settings
    database: str                # "sqlite" or "postgresql"
    api_processes: int
    workers: int
    #: every process started, by name: api-1.., worker-1.., housekeeping (or "serve")
    processes: dict[str, Process] = field(default_factory=dict)
    #: the environment every Slate process of this fleet shares (secrets included: never print it)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    _stopped: bool = False

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def worker_users(self) -> list[str]:
        """Each worker's generator user, worker 1 first (a job's ``worker`` names one)."""
        return [worker_name(i) for i in range(1, self.workers + 1)]

    def api_logs(self) -> dict[str, Path]:
        """Each API process's log (its access lines name the pid that served each request)."""
        return {name: p.log for name, p in self.processes.items() if name.startswith("api-") or name == "serve"}

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        """Start one more process of this fleet (stopped with it), its output in logs/NAME.log."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log = self.logs_dir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(argv, cwd=self.home, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def worker_env(self, token: str, worker_dir: Path) -> dict[str, str]:
        """A standalone worker's environment: the queue, the ONE address, its token and key
        folder, Slate's model-signing public key; no database URL, no session key."""
        from governance.credentials.model_signatures import PUBLIC_KEY_FILE
        env = {k: v for k, v in self.env.items() if k not in ("SLATE_DATABASE_URL", "SLATE_SECRET_KEY")}
        return {**env, "SLATE_API_URL": self.base, "SLATE_WORKER_TOKEN": token,
                "SLATE_WORKER_DIR": str(worker_dir),
                "SLATE_MODEL_SIGNING_PUBLIC_KEY": str(self.settings.keys_dir / PUBLIC_KEY_FILE)}

    def start_worker(self, name: str, token: str, worker_dir: Path, *, timeout: float = 120) -> Process:
        """A ``slate worker`` with this token and key folder, once it has said it is consuming."""
        process = self.spawn(name, command(WORKER_COMMAND), self.worker_env(token, worker_dir))
        _wait_for_line(process, "worker: queue", timeout)
        return process

    def pause(self, name: str) -> None:
        """SIGSTOP one process (a worker that must take no job for a while); ``resume`` undoes it.

        Returns once the stopped process can no longer be handed a job: a worker waits for
        one in a blocking read at Redis (huey's BRPOP, ``QUEUE_READ_TIMEOUT`` seconds), which
        Redis keeps open after the process stops, and a job enqueued meanwhile would go to
        it and wait there until it resumes (the test that stopped it would time out)."""
        os.killpg(self.processes[name].popen.pid, signal.SIGSTOP)
        time.sleep(QUEUE_READ_TIMEOUT + 0.5)

    def resume(self, name: str) -> None:
        os.killpg(self.processes[name].popen.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Terminate every process this fleet started, workers first (idempotent); a process
        that ignores SIGTERM for 20 s is killed. Each runs in its own process group, so
        gunicorn's workers and huey's threads go with their parent."""
        if self._stopped:
            return
        self._stopped = True
        order = sorted(self.processes.values(), key=lambda p: (not p.name.startswith("worker"), p.name))
        for process in order:
            _signal_group(process, signal.SIGCONT)
            _signal_group(process, signal.SIGTERM)
        for process in order:
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.popen.wait()
            _signal_group(process, signal.SIGKILL)  # anything of its group left behind

    def logs(self) -> str:
        """The tail of every process's log (setup's included), for a failing test; every API
        token in them shortened to its prefix."""
        if not self.logs_dir.is_dir():
            return ""
        text = "\n".join(f"--- {path.name} ---\n{_tail(path)}" for path in sorted(self.logs_dir.glob("*.log")))
        # every API token shortened to its prefix, those setup printed before a failure included
        return re.sub(r"(slt_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{16,}", r"\1…", text)


def _signal_group(process: Process, sig: int) -> None:
    try:
        os.killpg(process.popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_for_line(process: Process, prefix: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line.startswith(prefix) for line in _tail(process.log, 200).splitlines()):
            return
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode} before '{prefix}'")
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not say '{prefix}' within {timeout:.0f} s")


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def _run(fleet: Fleet, name: str, argv: list[str], env: dict[str, str], timeout: float = 180) -> str:
    """A one-shot command of the fleet (setup, enrolment), its output kept in logs/NAME.log."""
    fleet.logs_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(argv, cwd=fleet.home, env=env, capture_output=True, text=True, timeout=timeout)
    (fleet.logs_dir / f"{name}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:3])} ({name}) exited with {done.returncode}")
    return done.stdout


# -- the fleet ----------------------------------------------------------------------------------

def start_fleet(home: Path, *, database: str, api_processes: int = 1, workers: int = 1, threads: int = 4,
                postgres_url: str | None = None, redis_url: str | None = None,
                bundle: Path | None = None, extra_env: dict[str, str] | None = None,
                requeue_after: float = 300, timeout: float = 240) -> Fleet:
    """Start the whole deployment in ``home`` and return once the ONE address answers from
    every API process and every worker is enrolled, approved and consuming. On any failure
    everything started is stopped and a RuntimeError carries the logs' tails."""
    if database not in ("sqlite", "postgresql"):
        raise ValueError(f"database must be 'sqlite' or 'postgresql', not {database!r}")
    if database == "sqlite" and (api_processes != 1 or workers != 1):
        raise ValueError("the embedded default (sqlite) is one `slate serve` with its embedded worker: "
                         "api_processes and workers must be 1")
    if database == "postgresql" and not (postgres_url and redis_url):
        raise ValueError("a postgresql fleet needs postgres_url and redis_url (tests/servers.py starts both)")
    if api_processes < 1 or workers < 1 or threads < 1:
        raise ValueError("api_processes, workers and threads must be at least 1")
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if bundle is None:
        bundle = build_micro_bundle(home / "bundle")
    extra = dict(extra_env or {})
    port = free_port()
    if database == "sqlite":
        settings = prepare_home(home, bundle)
        env = env_for(home, **extra)
    else:
        assert postgres_url and redis_url
        settings = prepare_home(home, bundle, postgres_url)
        # one session key for every API process: a cookie made by one is accepted by all
        secret = extra.pop("SLATE_SECRET_KEY", None) or secrets.token_urlsafe(32)
        env = env_for(home, SLATE_DATABASE_URL=postgres_url, SLATE_REDIS_URL=redis_url,
                       SLATE_SECRET_KEY=secret, **extra)
        settings = replace(settings, redis_url=redis_url, secret_key=secret)
    fleet = Fleet(f"http://127.0.0.1:{port}", {}, home, settings, database, api_processes, workers, env=env)
    try:
        if database == "sqlite":
            _start_embedded(fleet, port, timeout)
        else:
            _start_scaled_out(fleet, port, threads, requeue_after, timeout)
    except BaseException as exc:
        logs = fleet.logs()
        fleet.stop()
        if isinstance(exc, Exception):
            raise RuntimeError(f"the fleet did not start: {exc}\n{logs}") from exc
        raise
    return fleet


def _start_embedded(fleet: Fleet, port: int, timeout: float) -> None:
    serve = ("slate", "serve", "--port", "{port}")
    process = fleet.spawn("serve", command(serve, port=port), fleet.env)
    _wait_for_line(process, "Slate is serving", timeout)
    fleet.tokens.update(parse_demo_tokens(process.log.read_text().splitlines()))


def _start_scaled_out(fleet: Fleet, port: int, threads: int, requeue_after: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    printed = _run(fleet, "setup", command(SETUP_COMMAND), fleet.env)
    fleet.tokens.update(parse_demo_tokens(printed.splitlines()))
    if ADMIN not in fleet.tokens or FIRST_WORKER not in fleet.tokens:
        raise RuntimeError("setup printed no demo tokens")
    fleet.tokens.update(_worker_users(fleet.settings, fleet.workers))
    for number in range(1, fleet.api_processes + 1):
        fleet.spawn(f"api-{number}", command(API_COMMAND, bind=f"127.0.0.1:{port}", threads=threads), fleet.env)
    fleet.spawn("housekeeping", command(HOUSEKEEPING_COMMAND, requeue_after=f"{requeue_after:g}"), fleet.env)
    # each worker's key is made first and the worker started at once (its generator import
    # overlaps the API's start); the key is enrolled and approved before any job exists
    from governance.workers.keyfile import WorkerKeyPair
    for number, name in enumerate(fleet.worker_users, start=1):
        WorkerKeyPair.load_or_create(fleet.home / "workers" / name)
        fleet.spawn(f"worker-{number}", command(WORKER_COMMAND),
                    fleet.worker_env(fleet.tokens[name], fleet.home / "workers" / name))
    _wait_every_api_process(fleet, deadline)
    for name in fleet.worker_users:
        enrol_worker(fleet, fleet.tokens[name], fleet.home / "workers" / name, label=f"{name} (loopback fleet)")
    for name in [*(f"worker-{n}" for n in range(1, fleet.workers + 1)), "housekeeping"]:
        _wait_for_line(fleet.processes[name], name.split("-")[0] + ":", max(1.0, deadline - time.monotonic()))


def enrol_worker(fleet: Fleet, token: str, folder: Path, *, label: str, approve: bool = True) -> int:
    """What ``slate worker enroll`` does on the worker's side (its key made in ``folder``, the
    public key sent with its token through the fleet's address), then what ``slate worker
    approve ID --by root-admin`` does; returns the key's enrolment id. ``approve=False``
    leaves it pending. In this process: each command would import torch for seconds."""
    from governance.auth.users import principal_named
    from governance.db import close_database, open_database
    from governance.workers import enrolment
    from governance.workers.keyfile import WorkerKeyPair
    key = WorkerKeyPair.load_or_create(folder)
    request = urllib.request.Request(fleet.base + "/api/v1/workers", method="POST",
                                     data=json.dumps({"public_key": key.public_key, "label": label}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        enrolled = int(json.loads(response.read())["id"])
    if approve:
        open_database(fleet.settings.database_url)
        try:
            enrolment.approve(enrolled, principal_named(ADMIN, "admin"))
        finally:
            close_database()
    return enrolled


def _worker_users(settings: Settings, workers: int) -> dict[str, str]:
    """A generator user and token for each worker beyond the demo's gpu-worker (what
    ``slate user add NAME --role generator`` and ``slate token create NAME`` do)."""
    if workers < 2:
        return {}
    from governance.auth import users
    from governance.db import close_database, open_database
    open_database(settings.database_url)
    try:
        tokens = {}
        for number in range(2, workers + 1):
            name = worker_name(number)
            users.add_user(name, ["generator"])
            tokens[name] = str(users.issue_token(name, label="fleet worker", expires_in=timedelta(days=30))["token"])
        return tokens
    finally:
        close_database()


def _wait_every_api_process(fleet: Fleet, deadline: float) -> None:
    """Until the address has answered from every API process: requests go to the ONE address
    and the kernel picks the process, so ask until each one's access log has a line."""
    probe = "/web-static/slate.css"
    logs = fleet.api_logs()
    while True:
        served = {name for name, log in logs.items() if probe in _tail(log, 400)}
        if served == set(logs):
            return
        for name in logs:
            if fleet.processes[name].popen.poll() is not None:
                raise RuntimeError(f"{name} exited with {fleet.processes[name].popen.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sorted(served)} of {sorted(logs)} answered at {fleet.base}")
        _get(fleet.base + probe)
        time.sleep(0.05)

"""Studio-day benchmark: a day's mix of work driven against whole Slate topologies, the
embedded single box and the scale-out fleet (gunicorn API processes, PostgreSQL, Redis,
standalone ``slate worker`` processes), measured one after another in the same run.

The mix. ``--clients`` threads (8), each a person at a desk, repeat for ``--seconds`` (45),
after a ``--warmup`` (5 s, not counted), one action drawn by weight from ``MIX``; each action
is one or more timed operations of these kinds:

- commission (4): a producer submits a previs request (``submit``); policy allows it and
  its job is enqueued;
- likeness (1): a producer submits a request depicting a consenting performer (``submit``);
  policy routes it to an approver, who signs off (``approve``) and its job is enqueued;
- search (3): a provenance search of signed outputs by one filter: production, model,
  performer, approver or use (``search``);
- verify (2): a producer downloads a recently signed image (``download``) and an auditor
  verifies it (``verify``: the verdict must be ``verified``);
- page (3): a producer signed in through the sign-in form loads the start page, the
  provenance page or the request list (``page``: 200, still signed in).

The jobs are made by two kinds of worker, both taking them from the topology's own queue
(each message goes to exactly one taker, so the two never claim the same job):

- the real ``slate worker`` processes (or the embedded worker), generating with the bundled
  micro model and signing through the API; each job one of them finished inside the window
  is a ``generate`` operation, timed from the job's creation to its success as the server
  recorded them;
- ``--worker-clients`` threads (4) standing in for GPU hosts: each takes a job from the
  queue, claims it and signs an image for it with a generation receipt signed by its own
  enrolled worker key, as its own generator user ``bench-worker`` (``sign``: the claim and
  the sign call, as a worker makes them, without the GPU).

People hold their submissions back (and browse instead) while the queue holds ``--backlog``
messages (default: twice the workers of both kinds): a studio does not pile up work its
workers cannot take, and without it ``generate`` would time the growth of a backlog.

The topologies (``reliability/fleet.py`` starts each and stops every process it started):

- ``sqlite``: ``slate serve``, one process with its embedded worker, on SQLite (the
  baseline: what a studio gets from the default install);
- ``pg_1x1``: one gunicorn API process and one ``slate worker`` on PostgreSQL and Redis;
- ``pg_2x2``: two gunicorn API processes behind one address and two workers.

PostgreSQL (a fresh database per topology) and Redis (a fresh server per topology) run on
loopback, started as tests/servers.py starts them. The worker clients read the same queue
the real workers do, through ``governance.jobs.queue.Queue`` with the fleet's settings.

Reported: per topology and operation kind, the operations completed in the measured window,
their throughput, p50 and p95 latency and errors. The last line is one JSON object: the
headline keys (``ops_per_s``, one ``<op>_p95_ms`` per kind) are the PostgreSQL 2x2 fleet's,
``baseline_ops_per_s`` the SQLite box's, ``ratio`` = 2x2 ``ops_per_s`` / SQLite
``ops_per_s``, ``scale_ratio`` = 2x2 ``ops_per_s`` / 1x1 ``ops_per_s``; every topology's
figures are under ``topologies``. ``ops_per_s`` counts every operation kind, ``generate``
included, completed inside the window.

Errors: every answer other than the one expected counts as an error of its kind, with a
sample printed. Any 5xx answer or dropped connection makes the benchmark exit 1 (after its
report), and so does a topology that fails to start.

Read the figures for what they are: the client threads, the API processes, PostgreSQL,
Redis and the workers' torch all share this machine's cores (2 on the development box, shared
with other work), so the scale-out topology shows that the fleet works and what its parts
cost here, not what more machines would give.

    .venv/bin/python benchmarks/studio_day_bench.py [--seconds 45] [--clients 8] [--quick]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from governance.canonical import sha256_hex  # noqa: E402
from governance.lifecycle.params import recorded  # noqa: E402
from governance.settings import Settings  # noqa: E402
from governance.workers.keyfile import WorkerKeyPair  # noqa: E402
from governance.workers.receipts import Receipt  # noqa: E402

#: Actions and their weights: how often a client thread picks each.
MIX: dict[str, int] = {"commission": 4, "likeness": 1, "search": 3, "verify": 2, "page": 3}
#: The actions that add a job to the queue, and what a person does instead while it is full.
SUBMITTING = frozenset({"commission", "likeness"})
BROWSING = {action: weight for action, weight in MIX.items() if action not in SUBMITTING}
#: Every operation kind reported, in the table's order.
OPS = ("submit", "approve", "sign", "generate", "search", "download", "verify", "page")
MODEL = "slate-studio:1"
PRODUCTION = "harbour-lights"
#: Small and quick: the micro model's size, and few steps on a CPU.
PARAMS = {"steps": 2, "width": 64, "height": 64}
PERFORMER = "Mara Quinn"  # the demo's performer with a confirmed likeness consent
SEARCHES = ({"production": PRODUCTION}, {"model": MODEL}, {"person": PERFORMER}, {"approver": "ada-approver"},
            {"use": "previs"})
PAGES = ("/", "/provenance", "/requests")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: (connect, read) seconds: long enough for a loaded 2-core machine, short enough to notice a hang.
TIMEOUT_S = (10.0, 120.0)
#: The worker clients' generator user (the real workers are gpu-worker, gpu-worker-2, ...).
BENCH_WORKER = "bench-worker"
#: The queue task a generation job's message names (governance/jobs/queue.py registers it).
GENERATION_TASK = "slate.generate"


@dataclass(frozen=True)
class Topology:
    name: str
    database: str
    api_processes: int
    workers: int

    def describe(self) -> str:
        if self.database == "sqlite":
            return "SQLite, `slate serve` with its embedded worker"
        return (f"PostgreSQL + Redis, {self.api_processes} gunicorn API process(es), "
                f"{self.workers} `slate worker`")


TOPOLOGIES = (Topology("sqlite", "sqlite", 1, 1), Topology("pg_1x1", "postgresql", 1, 1),
              Topology("pg_2x2", "postgresql", 2, 2))


# -- figures ------------------------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0..1] of ``samples``: always a value measured."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def draw(mix: Mapping[str, int], rng: random.Random) -> str:
    """One action, drawn with the mix's weights."""
    return rng.choices(list(mix), weights=list(mix.values()))[0]


class Tally:
    """What the clients measured, from many threads. Latencies count only for operations that
    started and ended inside the window (``open_window``); errors count all the time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {op: [] for op in OPS}
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.fatal = 0
        self.held_back = 0
        self.window: tuple[float, float] | None = None
        #: the same window in wall-clock time (what the server's records are dated in)
        self.wall_window: tuple[float, float] | None = None

    def open_window(self, seconds: float) -> None:
        start, wall = time.monotonic(), time.time()
        self.window, self.wall_window = (start, start + seconds), (wall, wall + seconds)

    def record(self, op: str, started: float, ended: float | None = None) -> None:
        ended = time.monotonic() if ended is None else ended
        if self.window and self.window[0] <= started and ended <= self.window[1]:
            with self._lock:
                self.latencies[op].append(ended - started)

    def record_wall(self, op: str, started: float, ended: float) -> None:
        """An operation the server dated (seconds since the epoch)."""
        if self.wall_window and self.wall_window[0] <= started and ended <= self.wall_window[1]:
            with self._lock:
                self.latencies[op].append(ended - started)

    def hold_back(self) -> None:
        with self._lock:
            self.held_back += 1

    def error(self, op: str, what: str, *, fatal: bool) -> None:
        with self._lock:
            self.errors[op] += 1
            self.fatal += fatal
            if len(self.samples) < 12:
                self.samples.append(f"{op}: {what}")


class Calls:
    """One thread's HTTP calls, each checked against the answers expected of it. A new
    connection per call (``Connection: close``), so that behind one address the kernel spreads
    the calls over every API process, as it would a studio's many clients."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.base, self.tally = base, tally
        self.session = requests.Session()
        self.session.headers["Connection"] = "close"

    def __call__(self, op: str, method: str, path: str, token: str | None = None, *,
                 expect: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            answer = self.session.request(method, self.base + path, headers=headers, timeout=TIMEOUT_S,
                                          allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            self.tally.error(op, f"{method} {path}: {type(exc).__name__}: {str(exc)[:200]}", fatal=True)
            return None
        if answer.status_code not in expect:
            self.tally.error(op, f"{method} {path} answered {answer.status_code}: {answer.text[:200]}",
                             fatal=answer.status_code >= 500)
            return None
        return answer


# -- the studio the clients work in ---------------------------------------------------------------

@dataclass
class Desk:
    """What every thread shares: the fleet's address, tokens and settings, the worker clients'
    token and key, and the outputs signed so far (for downloads and verifications)."""

    base: str
    tokens: dict[str, str]
    settings: Settings
    worker_token: str
    key: WorkerKeyPair
    #: queue messages at which people stop submitting until the workers catch up
    backlog: int
    signed: deque[str] = field(default_factory=lambda: deque(maxlen=64))
    images: Iterator[int] = field(default_factory=itertools.count)


def join_bench_worker(base: str, tokens: dict[str, str]) -> tuple[str, WorkerKeyPair]:
    """The worker clients' own generator user, token and enrolled, approved key, made through
    the API by the demo's admin, as a studio adds a worker host."""
    admin = {"Authorization": f"Bearer {tokens['root-admin']}"}

    def post(path: str, body: dict[str, Any], headers: dict[str, str], status: int) -> Any:
        answer = requests.post(base + path, json=body, headers=headers, timeout=TIMEOUT_S)
        if answer.status_code != status:
            raise RuntimeError(f"setting up the worker clients: POST {path} answered {answer.status_code}: "
                               f"{answer.text[:300]}")
        return answer.json()

    post("/api/v1/users", {"name": BENCH_WORKER, "roles": ["generator"]}, admin, 201)
    token = post("/api/v1/tokens", {"user": BENCH_WORKER, "label": "studio-day bench", "expires_in_days": 1},
                 admin, 201)["token"]
    key = WorkerKeyPair.generate()
    enrolled = post("/api/v1/workers", {"public_key": key.public_key, "label": "studio-day bench clients"},
                    {"Authorization": f"Bearer {token}"}, 201)
    post(f"/api/v1/workers/{enrolled['id']}/approve", {}, admin, 200)
    return token, key


def noise_png(i: int, size: int = 64) -> bytes:
    """A distinct small PNG per ``i``: what a worker client 'generates'."""
    import numpy as np
    from PIL import Image
    pixels = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def request_body(rng: random.Random, *, people: list[str] | None = None) -> dict[str, Any]:
    return {"production": PRODUCTION, "use": "previs", "territory": "GB", "model": MODEL,
            "prompt": f"a quiet harbour at dusk, slate studio style, take {rng.randrange(10**6)}",
            "people": people or [], "params": {**PARAMS, "seed": rng.randrange(2**31)}}


class Client:
    """One person at a desk who does whatever the mix draws next."""

    def __init__(self, desk: Desk, tally: Tally, rng: random.Random) -> None:
        from governance.jobs.queue import Queue
        self.desk, self.tally, self.rng = desk, tally, rng
        self.queue = Queue(desk.settings)
        self.call = Calls(desk.base, tally)
        self.browser = Calls(desk.base, tally)  # keeps the page session's cookie
        self.t = desk.tokens

    def run(self, stop: threading.Event) -> None:
        actions: dict[str, Callable[[], None]] = {
            "commission": self.commission, "likeness": self.likeness, "search": self.search,
            "verify": self.verify, "page": self.page}
        self.sign_in()
        while not stop.is_set():
            action = draw(MIX, self.rng)
            if action in SUBMITTING and self.queue.pending() >= self.desk.backlog:
                # the workers are behind: nobody piles more on; browse while the queue drains
                self.tally.hold_back()
                action = draw(BROWSING, self.rng)
            actions[action]()

    def sign_in(self) -> None:
        """The producer's browser session, through the sign-in form (not timed)."""
        form = self.browser("page", "GET", "/sign-in")
        match = CSRF.search(form.text) if form is not None else None
        if match is None:
            raise RuntimeError("the sign-in page has no CSRF field")
        self.browser("page", "POST", "/sign-in", data={"token": self.t["pat-producer"], "csrf_token": match.group(1)},
                     expect=(302, 303))

    def submit(self, body: dict[str, Any], status: str) -> dict[str, Any] | None:
        started = time.monotonic()
        answer = self.call("submit", "POST", "/api/v1/requests", self.t["pat-producer"], json=body, expect=(201,))
        if answer is None:
            return None
        view: dict[str, Any] = answer.json()
        if view.get("status") != status:
            self.tally.error("submit", f"a request came back {view.get('status')}, not {status}", fatal=False)
            return None
        self.tally.record("submit", started)
        return view

    def commission(self) -> None:
        self.submit(request_body(self.rng), "queued")

    def likeness(self) -> None:
        view = self.submit(request_body(self.rng, people=[PERFORMER]), "awaiting_approval")
        if view is None:
            return
        started = time.monotonic()
        answer = self.call("approve", "POST", f"/api/v1/requests/{view['request']['id']}/approval",
                           self.t["ada-approver"], json={"verdict": "approved", "comment": "studio day: cleared"})
        if answer is None:
            return
        approved = answer.json()
        if approved.get("status") != "queued" or not approved.get("job"):
            self.tally.error("approve", f"an approved request stands {approved.get('status')}", fatal=False)
            return
        self.tally.record("approve", started)

    def search(self) -> None:
        started = time.monotonic()
        query = {**self.rng.choice(SEARCHES), "limit": 20}
        if self.call("search", "GET", "/api/v1/provenance/outputs", self.t["aud-auditor"], params=query):
            self.tally.record("search", started)

    def verify(self) -> None:
        if not self.desk.signed:  # nothing signed yet to verify
            self.search()
            return
        sha = self.rng.choice(list(self.desk.signed))
        started = time.monotonic()
        image = self.call("download", "GET", f"/api/v1/outputs/{sha}/image", self.t["pat-producer"])
        if image is None:
            return
        self.tally.record("download", started)
        started = time.monotonic()
        answer = self.call("verify", "POST", "/api/v1/verify", self.t["aud-auditor"],
                           files={"file": ("signed.png", image.content, "image/png")})
        if answer is None:
            return
        outcome = answer.json().get("outcome")
        if outcome != "verified":
            self.tally.error("verify", f"output {sha[:12]} verified as {outcome}", fatal=False)
            return
        self.tally.record("verify", started)

    def page(self) -> None:
        started = time.monotonic()
        # a redirect (302) would be to the sign-in page: the session did not hold
        if self.browser("page", "GET", self.rng.choice(PAGES)) is not None:
            self.tally.record("page", started)


class WorkerClient:
    """A stand-in GPU host: takes generation jobs from the topology's queue, claims each and
    signs a noise image for it with a receipt its enrolled key signed (no GPU, no model)."""

    def __init__(self, desk: Desk, tally: Tally) -> None:
        from governance.jobs.queue import Queue
        self.desk, self.tally = desk, tally
        self.queue = Queue(desk.settings)
        self.call = Calls(desk.base, tally)
        self.other_messages = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            task = self.queue.huey.dequeue()  # Redis: waits up to a second; SQLite: answers at once
            if task is None:
                stop.wait(0.05)
            elif task.name == GENERATION_TASK:
                self.sign(str(task.args[0]))
            else:  # not a job this stand-in can do: back on the queue for a real worker
                self.queue.huey.enqueue(task)
                self.other_messages += 1
                stop.wait(0.5)

    def sign(self, job_id: str) -> None:
        token = self.desk.worker_token
        started = time.monotonic()
        claimed = self.call("sign", "POST", f"/api/v1/jobs/{job_id}/claim", token, json={})
        if claimed is None:
            return
        spec = claimed.json()
        image = noise_png(next(self.desk.images))
        data = {"job_id": job_id, "model_identity": spec["model"]["weights_hash"], "environment": "{}",
                "receipt": self.receipt(job_id, image, spec)}
        signed = self.call("sign", "POST", "/api/v1/sign", token, data=data,
                           files={"image": ("out.png", image, "image/png")}, expect=(201,))
        if signed is not None:
            self.tally.record("sign", started)
            self.desk.signed.append(signed.json()["sha256"])

    def receipt(self, job_id: str, image: bytes, spec: Mapping[str, Any]) -> str:
        p = recorded(spec.get("params"))
        key = self.desk.key
        return key.sign(Receipt(job_id=job_id, image_sha256=sha256_hex(image),
                                weights_sha256=spec["model"]["weights_hash"], seed=p["seed"],
                                scheduler=p["scheduler"], steps=p["steps"], width=p["width"], height=p["height"],
                                libraries={"torch": "bench", "diffusers": "bench"}, device={"type": "bench"},
                                key_id=key.key_id)).text()


def warm_workers(desk: Desk, workers: int, timeout: float = 300) -> float:
    """One generation per real worker before anything is measured: each loads its model (torch
    and the pipeline) on its first job. Returns the seconds it took; raises if a job fails."""
    started = time.monotonic()
    producer = {"Authorization": f"Bearer {desk.tokens['pat-producer']}"}
    rng = random.Random(0)
    jobs = []
    for _ in range(workers):
        answer = requests.post(desk.base + "/api/v1/requests", json=request_body(rng), headers=producer,
                               timeout=TIMEOUT_S)
        if answer.status_code != 201 or not answer.json().get("job"):
            raise RuntimeError(f"a warm-up request answered {answer.status_code}: {answer.text[:300]}")
        jobs.append(answer.json()["job"]["id"])
    while jobs:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"the workers did not finish {len(jobs)} warm-up job(s) in {timeout:.0f} s")
        job = requests.get(f"{desk.base}/api/v1/jobs/{jobs[0]}", headers=producer, timeout=TIMEOUT_S).json()
        if job["status"] in ("failed", "blocked"):
            raise RuntimeError(f"warm-up job {jobs[0]} {job['status']}: {job.get('failure_reason')}")
        if job["status"] == "succeeded":
            jobs.pop(0)
        else:
            time.sleep(0.25)
    return time.monotonic() - started


def every_job(desk: Desk) -> Iterator[dict[str, Any]]:
    """Every job of every request, as the producer sees them (read after the run, not timed)."""
    producer = {"Authorization": f"Bearer {desk.tokens['pat-producer']}"}
    offset = 0
    while True:
        answer = requests.get(f"{desk.base}/api/v1/requests", params={"limit": 500, "offset": offset},
                              headers=producer, timeout=TIMEOUT_S)
        answer.raise_for_status()
        views = answer.json()
        yield from (v["job"] for v in views if v.get("job"))
        if len(views) < 500:
            return
        offset += len(views)


def _epoch(stamp: str) -> float:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def count_generations(desk: Desk, tally: Tally) -> Counter[str]:
    """The real workers' jobs, from the server's records: each that succeeded inside the
    window is a ``generate`` from its creation to its success; a failed one is an error.
    Returns how many jobs each worker made and how many were left unfinished."""
    made: Counter[str] = Counter()
    for job in every_job(desk):
        if job["status"] in ("queued", "running"):
            made["(unfinished)"] += 1
            continue
        made[job["worker"] or "(none)"] += 1
        if job["status"] != "succeeded":
            tally.error("generate", f"job {job['id']} {job['status']}: {job.get('failure_reason')}", fatal=False)
        elif job["worker"] != BENCH_WORKER:
            tally.record_wall("generate", _epoch(job["created_at"]), _epoch(job["updated_at"]))
    return made


# -- one topology -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    topology: Topology
    seconds: float
    ops: dict[str, list[float]]
    errors: dict[str, int]
    samples: list[str]
    fatal: int
    held_back: int
    jobs_by_worker: dict[str, int]
    #: cores the benchmark's own threads used during the window, and the machine's 1-minute
    #: load average at its end: how much of the machine was not Slate's
    client_cores: float = 0.0
    load_average: float = 0.0

    @property
    def completed(self) -> int:
        return sum(len(v) for v in self.ops.values())

    @property
    def ops_per_s(self) -> float:
        return self.completed / self.seconds

    def p95_ms(self, op: str) -> float | None:
        return round(percentile(self.ops[op], 0.95) * 1000, 1) if self.ops[op] else None

    def to_dict(self) -> dict[str, Any]:
        return {"topology": self.topology.describe(), "ops": self.completed, "ops_per_s": round(self.ops_per_s, 2),
                **{f"{op}_p95_ms": self.p95_ms(op) for op in OPS},
                **{f"{op}_per_s": round(len(self.ops[op]) / self.seconds, 2) for op in OPS},
                "errors": sum(self.errors.values()), "errors_by_op": dict(self.errors), "server_errors": self.fatal,
                "submissions_held_back": self.held_back, "jobs_by_worker": dict(self.jobs_by_worker),
                "client_cores": round(self.client_cores, 2), "load_average": round(self.load_average, 1)}


def drive(fleet: Any, topology: Topology, args: argparse.Namespace) -> Result:
    """The mix against a started fleet: warm the workers up, run the mix for the warm-up and
    the window, stop every thread, then read what the real workers made."""
    worker_token, key = join_bench_worker(fleet.base, fleet.tokens)
    desk = Desk(fleet.base, dict(fleet.tokens), fleet.settings, worker_token, key,
                backlog=args.backlog or 2 * (args.worker_clients + topology.workers))
    print(f"studio-day: {topology.name}: the workers' first generations (model loading) took "
          f"{warm_workers(desk, topology.workers):.0f} s", flush=True)
    tally = Tally()
    stop = threading.Event()
    people = [Client(desk, tally, random.Random(args.seed + i)) for i in range(args.clients)]
    hosts = [WorkerClient(desk, tally) for _ in range(args.worker_clients)]
    runs: list[Callable[[threading.Event], None]] = [*(p.run for p in people), *(h.run for h in hosts)]
    threads = [threading.Thread(target=run, args=(stop,), daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    try:
        time.sleep(args.warmup)
        tally.open_window(args.seconds)
        cpu = time.process_time()
        time.sleep(args.seconds)
        client_cores, load = (time.process_time() - cpu) / args.seconds, os.getloadavg()[0]
    finally:
        stop.set()
        deadline = time.monotonic() + max(TIMEOUT_S)  # a call in flight ends within its timeout
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    made = count_generations(desk, tally)
    return Result(topology, args.seconds, {op: list(v) for op, v in tally.latencies.items()}, dict(tally.errors),
                  list(tally.samples), tally.fatal, tally.held_back, dict(made), client_cores, load)


def measure(topology: Topology, home: Path, bundle: Path, servers: Servers, args: argparse.Namespace) -> Result:
    """Start the topology, drive it, stop every process it started (whatever happens)."""
    from reliability.fleet import start_fleet
    postgres_url = redis_url = redis = None
    if topology.database == "postgresql":
        redis = servers.redis()
        postgres_url, redis_url = servers.postgres_database(), redis.url
    print(f"studio-day: starting {topology.name}: {topology.describe()} ...", flush=True)
    started = time.monotonic()
    fleet = None
    try:
        fleet = start_fleet(home, database=topology.database, api_processes=topology.api_processes,
                            workers=topology.workers, threads=args.threads, bundle=bundle, postgres_url=postgres_url,
                            redis_url=redis_url)
        print(f"studio-day: {topology.name} serving at {fleet.base} after {time.monotonic() - started:.0f} s; "
              f"{args.clients} clients and {args.worker_clients} worker clients, {args.warmup:g} s warm-up, "
              f"{args.seconds:g} s measured", flush=True)
        result = drive(fleet, topology, args)
        if result.fatal:
            print(fleet.logs()[-6000:], file=sys.stderr)
        return result
    except Exception:
        if fleet is not None:
            print(fleet.logs()[-6000:], file=sys.stderr)
        raise
    finally:
        if fleet is not None:
            fleet.stop()
        if redis is not None:
            redis.stop()


class Servers:
    """PostgreSQL (one server, a fresh database per topology) and Redis (a fresh server per
    topology), started on loopback when first needed, as tests/servers.py starts them."""

    def __init__(self) -> None:
        self._postgres: Any = None

    def postgres_database(self) -> str:
        from tests.servers import start_postgres
        if self._postgres is None:
            self._postgres, reason = start_postgres()
            if self._postgres is None:
                raise RuntimeError(f"the PostgreSQL topologies need a PostgreSQL server: {reason}")
        return str(self._postgres.create_database())

    @staticmethod
    def redis() -> Any:
        from tests.servers import start_redis
        server, reason = start_redis()
        if server is None:
            raise RuntimeError(f"the PostgreSQL topologies need Redis: {reason}")
        return server

    def stop(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None


# -- the report -----------------------------------------------------------------------------------

def report(results: list[Result]) -> None:
    print(f"studio-day: {'topology':<8} {'op':<9} {'done':>6} {'ops/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for r in results:
        for op in OPS:
            samples = r.ops[op]
            p50 = f"{percentile(samples, 0.5) * 1000:8.0f}" if samples else f"{'-':>8}"
            p95 = f"{percentile(samples, 0.95) * 1000:8.0f}" if samples else f"{'-':>8}"
            print(f"studio-day: {r.topology.name:<8} {op:<9} {len(samples):>6} {len(samples) / r.seconds:>7.2f} "
                  f"{p50} {p95} {r.errors.get(op, 0):>6}")
        made = ", ".join(f"{worker} {n}" for worker, n in sorted(r.jobs_by_worker.items()))
        print(f"studio-day: {r.topology.name:<8} {'all':<9} {r.completed:>6} {r.ops_per_s:>7.2f}   "
              f"({r.topology.describe()}; {r.held_back} submission(s) held back for a full queue; "
              f"jobs in the whole run by worker: {made}; the clients used {r.client_cores:.2f} core(s), "
              f"load average {r.load_average:.1f} on {os.cpu_count()} core(s))")
        for line in r.samples:
            print(f"studio-day: {r.topology.name} ERROR {line}")


def summary(results: list[Result], clients: int) -> dict[str, Any]:
    by_name = {r.topology.name: r for r in results}
    headline = by_name.get("pg_2x2") or results[-1]
    out: dict[str, Any] = {"benchmark": "studio_day", "clients": clients, "seconds": headline.seconds,
                           "topology": headline.topology.name, "ops_per_s": round(headline.ops_per_s, 2),
                           **{f"{op}_p95_ms": headline.p95_ms(op) for op in OPS}}
    if "sqlite" in by_name:
        out["baseline_ops_per_s"] = round(by_name["sqlite"].ops_per_s, 2)
        out["ratio"] = _ratio(headline, by_name["sqlite"])
    if "pg_1x1" in by_name and "pg_2x2" in by_name:
        out["scale_ratio"] = _ratio(by_name["pg_2x2"], by_name["pg_1x1"])
    out["errors"] = sum(sum(r.errors.values()) for r in results)
    out["server_errors"] = sum(r.fatal for r in results)
    out["topologies"] = {r.topology.name: r.to_dict() for r in results}
    return out


def _ratio(a: Result, b: Result) -> float | None:
    return round(a.ops_per_s / b.ops_per_s, 2) if b.ops_per_s else None


# -- the run --------------------------------------------------------------------------------------

def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops what it started."""
    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=45, help="measured seconds per topology")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of the mix before measuring")
    parser.add_argument("--clients", type=int, default=8, help="people at desks (threads)")
    parser.add_argument("--worker-clients", type=int, default=4, help="stand-in GPU hosts that sign (threads)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads of each gunicorn API process (`slate serve` starts one per connection)")
    parser.add_argument("--backlog", type=int, default=0,
                        help="queued jobs at which people hold submissions back (default: 2 x all workers)")
    parser.add_argument("--quick", action="store_true", help="12 s measured after 3 s of warm-up, per topology")
    parser.add_argument("--only", default=",".join(t.name for t in TOPOLOGIES),
                        help="comma-separated topologies to run (sqlite, pg_1x1, pg_2x2)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes (logs, data)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 12.0, 3.0
    chosen = [t for t in TOPOLOGIES if t.name in args.only.split(",")]
    if not chosen:
        parser.error(f"--only names none of {', '.join(t.name for t in TOPOLOGIES)}")
    _stop_on_sigterm()
    root = Path(tempfile.mkdtemp(prefix="slate-studio-day-"))
    servers = Servers()
    results: list[Result] = []
    try:
        from reliability.fleet import build_micro_bundle
        bundle = build_micro_bundle(root / "bundle")  # trained once, in seconds; each topology serves a copy
        for topology in chosen:
            results.append(measure(topology, root / topology.name, bundle, servers, args))
    except KeyboardInterrupt:
        print("studio-day: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    finally:
        servers.stop()
        if args.keep:
            print(f"studio-day: homes kept in {root}")
        else:
            import shutil
            shutil.rmtree(root, ignore_errors=True)
    report(results)
    result = summary(results, args.clients)
    print("studio-day: " + ("OK: no 5xx, no dropped connection" if not result["server_errors"]
                            else f"FAILED: {result['server_errors']} 5xx answer(s) or dropped connection(s)"))
    print(json.dumps(result))
    return 1 if result["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Crash safety: kill Slate's server and its generator worker with SIGKILL at random points
while clients submit and sign, restart them each time, then check the record.

Set-up: a temporary studio with a real micro diffusion model; ``slate serve`` (SQLite)
and a standalone ``slate worker`` joined by a Redis queue, so each can be killed on its
own (without redis-server: ``slate serve`` with its embedded worker, one process, so a
kill takes both). With ``--database postgresql`` the scale-out topology instead: the
studio's database on a PostgreSQL server, ``slate serve --no-embedded-worker`` (the API
and its housekeeping) and standalone ``slate worker`` processes (``--workers``) on Redis;
both servers are started on loopback (tests/servers.py) and required.

Client threads submit requests with an Idempotency-Key and, for about half of the jobs,
claim and sign them themselves as a worker would (racing the real worker for the claim; a
job the worker holds is left to it); every call is retried through the kills until it is
answered, then retried once more on purpose. After the last kill the jobs are let to
finish and the clients download every output. Then, from the database (SQLite's file, or the PostgreSQL database):

- every signed output a client received is in the ledger exactly once; no job has two
  ledger entries; every job of every request finished (none lost);
- every ledger entry has its file on disk with the right SHA-256;
- every retry got the first answer (same request and job id, same output SHA-256);
- one request per Idempotency-Key; no 5xx answer at any time;
- the audit log verifies (hash chain, head, signed checkpoints), one ``output.signed``
  entry per ledger entry.

    .venv/bin/python reliability/crash.py [--kills 50] [--clients 4] [--seed N] [--keep]
        [--database sqlite|postgresql] [--workers 1]

Prints its counts, ends with one JSON line, exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "reliability"))

import studio as studios  # noqa: E402

#: A job with no progress for this long is enqueued again by the server (its worker died).
LEASE_S = 4
PARAMS = {"seed": 0, "steps": 2, "width": 64, "height": 64}
TRANSIENT = (OSError, http.client.HTTPException, ValueError)


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Tally:
    """What the clients saw; appended to from several threads (list.append is atomic)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    retries_after_failure: int = 0
    replays_checked: int = 0
    server_errors: int = 0


class Api:
    """Calls that are retried through kills until Slate answers (a 5xx is counted, not retried away)."""

    def __init__(self, base: str, tally: Tally, give_up_s: float = 120) -> None:
        self.base, self.tally, self.give_up_s = base, tally, give_up_s

    def once(self, method: str, path: str, token: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers={"Authorization": f"Bearer {token}", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return Answer(exc.code, json.loads(raw or b"null"))
            except ValueError:
                return Answer(exc.code, raw[:200].decode(errors="replace"))

    def call(self, method: str, path: str, token: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, raw: bool = False) -> Answer:
        deadline = time.monotonic() + self.give_up_s
        while True:
            try:
                if raw:
                    return self.download(path, token)
                answer = self.once(method, path, token, body, headers)
            except TRANSIENT:
                answer = None
            if answer is not None and answer.status < 500:
                return answer
            if answer is not None:
                self.tally.server_errors += 1
                self.tally.violations.append(f"{method} {path} answered {answer.status}: {str(answer.body)[:200]}")
            self.tally.retries_after_failure += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path} never answered")
            time.sleep(0.1)

    def download(self, path: str, token: str) -> Answer:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read()[:200])


def multipart(fields: dict[str, str], image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="o.png"\r\n'
                 "Content-Type: image/png\r\n\r\n".encode() + image + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# -- the clients --------------------------------------------------------------------------

def client_loop(number: int, api: Api, studio: studios.Studio, stop: threading.Event, rng: random.Random) -> None:
    producer, worker = studio.tokens["pat-producer"], studio.tokens["gpu-worker"]
    n = 0
    while not stop.is_set():
        n += 1
        key = f"crash-{number}-{n}"
        body = json.dumps({"production": "harbour-lights", "use": "previs", "territory": "GB",
                           "model": studio.model_ref, "params": {**PARAMS, "seed": number * 100_000 + n},
                           "prompt": f"a small amber square, slate studio style, take {number}-{n}"}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        first = api.call("POST", "/api/v1/requests", producer, body, headers)
        if first.status != 201 or not first.body.get("job"):
            api.tally.violations.append(f"request {key}: answered {first.status} {str(first.body)[:200]}")
            continue
        record = {"key": key, "request": first.body["request"]["id"], "job": first.body["job"]["id"],
                  "client_sha": None}
        again = api.call("POST", "/api/v1/requests", producer, body, headers)
        api.tally.replays_checked += 1
        seen = again.body if isinstance(again.body, dict) else {}
        if (again.status, (seen.get("request") or {}).get("id"), (seen.get("job") or {}).get("id")) != \
                (201, record["request"], record["job"]):
            api.tally.violations.append(f"request {key}: the retry answered {again.status} "
                                        f"{str(again.body)[:200]}, not request {record['request']}")
        if rng.random() < 0.5:
            record["client_sha"] = sign_as_worker(api, worker, record["job"], studio.weights_hash,
                                                  studios.test_image(number * 100_000 + n), studio.home)
        api.tally.records.append(record)
        stop.wait(rng.uniform(0.2, 1.0))  # steady traffic, not a backlog the worker never clears


def sign_as_worker(api: Api, token: str, job_id: str, identity: str, image: bytes, home: Path) -> str | None:
    """Claim the job and sign it, as a worker does; a job the worker holds (or finished) is
    left to it, and its output is checked like every other."""
    claimed = api.call("POST", f"/api/v1/jobs/{job_id}/claim", token, b"{}", {"Content-Type": "application/json"})
    if claimed.status == 409:
        return None
    if claimed.status != 200 or not isinstance(claimed.body, dict) or claimed.body.get("job_id") != job_id:
        api.tally.violations.append(f"claim {job_id}: answered {claimed.status} {str(claimed.body)[:200]}")
        return None
    receipt = studios.receipt(home, job_id, image, claimed.body.get("params") or {}, identity)
    body, content_type = multipart({"job_id": job_id, "model_identity": identity, "environment": "{}",
                                    "receipt": receipt}, image)
    shas = []
    for _ in range(2):  # the second call is a deliberate retry: it must return the first output
        answer = api.call("POST", "/api/v1/sign", token, body, {"Content-Type": content_type})
        if answer.status not in (200, 201):
            api.tally.violations.append(f"sign {job_id}: answered {answer.status} {str(answer.body)[:200]}")
            return None
        shas.append(answer.body["sha256"])
    api.tally.replays_checked += 1
    if shas[0] != shas[1]:
        api.tally.violations.append(f"sign {job_id}: the retry returned {shas[1][:12]}, not {shas[0][:12]}")
    return shas[0]


# -- the processes under test ---------------------------------------------------------------

class Processes:
    """``slate serve`` and (with Redis) standalone ``slate worker`` processes, killed and
    restarted at will; a kill of "the worker" takes one of them, chosen at random."""

    def __init__(self, studio: studios.Studio, servers: studios.Servers, logs: Path, workers: int = 1,
                 rng: random.Random | None = None) -> None:
        self.studio, self.servers, self.logs = studio, servers, logs
        self.redis_url = servers.redis_url
        self.port = studios.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = [None] * (workers if self.redis_url else 0)
        self.rng = rng or random.Random(0)
        self.kills: Counter[str] = Counter()

    def _env(self) -> dict[str, str]:
        return studios.env_for(self.studio.home, **self.servers.env())

    def start_server(self) -> None:
        args = ["--no-demo", "--port", str(self.port), "--requeue-after", str(LEASE_S)]
        if self.redis_url:
            args.append("--no-embedded-worker")
        with open(self.logs / "server.log", "ab") as log:
            self.server = subprocess.Popen([sys.executable, "-m", "governance", "serve", *args],
                                           cwd=self.studio.home, env=self._env(), stdout=log, stderr=log)
        studios.wait_http(self.base + "/openapi.json", self.server, timeout=120)

    def start_worker(self, number: int) -> None:
        """Worker ``number`` (all of them share gpu-worker's enrolled key in the home)."""
        env = {**self._env(), "SLATE_API_URL": self.base, "SLATE_WORKER_TOKEN": self.studio.tokens["gpu-worker"]}
        with open(self.logs / f"worker{number}.log", "ab") as log:
            self.workers[number] = subprocess.Popen([sys.executable, "-m", "governance", "worker"],
                                                    cwd=self.studio.home, env=env, stdout=log, stderr=log)

    def start_workers(self) -> None:
        for number in range(len(self.workers)):
            self.start_worker(number)

    def kill(self, which: str) -> None:
        worker = self.rng.randrange(len(self.workers)) if self.workers else None
        chosen = [self.workers[worker]] if worker is not None else []
        targets = {"server": [self.server], "worker": chosen, "both": [self.server, *chosen]}[which]
        for process in targets:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self.kills["events"] += 1
        if not self.redis_url:  # the embedded worker lives in the server process
            self.kills["worker"] += 1
        self.kills["server"] += which in ("server", "both")
        self.kills["worker"] += bool(chosen) and which in ("worker", "both")
        if which in ("server", "both"):
            self.start_server()
        if worker is not None and which in ("worker", "both"):
            self.start_worker(worker)

    def stop(self) -> None:
        for process in (*self.workers, self.server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# -- the checks -------------------------------------------------------------------------------

def wait_until_finished(api: Api, studio: studios.Studio, records: list[dict[str, Any]], timeout: float) -> None:
    producer = studio.tokens["pat-producer"]
    deadline = time.monotonic() + timeout
    pending = list(records)
    while pending and time.monotonic() < deadline:
        still = []
        for record in pending:
            job = api.call("GET", f"/api/v1/jobs/{record['job']}", producer).body
            if job["status"] in ("succeeded", "failed", "blocked"):
                record["status"], record["job_sha"] = job["status"], job["output_sha256"]
            else:
                still.append(record)
        pending = still
        if pending:
            time.sleep(0.5)
    for record in pending:
        job = api.call("GET", f"/api/v1/jobs/{record['job']}", producer).body
        record["status"] = f"unfinished ({job['status']}, {job['attempts']} attempt(s), updated {job['updated_at']})"


def download_outputs(api: Api, studio: studios.Studio, tally: Tally) -> int:
    """What the clients received: each job's output, checked against what signing told them."""
    received = 0
    for record in tally.records:
        if record.get("status") != "succeeded":
            tally.violations.append(f"request {record['request']} ({record['key']}) ended {record.get('status')}: "
                                    "its job never produced a signed output (lost)")
            continue
        if record["client_sha"] and record["client_sha"] != record["job_sha"]:
            tally.violations.append(f"job {record['job']}: signing returned {record['client_sha'][:12]} to the "
                                    f"client but the job records {record['job_sha'][:12]}")
        image = api.call("GET", f"/api/v1/outputs/{record['job_sha']}/image", studio.tokens["pat-producer"], raw=True)
        if image.status != 200 or hashlib.sha256(image.body).hexdigest() != record["job_sha"]:
            tally.violations.append(f"output {record['job_sha'][:12]}: download answered {image.status} "
                                    "or other bytes")
            continue
        received += 1
    return received


def check_database(studio: studios.Studio, tally: Tally) -> dict[str, int]:
    """The record itself, read directly from the database after the last stop."""
    from governance.audit.log import verify_database
    from governance.audit.tables import AuditEntry
    from governance.audit.trust import TrustAnchors
    from governance.db import close_database, open_database
    from governance.jobs.tables import Job
    from governance.ledger.tables import Output
    from governance.policy.tables import GenerationRequest
    v = tally.violations
    open_database(studio.settings.database_url)
    try:
        outputs = list(Output.select())
        per_job = Counter(o.job_id for o in outputs)
        v += [f"job {job} has {n} ledger entries" for job, n in per_job.items() if n > 1]
        jobs = {j.id: j for j in Job.select()}
        for o in outputs:
            path = Path(o.file_path or "")
            if not o.file_path or not path.is_file():
                v.append(f"ledger entry {o.sha256[:12]} has no file on disk")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != o.sha256:
                v.append(f"ledger entry {o.sha256[:12]}: its file has other bytes")
            job = jobs.get(o.job_id)
            if job is None or job.status != "succeeded" or job.output_sha256 != o.sha256:
                v.append(f"ledger entry {o.sha256[:12]} is not its job's recorded output")
        for job in jobs.values():
            if job.status == "succeeded" and per_job.get(job.id, 0) != 1:
                v.append(f"job {job.id} succeeded with {per_job.get(job.id, 0)} ledger entries")
        requests = GenerationRequest.select().count()
        keys = len({r["key"] for r in tally.records})
        if requests != keys:
            v.append(f"{requests} requests in the database for {keys} idempotency keys")
        per_request = Counter(j.request_id for j in jobs.values())
        v += [f"request {r} has {n} jobs" for r, n in per_request.items() if n > 1]
        signed_entries = AuditEntry.select().where(AuditEntry.action == "output.signed").count()
        if signed_entries != len(outputs):
            v.append(f"{signed_entries} output.signed audit entries for {len(outputs)} ledger entries")
        audit = verify_database(TrustAnchors.in_keys_folder(studio.settings.keys_dir))
        if not audit.ok:
            v.append(f"the audit log does not verify: {audit.problem}")
        on_disk = {p.name.split(".")[0] for p in studio.settings.outputs_dir.rglob("*") if p.is_file()}
        return {"ledger_entries": len(outputs), "jobs": len(jobs), "requests": requests,
                "audit_entries": audit.entries, "audit_checkpoints": audit.checkpoints,
                "orphan_files": len(on_disk - {o.sha256 for o in outputs}),
                "duplicates": sum(n - 1 for n in per_job.values() if n > 1)}
    finally:
        close_database()


# -- the run ------------------------------------------------------------------------------------

def run(kills: int, clients: int, seed: int, home: Path, use_redis: bool = True, database: str = "sqlite",
        workers: int = 1) -> dict[str, Any]:
    """``database`` "sqlite": the embedded default (Redis and a standalone worker where
    ``use_redis`` and redis-server is installed); "postgresql": PostgreSQL, Redis and
    ``workers`` standalone workers, the servers started and stopped here."""
    with studios.servers(database, redis=use_redis, name="crash") as servers:
        return _run(kills, clients, seed, home, servers, workers)


def _run(kills: int, clients: int, seed: int, home: Path, servers: studios.Servers, workers: int) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    studio = studios.studio_with_micro_model(home, **servers.settings_overrides())
    redis = servers.redis_url
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    processes = Processes(studio, servers, logs, workers, random.Random(seed - 1))
    tally = Tally()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        processes.start_server()
        processes.start_workers()
        api = Api(processes.base, tally)
        threads = [threading.Thread(target=client_loop, args=(i, api, studio, stop, random.Random(seed + i)),
                                    daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        targets = ["server", "worker", "both"] if redis else ["server"]
        weights = [0.4, 0.4, 0.2] if redis else [1.0]
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 3.0))
            processes.kill(rng.choices(targets, weights)[0])
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        killed_at = time.monotonic()
        wait_until_finished(api, studio, tally.records, timeout=240)
        received = download_outputs(api, studio, tally)
        drained_s = time.monotonic() - killed_at
    finally:
        stop.set()
        processes.stop()
    record = check_database(studio, tally)
    client_signed = sum(1 for r in tally.records if r["client_sha"])
    return {"benchmark": "crash", "kills": processes.kills["events"], "server_kills": processes.kills["server"],
            "worker_kills": processes.kills["worker"], "database": servers.database,
            "queue": f"redis ({len(processes.workers)} standalone worker(s))" if redis else "sqlite (embedded worker)",
            "requests": len(tally.records), "signed_by_clients": client_signed,
            "signed_by_worker": len(tally.records) - client_signed, "outputs_received": received,
            "retries_checked": tally.replays_checked, "calls_retried_through_kills": tally.retries_after_failure,
            "server_errors": tally.server_errors, **record, "lost": sum(1 for r in tally.records
                                                                        if r.get("status") != "succeeded"),
            "violations": len(tally.violations), "violation_list": tally.violations[:20],
            "drain_s": round(drained_s, 1), "elapsed_s": round(time.monotonic() - started, 1)}


def report(result: dict[str, Any]) -> None:
    print(f"crash: {result['kills']} kills by SIGKILL at random points ({result['server_kills']} of the server, "
          f"{result['worker_kills']} of a worker; database {result['database']}, queue {result['queue']}), "
          "each followed by a restart, "
          f"in {result['elapsed_s']} s")
    print(f"crash: {result['requests']} requests ({result['signed_by_clients']} signed by clients, "
          f"{result['signed_by_worker']} generated and signed by the worker), {result['outputs_received']} "
          f"signed outputs received and checked; {result['ledger_entries']} ledger entries")
    print(f"crash: {result['retries_checked']} deliberate retries returned the first answer; "
          f"{result['calls_retried_through_kills']} calls retried through kills")
    print(f"crash: duplicates {result['duplicates']}, lost {result['lost']}, 5xx {result['server_errors']}, "
          f"orphan files {result['orphan_files']} (written, not committed: harmless), audit log "
          f"{result['audit_entries']} entries / {result['audit_checkpoints']} checkpoints verified")
    for line in result["violation_list"]:
        print(f"crash: VIOLATION {line}")
    print("crash: " + ("OK: no signed output lost or duplicated" if not result["violations"]
                       else f"FAILED: {result['violations']} violation(s)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--no-redis", action="store_true", help="embedded worker only (kills take both; SQLite only)")
    parser.add_argument("--database", choices=studios.DATABASES, default="sqlite",
                        help="sqlite: the embedded default; postgresql: PostgreSQL + Redis + standalone workers")
    parser.add_argument("--workers", type=int, default=1, help="standalone workers (with Redis)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (logs, database)")
    args = parser.parse_args(argv)
    if args.no_redis and args.database == "postgresql":
        parser.error("--database postgresql runs standalone workers on Redis: --no-redis does not apply")
    home = Path(tempfile.mkdtemp(prefix="slate-crash-"))
    print(f"crash: seed {args.seed}, home {home}")
    result = run(args.kills, args.clients, args.seed, home, use_redis=not args.no_redis, database=args.database,
                 workers=args.workers)
    if args.keep or result["violations"]:
        print(f"crash: home kept for inspection: {home} (logs/, data/)")
    else:
        import shutil
        shutil.rmtree(home, ignore_errors=True)
    report(result)
    print(json.dumps({k: v for k, v in result.items() if k != "violation_list"}))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())

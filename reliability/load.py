"""Load: mixed traffic from many concurrent clients against a real gunicorn server on
loopback, with locust (headless). This file is both the locustfile and its runner.

Each simulated client is a producer who submits requests (with an Idempotency-Key, and
now and then a retry of one), plays the generator worker for the jobs it created
(``POST /api/v1/sign``), verifies signed images, and reads back: the request list, an
output, and (where ``governance/provenance`` serves them) provenance searches and
lineage. Only ``127.0.0.1`` is ever called. The runner prepares a temporary studio,
starts gunicorn, runs locust for a fixed time with a fixed number of clients, prints
throughput, p50/p99 latency per endpoint and the error count, then reads the record from
the database: every signing the clients saw succeed is one ledger entry (none lost, none
duplicated, no job with two), every first submission one request (an idempotent retry made
none), one ``output.signed`` audit entry per ledger entry, and the audit log verifies. It
ends with one JSON line, and exits 1 if any call failed (any 5xx, any unexpected status,
any connection error) or the record is not whole.

With ``--database postgresql`` the scale-out topology: the studio on a PostgreSQL server and
gunicorn's jobs on a Redis queue (both started on loopback by tests/servers.py); the clients
still play the worker, so no ``slate worker`` runs (the jobs are the stand-in model's).

    .venv/bin/python reliability/load.py [--users 50] [--seconds 60] [--gunicorn-workers 2]
        [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "reliability"))
from load_record import ACKNOWLEDGED, check_record, count_record  # noqa: E402

#: Set by the runner for the locust process: tokens, model, which optional endpoints exist.
CONFIG = json.loads(os.environ.get("SLATE_LOAD_CONFIG", "{}"))
_images = itertools.count(1)


def _acknowledge(**seen: str) -> None:
    """Note an answer a client received (appends are whole lines: one locust process)."""
    with open(Path(CONFIG["home"]) / ACKNOWLEDGED, "a") as handle:
        handle.write(json.dumps(seen) + "\n")


class StudioClient(HttpUser):
    """One producer at a desk, who also runs their own worker."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.producer = {"Authorization": f"Bearer {CONFIG['tokens']['pat-producer']}"}
        self.worker = {"Authorization": f"Bearer {CONFIG['tokens']['gpu-worker']}"}
        self.auditor = {"Authorization": f"Bearer {CONFIG['tokens']['aud-auditor']}"}
        self.signed: list[tuple[str, bytes]] = []
        self.submitted: list[tuple[str, dict[str, Any], str]] = []
        self.submit_and_sign()

    def _expect(self, response: Any, *statuses: int) -> Any:
        if response.status_code not in statuses:
            response.failure(f"{response.status_code}: {response.text[:200]}")
            # locust's summary can miss the calls of the last seconds; the record check cannot
            _acknowledge(kind="failure", status=str(response.status_code), call=response.request.path_url,
                         error=response.text[:200])
            return None
        response.success()
        return response.json() if response.headers.get("Content-Type", "").endswith("json") else response

    def _submit(self, key: str, body: dict[str, Any], name: str) -> Any:
        headers = {**self.producer, "Idempotency-Key": key}
        with self.client.post("/api/v1/requests", json=body, headers=headers, name=name,
                              catch_response=True) as response:
            return self._expect(response, 201)

    @task(4)
    def submit_and_sign(self) -> None:
        key = f"load-{uuid.uuid4().hex}"
        body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": CONFIG["model"],
                "prompt": f"a quiet harbour at dusk, take {key[-6:]}",
                "params": {"seed": random.randrange(2**31), "width": 64, "height": 64}}  # as _load_image makes
        view = self._submit(key, body, "POST /api/v1/requests")
        if not view or not view.get("job"):
            return
        _acknowledge(kind="request", key=key, request=view["request"]["id"], job=view["job"]["id"])
        self.submitted.append((key, body, view["request"]["id"]))
        image = _load_image(next(_images))
        sys.path.insert(0, str(REPO / "reliability"))
        import studio as studios  # the worker key the studio enrolled in the home
        receipt = studios.receipt(Path(CONFIG["home"]), view["job"]["id"], image, body["params"], CONFIG["weights"])
        with self.client.post("/api/v1/sign", headers=self.worker, name="POST /api/v1/sign", catch_response=True,
                              data={"job_id": view["job"]["id"], "model_identity": CONFIG["weights"],
                                    "receipt": receipt},
                              files={"image": ("out.png", image, "image/png")}) as response:
            out = self._expect(response, 201)
        if out:
            _acknowledge(kind="signed", job=view["job"]["id"], sha256=out["sha256"])
            self.signed.append((out["sha256"], b""))
            self.signed = self.signed[-20:]
            self._fetch_signed(out["sha256"])

    def _fetch_signed(self, sha: str) -> None:
        with self.client.get(f"/api/v1/outputs/{sha}/image", headers=self.producer,
                             name="GET /api/v1/outputs/{sha}/image", catch_response=True) as response:
            if self._expect(response, 200) is not None:
                self.signed[-1] = (sha, response.content)

    @task(1)
    def retry_a_submission(self) -> None:
        if self.submitted:
            key, body, first = random.choice(self.submitted)
            name = "POST /api/v1/requests (idempotent retry)"
            headers = {**self.producer, "Idempotency-Key": key}
            with self.client.post("/api/v1/requests", json=body, headers=headers, name=name,
                                  catch_response=True) as response:
                view = self._expect(response, 201)
                if view and view["request"]["id"] != first:
                    response.failure(f"the retry of {key} made request {view['request']['id']}, not {first}")

    @task(2)
    def verify(self) -> None:
        choices = [(s, data) for s, data in self.signed if data]
        if not choices:
            return
        _, data = random.choice(choices)
        with self.client.post("/api/v1/verify", headers=self.auditor, name="POST /api/v1/verify",
                              files={"file": ("out.png", data, "image/png")}, catch_response=True) as response:
            verdict = self._expect(response, 200)
            if verdict and verdict.get("outcome") != "verified":
                response.failure(f"verdict {verdict.get('outcome')}")

    @task(2)
    def list_requests(self) -> None:
        with self.client.get("/api/v1/requests?limit=20", headers=self.producer, name="GET /api/v1/requests",
                             catch_response=True) as response:
            self._expect(response, 200)

    @task(2)
    def show_output(self) -> None:
        if self.signed:
            sha = random.choice(self.signed)[0]
            with self.client.get(f"/api/v1/outputs/{sha}", headers=self.producer,
                                 name="GET /api/v1/outputs/{sha}", catch_response=True) as response:
                self._expect(response, 200)

    @task(2)
    def provenance(self) -> None:
        if not CONFIG.get("provenance") or not self.signed:
            return
        with self.client.get(f"/api/v1/provenance/outputs?model={CONFIG['model']}&limit=20", headers=self.producer,
                             name="GET /api/v1/provenance/outputs", catch_response=True) as response:
            self._expect(response, 200)
        sha = random.choice(self.signed)[0]
        with self.client.get(f"/api/v1/provenance/outputs/{sha}/lineage", headers=self.producer,
                             name="GET /api/v1/provenance/outputs/{sha}/lineage", catch_response=True) as response:
            self._expect(response, 200)


def _load_image(i: int) -> bytes:
    import io

    from PIL import Image
    noise = Image.effect_noise((64, 64), 10 + i % 50)
    buffer = io.BytesIO()
    Image.merge("RGB", (noise, noise.rotate(90), noise.rotate(180))).save(buffer, "PNG")
    return buffer.getvalue()


# -- the runner ---------------------------------------------------------------------------------

def start_gunicorn(home: Path, port: int, workers: int, threads: int,
                   env: dict[str, str] | None = None) -> subprocess.Popen:
    sys.path.insert(0, str(REPO / "reliability"))
    import studio as studios
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers),
                                "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--timeout", "60",
                                "governance.wsgi:app"], cwd=home, env=studios.env_for(home, **(env or {})),
                               stdout=subprocess.DEVNULL, stderr=open(home / "gunicorn.log", "wb"))
    studios.wait_http(f"http://127.0.0.1:{port}/openapi.json", process, timeout=90)
    return process


def has_provenance(base: str) -> bool:
    import urllib.request
    with urllib.request.urlopen(base + "/openapi.json", timeout=10) as response:
        paths = json.loads(response.read())["paths"]
    return any(p.startswith("/api/v1/provenance/outputs") for p in paths)


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def run(users: int, seconds: int, gunicorn_workers: int, threads: int, home: Path,
        database: str = "sqlite") -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "reliability"))
    import studio as studios
    with studios.servers(database, redis=False, name="load") as servers:
        return _run(users, seconds, gunicorn_workers, threads, home, servers)


def _run(users: int, seconds: int, gunicorn_workers: int, threads: int, home: Path, servers: Any) -> dict[str, Any]:
    import studio as studios
    prepared = studios.studio_with_fake_model(home, **servers.settings_overrides())
    before = count_record(prepared.settings.database_url)
    port = studios.free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(home, port, gunicorn_workers, threads, servers.env())
    prefix = home / "locust"
    try:
        config = {"tokens": prepared.tokens, "model": prepared.model_ref, "weights": prepared.weights_hash,
                  "provenance": has_provenance(base), "home": str(home)}
        env = {**os.environ, "SLATE_LOAD_CONFIG": json.dumps(config)}
        command = [str(Path(sys.executable).parent / "locust"), "-f", str(Path(__file__).resolve()), "--headless",
                   "--users", str(users), "--spawn-rate", str(max(1, users // 5)), "--run-time", f"{seconds}s",
                   "--host", base, "--csv", str(prefix), "--only-summary", "--stop-timeout", "30",
                   "--loglevel", "WARNING", "--exit-code-on-error", "0"]
        locust = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 180)
        if locust.returncode != 0:
            print(locust.stdout[-3000:] + locust.stderr[-3000:], file=sys.stderr)
            raise RuntimeError(f"locust exited with {locust.returncode}")
    except BaseException:
        print((home / "gunicorn.log").read_text()[-4000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)
    gunicorn_errors = [line for line in (home / "gunicorn.log").read_text().splitlines()
                       if "Traceback" in line or "[ERROR]" in line or "WORKER TIMEOUT" in line]
    rows = read_stats(prefix)
    endpoints = {r["Name"]: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                             "p50_ms": float(r["50%"] or 0), "p99_ms": float(r["99%"] or 0),
                             "rps": round(float(r["Requests/s"]), 1)}
                 for r in rows if r["Name"] != "Aggregated"}
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures = list(csv.DictReader(open(f"{prefix}_failures.csv", newline="")))
    record = check_record(prepared.settings, before, home)
    violations, failed_calls = record.pop("record_violations"), record.pop("failed_calls")
    server_errors = max(record.pop("server_errors"),
                        sum(int(f["Occurrences"]) for f in failures if re.search(r"\b5\d\d\b", f["Error"])))
    return {"benchmark": "load", "database": servers.database,
            "queue": "redis" if servers.redis_url else "sqlite (no worker: the clients sign)",
            "users": users, "seconds": seconds, "gunicorn": f"{gunicorn_workers}x{threads}",
            "provenance_endpoints": config["provenance"], "requests": int(total["Request Count"]),
            "throughput_rps": round(float(total["Requests/s"]), 1), "p50_ms": float(total["50%"]),
            "p99_ms": float(total["99%"]), "server_errors": server_errors, **record,
            "errors": max(int(total["Failure Count"]), len(failed_calls)) + len(gunicorn_errors) + len(violations),
            "server_log_errors": len(gunicorn_errors), "endpoints": endpoints,
            "failure_samples": [f"{f['Method']} {f['Name']}: {f['Error'][:200]} x{f['Occurrences']}"
                                for f in failures[:10]] + failed_calls[len(failures[:10]):10]
            + gunicorn_errors[:5] + violations[:10]}


def report(result: dict[str, Any]) -> None:
    print(f"load: {result['users']} clients for {result['seconds']} s against gunicorn {result['gunicorn']} "
          f"(workers x threads) on 127.0.0.1, database {result['database']}, queue {result['queue']}; "
          "provenance endpoints "
          f"{'included' if result['provenance_endpoints'] else 'absent'}")
    print(f"load: {'endpoint':<52} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, e in sorted(result["endpoints"].items()):
        print(f"load: {name:<52} {e['requests']:>8} {e['failures']:>6} {e['rps']:>7} {e['p50_ms']:>8.0f} "
              f"{e['p99_ms']:>8.0f}")
    print(f"load: total {result['requests']} requests, {result['throughput_rps']} req/s, "
          f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, errors {result['errors']}")
    print(f"load: record: {result['signed_for_clients']} outputs signed for clients, {result['ledger_entries']} "
          f"ledger entries ({result['unacknowledged']['outputs']} signed as the clients stopped); lost "
          f"{result['lost']}, duplicated {result['duplicated']}, 5xx {result['server_errors']}; audit log "
          f"{result['audit_entries']} entries {'verified' if result['audit_verified'] else 'NOT verified'}")
    for line in result["failure_samples"]:
        print(f"load: ERROR {line}")
    print("load: " + ("OK: zero errors" if not result["errors"] else f"FAILED: {result['errors']} error(s)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite: the studio's SQLite file; postgresql: PostgreSQL and a Redis queue")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (logs, database, CSVs)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="slate-load-"))
    try:
        result = run(args.users, args.seconds, args.gunicorn_workers, args.threads, home, args.database)
    finally:
        if not args.keep:
            import shutil
            shutil.rmtree(home, ignore_errors=True)
    report(result)
    print(json.dumps({k: v for k, v in result.items() if k != "failure_samples"}))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""API benchmark: signed outputs per second through ``POST /api/v1/sign`` with 8 concurrent
clients against a real gunicorn server, next to bare c2pa-python signing of the same
images with 8 threads in the same run; and p50/p99 latency of ``POST /api/v1/requests``.

A second reference runs in the same run: the pixel work every Slate output gets before it is
signed (face detection, watermark, fingerprint, lossless re-encode), then bare signing; it
shows what part of the gap is checks later issues made mandatory rather than overhead. The
gunicorn workers' CPU per call (from /proc) is printed too: on a shared machine it moves far
less than latency does.

Both sides sign without a timestamp (``SLATE_TSA_URL=none``): a TSA round trip is the
TSA's time, not Slate's. Images are 128x128 PNGs, the bundled model's size. The worker
side is played by the benchmark: this measures the governance path, not generation.

    .venv/bin/python benchmarks/api_bench.py [--jobs 240] [--clients 8] [--profile DIR]

With ``--profile DIR`` each phase (requests, sign) is sampled in the gunicorn workers by
py-spy (a dev dependency; ``--nonblocking``, 250 samples a second) into ``DIR/<phase>.txt``
(collapsed stacks), and the functions where the samples fall are printed: what
docs/performance.md shows. Profiling slows the server; its figures are not the benchmark's.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import contextlib
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import c2pa
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance import demo  # noqa: E402
from governance.auth.users import principal_named  # noqa: E402
from governance.canonical import sha256_hex  # noqa: E402
from governance.credentials import c2pa_config, manifest, softbinding  # noqa: E402
from governance.credentials.claim import SigningClaim  # noqa: E402
from governance.credentials.keys import KeyStore  # noqa: E402
from governance.db import close_database, open_database  # noqa: E402
from governance.lifecycle.params import GenerationParams  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.perception.faces import detect_faces  # noqa: E402
from governance.registry import assets, fingerprints, licences, models_registry, training_sets  # noqa: E402
from governance.settings import Settings  # noqa: E402
from governance.workers import enrolment  # noqa: E402
from governance.workers.keyfile import WorkerKeyPair  # noqa: E402
from governance.workers.receipts import Receipt  # noqa: E402

WEIGHTS = "d" * 64
WORKER_KEY = WorkerKeyPair.generate()


def image_png(i: int) -> bytes:
    gradient = Image.linear_gradient("L").resize((128, 128))
    noise = Image.effect_noise((128, 128), 20 + i % 7)
    buffer = io.BytesIO()
    Image.merge("RGB", (gradient, noise, gradient.rotate(90))).save(buffer, "PNG")
    return buffer.getvalue()


def prepare(settings: Settings) -> dict[str, str]:
    from datetime import date
    open_database(settings.database_url)
    migrate()
    KeyStore(settings).ensure()
    studio = demo.seed(REPO / "policies" / "studio-default.yaml", settings)
    licences.add_licence("LIC-BENCH", "Bench Studio", grants=["ai_training", "previs"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    # the training member looks nothing like the outputs, so output review passes them
    member = io.BytesIO()
    Image.effect_mandelbrot((128, 128), (-2.0, -1.5, 1.0, 1.5), 64).convert("RGB").save(member, "PNG")
    sha = assets.register_asset(member.getvalue(), media_type="image/png", title="bench",
                                licence="LIC-BENCH")[0]["sha256"]
    training_sets.create_training_set("bench-set", [(sha, None)])
    models_registry.register_model("bench", "1", WEIGHTS, training_set="bench-set")
    models_registry.set_status("bench:1", "approved")
    # the worker's key, enrolled for gpu-worker and approved by the demo's admin: every sign
    # call carries a receipt it signed, as a real worker's does
    view = enrolment.enrol(principal_named("gpu-worker", "generator"), WORKER_KEY.public_key, "bench")
    enrolment.approve(view.id, principal_named("root-admin", "admin"))
    # the similarity index the output review reads, made from the fingerprints just registered
    fingerprints.rebuild(settings.index_dir, by=None)
    close_database()
    return studio.tokens


def receipt(job_id: str, image: bytes) -> str:
    """The worker's receipt for ``image`` of a bench job (the request's default parameters)."""
    params = GenerationParams()
    return WORKER_KEY.sign(Receipt(
        job_id=job_id, image_sha256=sha256_hex(image), weights_sha256=WEIGHTS, seed=params.seed,
        scheduler=params.scheduler, steps=params.steps, width=params.width, height=params.height,
        libraries={"torch": "bench", "diffusers": "bench"}, device={"type": "cpu"},
        key_id=WORKER_KEY.key_id)).text()


def call(base: str, token: str, method: str, path: str, body: bytes | None = None,
         content_type: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:  # the problem document says why; the caller asserts on it
        return error.code, json.loads(error.read() or b"null")


def multipart(fields: dict[str, str], image: bytes) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    parts = [f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{b}\r\nContent-Disposition: form-data; name="image"; filename="o.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + image + b"\r\n")
    return b"".join(parts) + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


def start_gunicorn(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "SLATE_HOME": str(home), "SLATE_POLICIES_DIR": str(REPO / "policies"),
           "SLATE_TSA_URL": "none"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "--threads", "4",
                                "-b", f"127.0.0.1:{port}", "governance.wsgi:app"], cwd=home, env=env,
                               stdout=subprocess.DEVNULL, stderr=open(home / "gunicorn.log", "wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=240)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="sample each phase with py-spy into this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slate-api-bench-") as folder:
        home = Path(folder)
        settings = Settings.for_folder(home, tsa_url="none")
        tokens = prepare(settings)
        port = 8600 + os.getpid() % 300
        server = start_gunicorn(home, port)
        base = f"http://127.0.0.1:{port}"
        try:
            profiler = Profiler(server.pid, args.profile) if args.profile else None
            result = run(base, tokens, settings, args.jobs, args.clients, profiler, server.pid)
        except Exception:
            print((home / "gunicorn.log").read_text()[-6000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(result))


class Profiler:
    """py-spy sampling the gunicorn master's workers while a phase runs."""

    def __init__(self, pid: int, folder: Path) -> None:
        self.pid, self.folder = pid, folder
        folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def phase(self, name: str):  # type: ignore[no-untyped-def]
        out = self.folder / f"{name}.txt"
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(self.pid),
                                "--subprocesses", "--nonblocking", "--idle", "--rate", "250", "--format", "raw",
                                "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches to every worker before the phase starts
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            summarise(name, out)


def summarise(name: str, stacks: Path, top: int = 30) -> None:
    """Print where a phase's samples fell: inclusive shares of Slate's own functions (and the
    libraries they call into), and the self shares of every frame."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue
        n = int(count)
        # idle gunicorn threads wait in select/accept/Condition.wait: not the request's time
        if any(idle in frames for idle in ("wait (threading.py", "select (selectors.py", "accept (socket.py",
                                           "sleep (gunicorn", "run (gunicorn/workers/gthread.py")) \
                and "handle (gunicorn" not in frames:
            continue
        total += n
        names = [f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] for f in frames.split(";")]
        for frame in set(names):
            inclusive[frame] += n
        own[names[-1]] += n
    print(f"== profile of {name}: {total} busy samples (stacks in {stacks})")
    for frame, n in [(f, n) for f, n in inclusive.most_common() if ".py:" in f or ".py)" in f][:top]:
        print(f"  {100 * n / max(total, 1):5.1f}% incl  {frame}")
    for frame, n in own.most_common(15):
        print(f"  {100 * n / max(total, 1):5.1f}% self  {frame}")


class ServerCpu:
    """CPU seconds the gunicorn workers spent (user + system, from /proc), lap by lap: a
    figure the other programs on a shared machine disturb far less than latency."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.last = self.total()

    def total(self) -> float:
        ticks = 0
        children = Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()
        for pid in children:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def lap(self) -> float:
        now = self.total()
        spent, self.last = now - self.last, now
        return spent


def run(base: str, tokens: dict[str, str], settings: Settings, jobs: int, clients: int,
        profiler: Profiler | None = None, server_pid: int = 0) -> dict[str, Any]:
    phase = profiler.phase if profiler else (lambda _name: contextlib.nullcontext())
    body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "bench:1",
            "prompt": "a quiet harbour at dusk"}

    def submit(_: int) -> tuple[float, str]:
        start = time.perf_counter()
        status, view = call(base, tokens["pat-producer"], "POST", "/api/v1/requests", json.dumps(body).encode(),
                            "application/json")
        assert status == 201 and view["job"], view
        return time.perf_counter() - start, view["job"]["id"]

    cpu = ServerCpu(server_pid)
    with phase("requests"), cf.ThreadPoolExecutor(clients) as pool:
        submitted = list(pool.map(submit, range(jobs)))
    request_latency = [s for s, _ in submitted]
    requests_cpu_ms = cpu.lap() * 1000 / jobs
    images = [image_png(i) for i in range(jobs)]

    def claim(i: int) -> float:
        # a worker claims its job before it generates; the claim is not part of signing
        start = time.perf_counter()
        status, out = call(base, tokens["gpu-worker"], "POST", f"/api/v1/jobs/{submitted[i][1]}/claim", b"{}",
                           "application/json")
        assert status == 200, out
        return time.perf_counter() - start

    with cf.ThreadPoolExecutor(clients) as pool:
        claim_latency = list(pool.map(claim, range(jobs)))
    cpu.lap()

    def sign(i: int) -> float:
        data, content_type = multipart({"job_id": submitted[i][1], "model_identity": WEIGHTS,
                                        "receipt": receipt(submitted[i][1], images[i])}, images[i])
        start = time.perf_counter()
        status, out = call(base, tokens["gpu-worker"], "POST", "/api/v1/sign", data, content_type)
        assert status == 201, out
        return time.perf_counter() - start

    with phase("sign"):
        started = time.perf_counter()
        with cf.ThreadPoolExecutor(clients) as pool:
            sign_latency = list(pool.map(sign, range(jobs)))
        slate_rate = jobs / (time.perf_counter() - started)
    sign_cpu_ms = cpu.lap() * 1000 / jobs

    # baseline: the same images signed with bare c2pa-python, same settings, same concurrency
    keys = KeyStore(settings)
    open_database(settings.database_url)
    key = keys.active_key()
    close_database()
    stem = settings.keys_dir / "signing" / key.fingerprint[:16]
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256,
                                                       stem.with_suffix(".chain.pem").read_bytes(),
                                                       stem.with_suffix(".key.pem").read_bytes(), None))
    context = c2pa_config.context(c2pa_config.signing_settings(keys.trust_anchors_pem()))
    claim = SigningClaim.from_dict({
        "model_name": "bench", "model_version": "1", "weights_sha256": WEIGHTS, "training_set_root": "2" * 64,
        "policy_uid": "urn:slate:policy:studio-default", "policy_version": "1", "policy_sha256": "3" * 64,
        "decision_id": "1", "request_id": "1", "job_id": "job_x", "prompt_sha256": "4" * 64})

    def bare(i: int) -> None:
        out = io.BytesIO()
        definition = manifest.definition(claim, label=manifest.new_label(), title="x.png")
        c2pa.Builder(definition, context=context).sign(signer, "image/png", io.BytesIO(images[i]), out)

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(bare, range(jobs)))
    bare_rate = jobs / (time.perf_counter() - started)

    # a second reference: bare signing after the pixel work every Slate output gets before it
    # is signed (face detection for output review, watermark, fingerprint, lossless re-encode):
    # what signing costs once those checks are required, with none of Slate's records
    def pixels_then_bare(i: int) -> None:
        detect_faces(images[i])
        bound = softbinding.bind(images[i], "image/png", embed=True, max_pixels=settings.max_image_pixels)
        out = io.BytesIO()
        definition = manifest.definition(claim, label=manifest.new_label(), title="x.png")
        c2pa.Builder(definition, context=context).sign(signer, "image/png", io.BytesIO(bound.data), out)

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(pixels_then_bare, range(jobs)))
    floor_rate = jobs / (time.perf_counter() - started)

    p50, p99 = percentile(request_latency, 0.5) * 1000, percentile(request_latency, 0.99) * 1000
    print(f"POST /api/v1/sign, {clients} clients, {jobs} jobs: {slate_rate:7.1f} signed outputs/s "
          f"(p50 {statistics.median(sign_latency) * 1000:.1f} ms)")
    print(f"bare c2pa-python sign, {clients} threads, same images: {bare_rate:7.1f} signed outputs/s "
          f"(Slate at {slate_rate / bare_rate:.2f}x; target 0.5x)")
    print(f"pixel checks + bare c2pa-python sign, {clients} threads:   {floor_rate:7.1f} signed outputs/s "
          f"(Slate at {slate_rate / floor_rate:.2f}x)")
    print(f"POST /api/v1/requests, {clients} clients: p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 <= 100 ms)")
    print(f"server CPU per call (all gunicorn workers): requests {requests_cpu_ms:.1f} ms, sign {sign_cpu_ms:.1f} ms")
    return {"benchmark": "api", "clients": clients, "jobs": jobs, "sign_outputs_per_s": round(slate_rate, 1),
            "baseline_outputs_per_s": round(bare_rate, 1), "ratio": round(bare_rate / slate_rate, 2),
            "sign_vs_bare": round(slate_rate / bare_rate, 3),
            "pixel_floor_outputs_per_s": round(floor_rate, 1), "sign_vs_pixel_floor": round(slate_rate / floor_rate, 3),
            "sign_p50_ms": round(statistics.median(sign_latency) * 1000, 1),
            "requests_p50_ms": round(p50, 1), "requests_p99_ms": round(p99, 1),
            "claim_p50_ms": round(statistics.median(claim_latency) * 1000, 1),
            "requests_server_cpu_ms": round(requests_cpu_ms, 2), "sign_server_cpu_ms": round(sign_cpu_ms, 2),
            "sign_target_met": slate_rate / bare_rate >= 0.5, "requests_target_met": p99 <= 100}


if __name__ == "__main__":
    main()

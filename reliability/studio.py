"""Throwaway studios for the reliability runs: a temporary Slate home with the demo studio
seeded once (its tokens kept, so restarted servers need no re-seeding), and either a real
micro diffusion model (crash test: a real worker generates) or a model registered with a
stand-in weights hash (load test: the load clients play the worker).

Everything here runs in the calling process against the home's database, then closes it:
the servers under test are separate processes.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from governance import demo  # noqa: E402
from governance.auth.users import principal_named  # noqa: E402
from governance.canonical import sha256_hex  # noqa: E402
from governance.credentials.keys import KeyStore  # noqa: E402
from governance.db import close_database, open_database  # noqa: E402
from governance.lifecycle.params import recorded  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.settings import Settings  # noqa: E402
from governance.workers import enrolment  # noqa: E402
from governance.workers.keyfile import WorkerKeyPair  # noqa: E402
from governance.workers.receipts import Receipt  # noqa: E402

POLICIES = REPO / "policies"
#: The stand-in identity of the load test's model: no worker runs it, the clients sign as it.
FAKE_WEIGHTS = "d" * 64
#: The topologies a reliability run can stand up: the embedded default, and the scale-out one.
DATABASES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Studio:
    home: Path
    settings: Settings
    tokens: dict[str, str]
    model_ref: str
    weights_hash: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Servers:
    """What a run talks to besides Slate's own processes: ``database_url`` None means the
    home's SQLite file; ``redis_url`` None means no Redis (the embedded worker's queue)."""

    database: str
    database_url: str | None
    redis_url: str | None

    def settings_overrides(self) -> dict[str, str]:
        return {"database_url": self.database_url} if self.database_url else {}

    def env(self) -> dict[str, str]:
        """What a Slate process serving the home needs in its environment to reach them."""
        env = {"SLATE_DATABASE_URL": self.database_url} if self.database_url else {}
        return {**env, **({"SLATE_REDIS_URL": self.redis_url} if self.redis_url else {})}


@contextlib.contextmanager
def servers(database: str, *, redis: bool, name: str) -> Iterator[Servers]:
    """Start what ``database`` needs on loopback (tests/servers.py), stopped after the block.

    ``sqlite``: Redis only when ``redis`` (and redis-server is installed; else none, said so).
    ``postgresql``: a PostgreSQL server with a fresh database, and Redis, both required (the
    scale-out topology: PostgreSQL, a Redis queue, standalone workers)."""
    from tests.servers import start_postgres, start_redis
    if database not in DATABASES:
        raise ValueError(f"database must be one of {', '.join(DATABASES)}, not {database!r}")
    with contextlib.ExitStack() as stack:
        url = None
        if database == "postgresql":
            postgres, reason = start_postgres()
            if postgres is None:
                raise RuntimeError(f"{name}: --database postgresql needs PostgreSQL: {reason}")
            stack.callback(postgres.stop)
            url = postgres.create_database()
        redis_url = None
        if redis or database == "postgresql":
            queue, reason = start_redis()
            if queue is None and database == "postgresql":
                raise RuntimeError(f"{name}: --database postgresql needs Redis: {reason}")
            if queue is None:
                print(f"{name}: {reason}; using the embedded worker (one process: each kill takes both)")
            else:
                stack.callback(queue.stop)
                redis_url = queue.url
        yield Servers(database, url, redis_url)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Slate process serving ``home`` (nothing from the caller's SLATE_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLATE_")}
    return {**env, "SLATE_HOME": str(home), "SLATE_POLICIES_DIR": str(POLICIES), "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1", **extra}


def test_image(i: int, size: int = 64) -> bytes:
    """A small distinct PNG per ``i`` (what a load client 'generates'): seeded noise, so that
    output review finds no two of them (nor the training image, ``i`` = -1) near copies."""
    import numpy as np
    from PIL import Image
    pixels = np.random.default_rng(abs(i) * 2 + (i < 0)).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _seed(settings: Settings) -> dict[str, str]:
    from governance.registry.fingerprints import use_folder
    open_database(settings.database_url)
    migrate()
    use_folder(settings.index_dir)  # as `slate serve` does: registered images go into the similarity index
    KeyStore(settings).ensure()
    tokens = demo.seed(POLICIES / "studio-default.yaml", settings).tokens
    _enrol_worker(settings)
    return tokens


def _enrol_worker(settings: Settings) -> None:
    """gpu-worker's key, in the home's worker folder (where ``slate worker`` reads it),
    enrolled and approved by the demo's admin."""
    key = WorkerKeyPair.load_or_create(settings.worker_key_dir)
    view = enrolment.enrol(principal_named("gpu-worker", "generator"), key.public_key, "reliability")
    if view.status == enrolment.PENDING:
        enrolment.approve(view.id, principal_named("root-admin", "admin"))


def receipt(home: Path, job_id: str, image: bytes, params: dict, weights: str) -> str:
    """The receipt gpu-worker's key signs for ``image`` of a job with ``params`` (as recorded)."""
    key = WorkerKeyPair.load_or_create(home / "worker")
    p = recorded(params)
    return key.sign(Receipt(job_id=job_id, image_sha256=sha256_hex(image), weights_sha256=weights, seed=p["seed"],
                            scheduler=p["scheduler"], steps=p["steps"], width=p["width"], height=p["height"],
                            libraries={"torch": "client", "diffusers": "client"}, device={"type": "client"},
                            key_id=key.key_id)).text()


def studio_with_fake_model(home: Path, **settings_overrides: str) -> Studio:
    """Demo studio plus ``bench:1``, approved, registered with ``FAKE_WEIGHTS``."""
    from governance.registry import assets, licences, models_registry, training_sets
    settings = Settings.for_folder(home, **settings_overrides)
    try:
        tokens = _seed(settings)
        licences.add_licence("LIC-LOAD", "Load Studio", grants=["ai_training", "previs"], territories=["WW"],
                             starts_on=date(2020, 1, 1))
        sha = assets.register_asset(test_image(-1), media_type="image/png", title="load",
                                    licence="LIC-LOAD")[0]["sha256"]
        training_sets.create_training_set("load-set", [(sha, None)])
        models_registry.register_model("bench", "1", FAKE_WEIGHTS, training_set="load-set")
        models_registry.set_status("bench:1", "approved")
    finally:
        close_database()
    return Studio(home, settings, tokens, "bench:1", FAKE_WEIGHTS)


def studio_with_micro_model(home: Path, **settings_overrides: str) -> Studio:
    """Demo studio plus a real micro diffusion model (trained here in seconds) registered
    as ``slate-studio:1`` with its real training set and identity, approved."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from generator import bundled
    from generator.architecture import MICRO
    from generator.dataset import studio_dataset
    from generator.training import TrainingConfig
    from governance.registry.models_registry import set_status
    settings = Settings.for_folder(home, **settings_overrides)
    images = studio_dataset(8, size=MICRO.image_size, seed=0)
    built = bundled.train_studio_model(settings.models_dir / bundled.MODEL_NAME, images,
                                       TrainingConfig(steps=12, autoencoder_steps=4, batch_size=4, threads=1),
                                       MICRO, progress=False)
    try:
        tokens = _seed(settings)
        training_set = bundled.register_training_data(images)
        model = bundled.register_bundled_model(built, training_set)
        if model["status"] == "registered":
            set_status(model["ref"], "approved", "reliability: approved")
    finally:
        close_database()
    return Studio(home, settings, tokens, model["ref"], built.identity.digest)


def wait_http(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    """Until ``url`` answers (any HTTP status); raises if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")

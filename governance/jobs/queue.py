"""The task queue: huey.

Why huey: it is an established, small task queue with exactly the two modes Slate needs
and one API for both. ``SqliteHuey`` keeps the queue in a SQLite file in the data folder,
so the default install needs no server and queued jobs survive a restart; ``RedisHuey``
lets any number of GPU hosts run ``slate worker`` against one Redis. Celery and RQ need a
broker even on one machine; Dramatiq's embedded broker does not persist.

A queue message carries only the job id. The worker fetches the job's specification and
posts its result through the API with its own generator token, so GPU hosts need no
database credentials. The task body loads the generator only when it runs, through the
``slate.worker`` entry point (``governance.plugins``): API hosts enqueue but never execute,
never load torch, and governance names no generator module.

The generation task has no retries. Retrying a whole job would generate it again, on the
GPU, for what is nearly always a signing outage; the worker retries the signing call
itself, within a deadline, and never raises for a job (see ``generator.signing``). A job
left unfinished (its worker died, or signing stayed unavailable) is enqueued again once
its lease lapses, by ``slate serve``'s requeuer or ``slate requeue``.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from typing import Any, Callable

from huey import Huey, RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

from ..db import private_folder, private_sqlite_file
from ..plugins import load_plugin
from ..settings import Settings

log = logging.getLogger("slate.jobs")

#: The entry point group naming the function a worker runs for a job id; loaded only
#: inside a worker process.
WORKER_GROUP = "slate.worker"


class QueueFile(SqliteStorage):  # type: ignore[misc]  # huey ships no types
    """huey's SQLite queue with its commits written as Slate's database writes its own:
    write-ahead log, ``synchronous=NORMAL``. huey leaves SQLite's default (FULL: an fsync
    on every commit), so each enqueue waited for the disk under huey's process-wide lock,
    and every gunicorn worker behind it: a third of a request's time under load. NORMAL
    loses nothing to a killed process; a power cut can lose the last messages, which
    ``slate serve``'s and ``slate housekeeping``'s requeuer sends again from the jobs'
    rows, as it does for a message that died with its worker."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


#: seconds a worker's blocking read at Redis (BRPOP) waits for a job before asking again;
#: a worker stopped mid-read is still handed a job enqueued in that window, until it resumes
REDIS_READ_TIMEOUT = 1


class Queue:
    """A huey instance and Slate's tasks on it."""

    def __init__(self, settings: Settings, *, immediate: bool = False) -> None:
        self.settings = settings
        if settings.redis_url:
            self.huey: Huey = RedisHuey("slate", url=settings.redis_url, immediate=immediate,
                                        read_timeout=REDIS_READ_TIMEOUT)
            self.kind = "redis"
        else:
            # queued job ids are no secret, but the data folder and everything in it are private
            filename = private_sqlite_file(private_folder(settings.data_dir) / "queue.db")
            self.huey = SqliteHuey("slate", filename=str(filename), immediate=immediate, storage_class=QueueFile)
            self.kind = "sqlite"
        # retries=0: one retry layer, the worker's signing retry (see the module docstring)
        self._generate = self.huey.task(retries=0, name="slate.generate")(_run_generation)
        self._reproduce = self.huey.task(retries=0, name="slate.reproduce")(_run_reproduction)
        self._train = self.huey.task(retries=0, name="slate.train")(_run_training)

    def enqueue_generation(self, job_id: str) -> None:
        self._generate(job_id)

    def enqueue_reproduction(self, sample_id: str) -> None:
        self._reproduce(sample_id)

    def enqueue_training(self, run_uid: str) -> None:
        self._train(run_uid)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def consumer(self, workers: int = 1) -> Any:
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=False,
                                         initial_delay=0.05, max_delay=1.0)


#: Set by the worker process before consuming: how it reaches the API.
worker_context: dict[str, Any] = {}


@functools.cache
def _worker() -> Callable[..., Any]:
    handler: Callable[..., Any] = load_plugin(WORKER_GROUP, "running a generation job")
    return handler


def _run_generation(job_id: str) -> Any:
    return _worker()(job_id, **worker_context)


def _run_reproduction(sample_id: str) -> Any:
    """A sampled output waits for a reproduction: the worker claims whichever sample it may
    take (``sample_id`` only says one waits; a worker is never handed its own output)."""
    reproduce_sample = getattr(_worker(), "reproduce_sample", None)
    if not callable(reproduce_sample):
        log.warning("the generator installed here cannot make sampled outputs again; sample %s waits "
                    "for another worker", sample_id)
        return {"sample_id": sample_id, "status": "skipped"}
    return reproduce_sample(**worker_context)


def _run_training(run_uid: str) -> Any:
    """An approved training run waits: the worker claims it by its uid through the API
    (``process_training_run`` on the ``slate.worker`` entry point)."""
    process_training_run = getattr(_worker(), "process_training_run", None)
    if not callable(process_training_run):
        log.warning("the generator installed here cannot train; training run %s waits for another worker", run_uid)
        return {"run": run_uid, "status": "skipped"}
    return process_training_run(run_uid, **worker_context)

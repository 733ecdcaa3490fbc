"""``slate serve`` (the API, with an embedded worker on the default install) and
``slate worker`` (a standalone worker for scale-out).

The embedded default needs no server at all: SQLite for state, huey's SQLite queue, the
bundled model trained on first run, development keys generated on first run. Production
runs the API under gunicorn (``gunicorn 'governance.wsgi:app'``) and ``slate worker``
on each GPU host against Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click

from ..errors import ConfigurationError, Conflict
from ..lifecycle import output_review
from ..lifecycle.dispatch import requeue, requeue_samples, stuck_statuses
from ..lifecycle.training_runs import requeue_training
from ..plugins import load_plugin
from ..settings import Settings
from . import SlateContext, emit, pass_slate

#: The entry point group naming the module that trains and registers the bundled model.
BUNDLED_MODEL_GROUP = "slate.bundled_model"

log = logging.getLogger("slate.server")


def ensure_bundled_model(slate: SlateContext, *, quiet: bool = False) -> dict[str, Any]:
    """Train and register the bundled model if this Slate has none yet; approve it for the demo."""
    from ..registry import models_registry
    from ..registry.tables import Model
    # the worker side (torch), plugged in only where it is installed
    bundled = load_plugin(BUNDLED_MODEL_GROUP, "training the bundled model")
    existing = Model.get_or_none(Model.name == bundled.MODEL_NAME, Model.version == bundled.MODEL_VERSION)
    # an attested build records no path: the worker finds it in the models folder by name
    kept = existing.path if existing is not None else None
    directory = Path(kept) if kept else bundled.bundled_directory(slate.settings)
    if existing is None or not directory.joinpath("model_index.json").exists():
        if not quiet:
            click.echo("first run: training the bundled model 'slate-studio' on its registered "
                       "training set (a few minutes on CPU)...")
        bundled.build_bundled_model(slate.settings, progress=not quiet)
        existing = Model.get(Model.name == bundled.MODEL_NAME, Model.version == bundled.MODEL_VERSION)
    if existing.status == "registered":
        models_registry.set_status(f"{existing.name}:{existing.version}", "approved",
                                   "demo: approved by the main command")
    return models_registry.show_model(f"{existing.name}:{existing.version}")


def _checkpoint_audit_log(keys: Any) -> None:
    """Sign the audit log's head at every start, so what happened before it is anchored. A log
    that no longer holds what its newest checkpoint signed gets no checkpoint, and the server
    still starts: it says so, and `slate audit verify` shows where (refusing to start would hand
    whoever changed the log a way to stop the studio)."""
    from ..audit.log import checkpoint
    from ..db import transaction
    try:
        with transaction():
            checkpoint(keys.file_signer(keys.active_key()))
    except Conflict as refused:
        click.echo(f"warning: {refused.diagnostics()}", err=True)


#: the embedded worker's generator user, and the server's own admin that approves its key
EMBEDDED_WORKER = "embedded-worker"
EMBEDDED_ADMIN = "embedded-server"


def _worker_token(days: int = 2) -> str:
    """A fresh token for the embedded worker's own generator user."""
    from ..auth import users
    from ..auth.tables import User
    if not User.select().where(User.name == EMBEDDED_WORKER).exists():
        users.add_user(EMBEDDED_WORKER, ["generator"])
    return str(users.issue_token(EMBEDDED_WORKER, label="embedded worker",
                                 expires_in=timedelta(days=days))["token"])


def enrol_embedded_worker(settings: Any) -> str:
    """Make the embedded worker's key (in this server's data folder), enrol it for its user and
    approve it; returns its key id.

    Approving without a person is safe here, and only here: the key is made by this process
    in the private data folder of the server that starts the worker, and the public key is
    read back from that file by the same process, never received over the network, so no
    one else's key can be slipped in. Whoever can write that folder can already write the
    database and the signing keys beside it. The approval is recorded (audit log) by the
    server's own admin user, which holds no token.
    """
    from ..auth import users
    from ..auth.tables import User
    from ..db import private_folder
    from ..workers import enrolment
    from ..workers.keyfile import WorkerKeyPair
    key = WorkerKeyPair.load_or_create(private_folder(settings.embedded_worker_dir, top=settings.data_dir))
    if not User.select().where(User.name == EMBEDDED_ADMIN).exists():
        users.add_user(EMBEDDED_ADMIN, ["admin"])
    worker = users.principal_named(EMBEDDED_WORKER, "generator")
    view = enrolment.enrol(worker, key.public_key, "embedded worker (this server's data folder)")
    if view.status == enrolment.PENDING:
        enrolment.approve(view.id, users.principal_named(EMBEDDED_ADMIN, "admin"))
    return key.key_id


def _start_http(app: Any, host: str, port: int) -> Any:
    from werkzeug.serving import make_server
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="slate-http", daemon=True)
    thread.start()
    return server


def _start_requeuer(queue: Any, lease_s: float) -> threading.Thread:
    """Every half lease, enqueue again the jobs stuck for a whole lease."""
    lease = timedelta(seconds=lease_s)

    def loop() -> None:
        while True:
            time.sleep(max(0.5, lease_s / 2))
            _housekeeping_pass(queue, lease)

    thread = threading.Thread(target=loop, name="slate-requeue", daemon=True)
    thread.start()
    return thread


def _housekeeping_pass(queue: Any, lease: timedelta) -> None:
    """One pass of what keeps a Slate healthy besides serving HTTP: enqueue again the jobs
    stuck for a whole lease (their worker died), the waiting reproduction samples and
    training runs, and purge quarantined images past their retention. Errors are logged,
    never raised: the next pass tries again, and whatever runs this (the API, or
    ``slate housekeeping``) must stay up."""
    from ..db import database
    try:
        requeued = requeue(queue, lease, stuck_statuses(queue))
        if requeued:
            log.warning("re-queued %d job(s) with no progress for %.0f s", requeued, lease.total_seconds())
        if queue.pending() == 0:  # a sample's message taken by the one worker that may not run it
            requeue_samples(queue, lease)
            requeue_training(queue)  # a run whose message was lost, or whose worker died
        purged = output_review.purge()
        if purged:
            log.info("purged %d quarantined image(s) past their retention", purged)
    except Exception:
        log.exception("re-queueing stuck jobs failed")
    finally:
        if not database.is_closed():
            database.close()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8420, show_default=True, type=click.IntRange(1, 65535))
@click.option("--embedded-worker/--no-embedded-worker", default=True, show_default=True,
              help="Run a generator worker in this process (the default install's single machine).")
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Seed the demo studio (production, people, licences, policy, users) and print tokens.")
@click.option("--requeue-after", default=300.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a job may sit queued or running without progress before it is enqueued "
                   "again (its worker died); 0 turns this off.")
@click.option("--exit-after-setup", is_flag=True, help="Prepare everything, print it, and exit (for scripts).")
@pass_slate
def serve_command(slate: SlateContext, host: str, port: int, embedded_worker: bool, demo: bool,
                  requeue_after: float, exit_after_setup: bool) -> None:
    """Start Slate: the API (and docs at /docs) and, by default, an embedded worker."""
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from .. import demo as demo_studio
    from ..app import create_app, warm_up
    from ..credentials.keys import KeyStore
    from ..db import private_folder
    from ..jobs import queue as queue_module
    from ..registry.status import registry_status

    slate.open()
    # the data folder is private even where nothing in it is SQLite (PostgreSQL, Redis):
    # signed outputs and documents land there
    private_folder(slate.settings.data_dir)
    keys = KeyStore(slate.settings)
    keys.ensure()
    model = ensure_bundled_model(slate) if embedded_worker else None
    studio = demo_studio.seed(slate.settings.policies_dir / "studio-default.yaml", slate.settings) if demo else None
    _checkpoint_audit_log(keys)
    status = registry_status(slate.settings)
    base = f"http://{host}:{port}"
    emit(status, False)
    click.echo(f"signing key   {keys.active_key().fingerprint[:16]}… (trust anchors: {keys.dir / 'trust-anchors.pem'})")
    if model:
        click.echo(f"model         {model['ref']} {model['status']}, weights {model['weights_hash'][:16]}…, "
                   f"training set root {model['training_set_root'][:16]}…")
    if studio:
        click.echo(f"policy        {studio.policy}")
        click.echo("demo tokens (shown once; each expires in 30 days):")
        for name, token in studio.tokens.items():
            click.echo(f"  {name:<14} {token}")
        click.echo(f"reference     {studio.reference_sha256} (Harbour plate, licensed from Northlight)")
    if exit_after_setup:
        return
    app = warm_up(create_app(slate.settings), one_thread_per_request=not embedded_worker)
    queue = queue_module.Queue(slate.settings)
    server = _start_http(app, host, port)
    click.echo(f"Slate is serving {base}  (web pages {base}/, API {base}/api/v1, docs {base}/docs, "
               f"OpenAPI {base}/openapi.json)")
    click.echo(f"queue         {queue.kind}; embedded worker {'on' if embedded_worker else 'off'}. Ctrl-C stops.")
    try:
        if embedded_worker:
            token = _worker_token()
            key = enrol_embedded_worker(slate.settings)
            click.echo(f"worker key    {key[:16]}… (embedded worker, approved by this server)")
            queue_module.worker_context.update(api_url=base, token=token, models_dir=str(slate.settings.models_dir),
                                               key_dir=str(slate.settings.embedded_worker_dir),
                                               **_training_options(slate.settings, embedded=True))
        # jobs a killed process left behind: with a standalone worker too, whose queue
        # message may have died with it or never been sent
        requeued = requeue(queue, statuses=stuck_statuses(queue))
        if requeued:
            click.echo(f"re-queued {requeued} unfinished job(s) from before the restart")
        if requeue_after:
            _start_requeuer(queue, requeue_after)
        if not embedded_worker:
            threading.Event().wait()
        queue.consumer(workers=1).run()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _training_options(settings: Settings, *, embedded: bool) -> dict[str, str | None]:
    """What a worker needs beyond generation: the training sets' folder, and the public key
    it checks Slate's model signatures with (the embedded worker reads Slate's own)."""
    from ..credentials.model_signatures import PUBLIC_KEY_FILE, signing_key_path
    if embedded:
        signing_key_path(settings.keys_dir)
        key: Path | None = settings.keys_dir / PUBLIC_KEY_FILE
    else:
        key = settings.model_signing_public_key
    return {"data_dir": str(settings.training_data_dir) if settings.training_data_dir else None,
            "signature_key": str(key) if key else None}


@click.group("worker", invoke_without_command=True)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads (one model instance is shared; generation is serialised per process).")
@click.pass_context
def worker_command(ctx: click.Context, workers: int) -> None:
    """A standalone generator worker (no subcommand): pulls jobs from the queue (Redis for many
    hosts) and signs each image's receipt with its enrolled key. Its subcommands enrol, approve,
    revoke and list worker keys."""
    slate = ctx.find_object(SlateContext)
    if ctx.invoked_subcommand is None and slate is not None:
        _run_worker(slate, workers)


def _run_worker(slate: SlateContext, workers: int) -> None:
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ..jobs import queue as queue_module
    from ..workers.keyfile import KEY_FILE
    settings = slate.settings
    if not settings.worker_token:
        raise ConfigurationError("a worker needs its generator token in SLATE_WORKER_TOKEN",
                                 hint="an admin creates one: slate token create <generator user>")
    if urlparse(settings.api_url).scheme not in ("http", "https"):
        raise ConfigurationError("SLATE_API_URL must be an http(s) URL of Slate's API")
    if not (settings.worker_key_dir / KEY_FILE).exists():
        raise ConfigurationError(f"this worker has no key in {settings.worker_key_dir}: every image it sends is "
                                 "signed with it", hint="run `slate worker enroll`, then have an admin approve it")
    # the generator (torch, the model code) is imported now rather than at the first job: a host
    # that cannot generate says so at start, and its first job waits for no import
    load_plugin(queue_module.WORKER_GROUP, "running a generation job")
    queue = queue_module.Queue(settings)
    queue_module.worker_context.update(api_url=settings.api_url, token=settings.worker_token,
                                       models_dir=str(settings.models_dir), key_dir=str(settings.worker_key_dir),
                                       **_training_options(settings, embedded=False))
    click.echo(f"worker: queue {queue.kind}, API {settings.api_url}, {workers} thread(s). Ctrl-C stops.")
    queue.consumer(workers=workers).run()


@click.command("requeue")
@click.option("--older-than", default=300.0, show_default=True, type=click.FloatRange(1),
              help="Seconds without progress after which a job counts as stuck.")
@pass_slate
def requeue_command(slate: SlateContext, older_than: float) -> None:
    """Enqueue again jobs whose worker died (for fleets: run it from cron beside gunicorn).

    Running jobs stuck that long are always re-enqueued; queued ones only while the queue
    is empty. Signing is idempotent per job, so a job run twice still yields one output.
    """
    from ..jobs import queue as queue_module
    slate.open()
    queue = queue_module.Queue(slate.settings)
    count = requeue(queue, timedelta(seconds=older_than), stuck_statuses(queue))
    samples = requeue_samples(queue, timedelta(seconds=older_than)) if queue.pending() == 0 else 0
    click.echo(f"re-queued {count} stuck job(s) and {samples} waiting reproduction sample(s) "
               f"on the {queue.kind} queue")


@click.command("housekeeping")
@click.option("--requeue-after", default=300.0, show_default=True, type=click.FloatRange(1),
              help="Seconds a job may sit queued or running without progress before it is enqueued again.")
@click.option("--once", is_flag=True, help="One pass, then exit (for a cron job or a systemd timer).")
@pass_slate
def housekeeping_command(slate: SlateContext, requeue_after: float, once: bool) -> None:
    """What `slate serve` does besides HTTP, for a fleet whose API runs under gunicorn: run ONE per
    Slate, beside the API processes (it needs the database and the queue, not a port).

    At start it signs the audit log's head (as `slate serve` does at every start); then, every
    half of --requeue-after, it enqueues again the jobs whose worker died (and waiting
    reproduction samples and training runs) and purges quarantined images past their
    retention. It never re-queues everything at start: a restart of this process says
    nothing about the workers, whose jobs the lease covers.
    """
    from ..credentials.keys import KeyStore
    from ..jobs import queue as queue_module
    slate.open()
    keys = KeyStore(slate.settings)
    keys.ensure()
    _checkpoint_audit_log(keys)
    queue = queue_module.Queue(slate.settings)
    lease = timedelta(seconds=requeue_after)
    if once:
        _housekeeping_pass(queue, lease)
        click.echo(f"housekeeping: one pass done on the {queue.kind} queue")
        return
    click.echo(f"housekeeping: audit log checkpointed; re-queueing jobs stuck for {requeue_after:.0f} s "
               f"on the {queue.kind} queue every {max(0.5, requeue_after / 2):.0f} s. Ctrl-C stops.")
    try:
        while True:
            time.sleep(max(0.5, requeue_after / 2))
            _housekeeping_pass(queue, lease)
    except KeyboardInterrupt:
        pass


commands = [serve_command, worker_command, requeue_command, housekeeping_command]

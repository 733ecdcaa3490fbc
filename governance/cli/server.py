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

from ..errors import ConfigurationError
from ..lifecycle.dispatch import requeue, stuck_statuses
from ..plugins import load_plugin
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
    if existing is None or not Path(existing.path or "").joinpath("model_index.json").exists():
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
    """Sign the audit log's head at every start, so what happened before it is anchored."""
    from ..audit.log import checkpoint
    from ..db import transaction
    with transaction():
        checkpoint(keys.file_signer(keys.active_key()))


def _worker_token(days: int = 2) -> str:
    """A fresh token for the embedded worker's own generator user."""
    from ..auth import users
    from ..auth.tables import User
    if not User.select().where(User.name == "embedded-worker").exists():
        users.add_user("embedded-worker", ["generator"])
    return str(users.issue_token("embedded-worker", label="embedded worker",
                                 expires_in=timedelta(days=days))["token"])


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
        from ..db import database
        while True:
            time.sleep(max(0.5, lease_s / 2))
            try:
                requeued = requeue(queue, lease, stuck_statuses(queue))
                if requeued:
                    log.warning("re-queued %d job(s) with no progress for %.0f s", requeued, lease_s)
            except Exception:  # the next pass tries again; the API must stay up
                log.exception("re-queueing stuck jobs failed")
            finally:
                if not database.is_closed():
                    database.close()

    thread = threading.Thread(target=loop, name="slate-requeue", daemon=True)
    thread.start()
    return thread


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
    from ..app import create_app
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
    app = create_app(slate.settings)
    queue = queue_module.Queue(slate.settings)
    server = _start_http(app, host, port)
    click.echo(f"Slate is serving {base}  (web pages {base}/, API {base}/api/v1, docs {base}/docs, "
               f"OpenAPI {base}/openapi.json)")
    click.echo(f"queue         {queue.kind}; embedded worker {'on' if embedded_worker else 'off'}. Ctrl-C stops.")
    try:
        if embedded_worker:
            queue_module.worker_context.update(api_url=base, token=_worker_token(),
                                               models_dir=str(slate.settings.models_dir))
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


@click.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads (one model instance is shared; generation is serialised per process).")
@pass_slate
def worker_command(slate: SlateContext, workers: int) -> None:
    """A standalone generator worker: pulls jobs from the queue (Redis for many hosts)."""
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ..jobs import queue as queue_module
    settings = slate.settings
    if not settings.worker_token:
        raise ConfigurationError("a worker needs its generator token in SLATE_WORKER_TOKEN",
                                 hint="an admin creates one: slate token create <generator user>")
    if urlparse(settings.api_url).scheme not in ("http", "https"):
        raise ConfigurationError("SLATE_API_URL must be an http(s) URL of Slate's API")
    queue = queue_module.Queue(settings)
    queue_module.worker_context.update(api_url=settings.api_url, token=settings.worker_token,
                                       models_dir=str(settings.models_dir))
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
    click.echo(f"re-queued {count} stuck job(s) on the {queue.kind} queue")


commands = [serve_command, worker_command, requeue_command]

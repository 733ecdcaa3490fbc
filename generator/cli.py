"""``slate model build-bundled``: train and register Slate's bundled demo model; ``slate
worker enroll``: make this worker's key and enrol it.

Thin adapters: the work is ``bundled.build_bundled_model`` and the API's
``/api/v1/workers``. This module is the ``slate.commands`` entry point (pyproject.toml):
``slate`` adds ``subcommands`` to its ``model`` and ``worker`` groups. torch is imported
only when a command needs it, so the ``slate`` CLI starts without the generator extra.
"""

from __future__ import annotations

import os
from typing import Any

import click

from governance.cli import SlateContext, emits
from governance.errors import ConfigurationError


@click.command("build-bundled")
@click.option("--steps", type=int, default=None, help="UNet training steps (default: 600).")
@click.option("--autoencoder-steps", type=int, default=None, help="Autoencoder steps (default: 300).")
@click.option("--threads", type=int, default=2, show_default=True,
              help="torch threads; the weights (and so the identity) depend on it.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@emits()
def build_bundled_command(slate: SlateContext, steps: int | None, autoencoder_steps: int | None,
                          threads: int, quiet: bool) -> Any:
    """Generate the studio images, register them, train slate-studio and register it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from dataclasses import replace

    try:
        from .bundled import build_bundled_model
        from .training import TrainingConfig
    except ModuleNotFoundError as exc:  # the generator package without its extra (torch, diffusers)
        raise ConfigurationError(f"building the bundled model needs '{exc.name}', which is not installed here",
                                 hint="install Slate's generator extra: pip install 'slate[generator]'") from None

    config = TrainingConfig(threads=threads)
    if steps is not None:
        config = replace(config, steps=steps)
    if autoencoder_steps is not None:
        config = replace(config, autoencoder_steps=autoencoder_steps)
    return build_bundled_model(slate.settings, config=config, progress=not quiet).summary()


@click.command("enroll")
@click.option("--label", default=None, help="Which worker host this is, for the admin (default: its host name).")
@emits(lambda result: "\n".join(f"{k.ljust(11)} {v}" for k, v in result.items()), database=False)
def enroll_command(slate: SlateContext, label: str | None) -> Any:
    """Make this worker's key pair in its own folder (SLATE_WORKER_DIR; the private key, 0600,
    never leaves it) and enrol the public key for the worker's generator user
    (SLATE_WORKER_TOKEN at SLATE_API_URL). The key signs nothing Slate accepts until an
    admin approves it: slate worker approve ID --by ADMIN. Running it again sends the same key."""
    import socket

    from governance.workers.keyfile import WorkerKeyPair

    from .service import SlateApiClient

    settings = slate.settings
    if not settings.worker_token:
        raise ConfigurationError("enrolling needs the worker's generator token in SLATE_WORKER_TOKEN",
                                 hint="an admin creates one: slate token create <generator user>")
    key = WorkerKeyPair.load_or_create(settings.worker_key_dir)
    enrolled = SlateApiClient(settings.api_url, settings.worker_token).enrol(
        key.public_key, label if label is not None else socket.gethostname()[:200])
    return {"id": enrolled["id"], "key_id": key.key_id, "public_key": key.public_key, "user": enrolled["user"],
            "status": enrolled["status"], "key_file": str(key.path),
            "next": (f"an admin approves it: slate worker approve {enrolled['id']} --by ADMIN"
                     if enrolled["status"] == "pending" else f"the key is {enrolled['status']}")}


subcommands = {"model": [build_bundled_command], "worker": [enroll_command]}

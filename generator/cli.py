"""``slate model build-bundled``: train and register Slate's bundled demo model.

A thin adapter: the work is ``bundled.build_bundled_model``. This module is the
``slate.commands`` entry point (pyproject.toml): ``slate`` adds ``subcommands`` to its
``model`` group. torch is imported only when the command runs, so the ``slate`` CLI starts
without the generator extra installed.
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


subcommands = {"model": [build_bundled_command]}

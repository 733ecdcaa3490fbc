"""Optional parts: modules that contribute commands or blueprints when they are installed."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(name: str) -> ModuleType | None:
    """The module, or None when it (or a package above it) is not installed.

    A module that exists but fails to import for another reason still raises: a broken
    part must not silently disappear from the CLI or the API.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise

"""Parts installed beside Slate that plug into it: found through entry points, never named here.

The generator (``generator/``) is such a part: governance must run without it (API hosts
carry no GPU stack) and never imports it, not even by a module name in a string. Instead
the distribution that ships it declares entry points in these groups (``pyproject.toml``):

- ``slate.commands``: modules that add commands to ``slate``, each with ``commands`` and/or
  ``subcommands`` like the modules of ``governance.cli``;
- ``slate.worker``: the function a queue worker runs for a job id (``process_job``);
- ``slate.bundled_model``: the module that trains and registers the bundled demo model.

A part whose module is not installed (or a package above it) is simply absent. One that is
installed but fails to import for another reason still raises: a broken part must not
silently disappear.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import ConfigurationError


def load_plugins(group: str) -> list[Any]:
    """What every entry point in ``group`` names, skipping those whose module is absent."""
    loaded = []
    for point in _points(group):
        value = _load(point)
        if value is not None:
            loaded.append(value)
    return loaded


def load_plugin(group: str, what: str) -> Any:
    """The one part ``group`` names; a ``ConfigurationError`` saying what is missing when
    none is installed (``what`` says what it would have done)."""
    try:
        found = load_plugins(group)
    except ModuleNotFoundError as exc:  # installed, but not what it needs (torch, on an API host)
        raise ConfigurationError(f"{what} needs '{exc.name}', which is not installed here",
                                 hint="install Slate's generator extra: pip install 'slate[generator]'") from exc
    if not found:
        raise ConfigurationError(f"{what} needs Slate's generator, which is not installed here",
                                 hint="install it on this host: pip install 'slate[generator]'")
    if len(found) > 1:
        raise ConfigurationError(f"more than one package plugs into {group}; uninstall all but one")
    return found[0]


def _points(group: str) -> list[EntryPoint]:
    # one distribution may be on the path twice (an editable install and its build folder)
    unique = {(point.name, point.value): point for point in entry_points(group=group)}
    return sorted(unique.values(), key=lambda point: point.name)


def _load(point: EntryPoint) -> Any:
    module = point.module
    try:
        return point.load()
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise

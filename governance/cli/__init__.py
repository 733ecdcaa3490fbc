"""The ``slate`` command line: ``slate <noun> <verb>``.

One click group, ``cli``. Every module in this package contributes its commands (a module's
``commands``, and ``subcommands`` for a group another module made), found with
``pkgutil.walk_packages``; a part installed beside Slate, such as the generator, adds its
own through the ``slate.commands`` entry point group (see ``governance.plugins``).
Nothing in governance imports this package but ``__main__``: it is the top of the layers.

Thin adapters only: each command parses its arguments, calls the same domain function
the API calls, and returns the result, which ``emits`` prints as text or ``--json``
after opening the database. Errors are ``SlateError``s, printed as one line (plus a
hint) with the error's exit code, never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any, Callable, Iterable

import click

from ..canonical import json_default
from ..errors import SlateError
from ..plugins import load_plugins
from ..settings import Settings

#: The entry point group whose modules add commands, like this package's own modules.
COMMANDS_GROUP = "slate.commands"


class SlateContext:
    """What every command gets: settings, and the database opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened = False

    def open(self) -> None:
        if not self._opened:
            import getpass

            from ..audit.log import current_actor
            from ..db import open_database
            from ..logs import quiet_query_logging
            from ..migrations import migrate
            quiet_query_logging()
            open_database(self.settings.database_url)
            migrate()
            from ..registry.attestations import use_keys_folder
            from ..registry.faces import use_matcher
            from ..registry.fingerprints import use_folder
            use_folder(self.settings.index_dir)
            use_keys_folder(self.settings.keys_dir)
            use_matcher(self.settings.face_matcher_model, self.settings.face_matcher_threshold,
                        self.settings.face_matcher_input)
            current_actor.set(f"cli:{getpass.getuser()}")
            self._opened = True


pass_slate = click.make_pass_decorator(SlateContext)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def emit(value: Any, as_json: bool, render: Callable[[Any], str] | None = None) -> None:
    """Print a result as canonical-ish JSON or as text for a person.

    A value that owns its serialisation (``to_dict``) is printed as that, at any depth, so a
    command can hand ``render`` the value itself rather than its dict."""
    if as_json:
        click.echo(json.dumps(value, indent=2, sort_keys=True, default=_jsonable))
    else:
        click.echo(render(value) if render else _render_default(value))


@dataclass(frozen=True)
class Rendered:
    """A result whose text needs more than the result: ``--json`` prints ``data``, a person
    reads ``text``."""

    data: Any
    text: str

    def to_dict(self) -> Any:
        return self.data


def emits(render: Callable[[Any], str] | None = None, *, database: bool = True, json_only: bool = False,
          after: Callable[[Any], None] | None = None) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Make a command of a function that returns its result.

    The function gets the ``SlateContext`` first and its click parameters after; the command
    gains ``--json`` and prints what the function returns with ``emit`` (``render`` for a
    person, ``_render_default`` without one; always JSON with ``json_only``, which adds no
    flag). The database is opened before the function runs: a command that must check its
    input first, or needs no database, says ``database=False`` and opens it itself where it
    needs it. ``after`` sees the result once it is printed: how a command that printed a
    failing verdict exits non-zero.
    """
    def decorate(function: Callable[..., Any]) -> Callable[..., None]:
        @functools.wraps(function)
        def run(slate: SlateContext, /, *args: Any, as_json: bool = True, **kwargs: Any) -> None:
            if database:
                slate.open()
            result = function(slate, *args, **kwargs)
            emit(result, as_json, render)
            if after is not None:
                after(result)
        command = pass_slate(run)
        return command if json_only else json_option(command)
    return decorate


def exit_unless_ok(result: Any) -> None:
    """``after`` for a verdict: exit 1 once a verdict that is not ok has been printed (``slate
    verify`` of a file not intact, trusted, issued and in good standing; ``slate audit verify``
    of a log that was tampered with)."""
    if not result.ok:
        raise click.exceptions.Exit(1)


def _jsonable(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else json_default(value)


def _render_default(value: Any) -> str:
    if isinstance(value, Rendered):
        return value.text
    if isinstance(value, list):
        return "\n".join(_render_default(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        width = max((len(str(k)) for k in value), default=0)
        return "\n".join(f"{str(k).ljust(width)}  {_scalar(v)}" for k, v in value.items())
    return str(value)


def _scalar(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) if v else "-"
    if isinstance(v, (datetime, date)):
        return str(json_default(v))
    return "-" if v is None else str(v)


def multi(values: tuple[str, ...]) -> list[str]:
    """Accept both ``--x a --x b`` and ``--x a,b``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as aligned columns under upper-case headings, for a person."""
    if not rows:
        return "(none)"

    def cell(v: Any) -> str:
        if isinstance(v, list):
            return ",".join(map(str, v)) or "-"
        return _scalar(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


class SlateGroup(click.Group):
    """Turns SlateErrors into one clear line and the error's exit code.

    The command modules, this package's and the plugins', are loaded on first use, not when
    this package is imported: they import it themselves (``emits``), and loading them from
    inside its import would hand back a half-initialised module whenever one of them (the
    generator's, say) was imported first.
    """

    _loaded = False

    def _ensure_loaded(self) -> None:
        if not SlateGroup._loaded:
            SlateGroup._loaded = True
            _load_commands()

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._ensure_loaded()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._ensure_loaded()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SlateError as exc:
            click.echo(f"error: {exc.diagnostics()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=SlateGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Slate: governance and provenance for bespoke generative image models."""
    ctx.obj = SlateContext(Settings.from_env())


def _command_modules() -> Iterable[ModuleType]:
    """This package's modules, then the plugins': a plugin may add to a group made here."""
    for found in pkgutil.walk_packages(__path__, f"{__name__}."):
        yield importlib.import_module(found.name)
    yield from load_plugins(COMMANDS_GROUP)


def _load_commands() -> None:
    for module in _command_modules():
        for command in getattr(module, "commands", []):
            cli.add_command(command)
        for group_name, extra in getattr(module, "subcommands", {}).items():
            group = cli.commands[group_name]
            assert isinstance(group, click.Group)
            for command in extra:
                group.add_command(command)


def main() -> None:
    cli(prog_name="slate")


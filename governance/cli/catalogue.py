"""``slate catalogue show|list|validate|draft|approve|publish`` and ``slate attributes set``:
thin adapters over the fact catalogue and the registry's attribute changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..auth.users import principal_named
from ..catalogue import load_catalogue, published_catalogue
from ..catalogue import versions as catalogue_versions
from ..errors import InvalidInput
from ..policy import versions as policy_versions
from ..principal import Principal
from ..registry.attribute_changes import KINDS, set_attributes
from . import SlateContext, emits, table

by_option = click.option("--by", "by_name", required=True,
                         help="The legal user or admin this is recorded for (checked against their roles).")


def _curator(name: str) -> Principal:
    return principal_named(name, catalogue_versions.CURATORS)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror or type(exc).__name__}") from None


def _render_catalogue(c: dict[str, Any]) -> str:
    if not c["version"]:
        return "no catalogue is published: records carry no attributes, closed lists are Slate's own"
    lines = [f"{c['uid']} version {c['version']}: {c['title']} (sha256 {c['sha256'][:16]})"]
    for kind, declared in c["attributes"].items():
        lines += [f"  {kind}.{a['name']}: {a['type']}"
                  + (f" [{', '.join(a['values'])}]" if a["values"] else "")
                  + (f"  {a['title']}" if a["title"] else "") for a in declared]
    lines += [f"  {key} adds: {', '.join(values)}" for key, values in c["vocabularies"].items()]
    return "\n".join(lines)


@click.group("catalogue")
def catalogue_group() -> None:
    """The fact catalogue: typed attributes records carry, and words added to closed lists."""


@catalogue_group.command("show")
@click.argument("version", required=False)
@emits(lambda r: r.get("text") or _render_catalogue(r))
def catalogue_show(slate: SlateContext, version: str | None) -> Any:
    """The published catalogue; with VERSION, that version's record and file."""
    if version:
        return catalogue_versions.show_version(version, with_text=True)
    return published_catalogue().to_dict()


@catalogue_group.command("list")
@emits(lambda rows: table(rows, ["version", "uid", "title", "status", "author", "published_at"]))
def catalogue_list(slate: SlateContext) -> Any:
    return catalogue_versions.list_versions()


@catalogue_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@emits(lambda r: f"{r['file']}: valid ({r['uid']} version {r['version']}, {r['attributes']} attributes)",
       database=False)
def catalogue_validate(slate: SlateContext, file: Path) -> Any:
    """Check a catalogue file; list every problem with its line."""
    catalogue = load_catalogue(_read(file), str(file))
    return {"file": str(file), "uid": catalogue.uid, "version": catalogue.version,
            "attributes": sum(len(d) for d in catalogue.attributes.values())}


@catalogue_group.command("draft")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@by_option
@emits()
def catalogue_draft(slate: SlateContext, file: Path, by_name: str) -> Any:
    """Record a catalogue file as a draft; someone else must approve it."""
    return catalogue_versions.draft_version(_read(file), _curator(by_name), str(file))


@catalogue_group.command("approve")
@click.argument("version")
@by_option
@click.option("--comment", default="")
@emits()
def catalogue_approve(slate: SlateContext, version: str, by_name: str, comment: str) -> Any:
    """Approve a draft (not its author)."""
    return catalogue_versions.approve_version(version, _curator(by_name), comment)


@catalogue_group.command("publish")
@click.argument("version")
@by_option
@emits()
def catalogue_publish(slate: SlateContext, version: str, by_name: str) -> Any:
    """Make an approved version the one records are checked against (refused if a published
    policy reads an attribute it no longer declares)."""
    return policy_versions.publish_catalogue(version, _curator(by_name))


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; a VALUE that reads as JSON (a number, true, a list, null) is that
    value, anything else is text (quote a number to keep it text: 'code="007"')."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"'{pair[:80]}' is not NAME=VALUE")
        try:
            values[name.strip()] = json.loads(text)
        except ValueError:
            values[name.strip()] = text
    return values


@click.group("attributes")
def attributes_group() -> None:
    """The catalogue attributes of registered records."""


@attributes_group.command("set")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("ref")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--by", "by_name", default=None, help="The legal user this is recorded for; default: the operator.")
@emits()
def attributes_set(slate: SlateContext, kind: str, ref: str, assignments: tuple[str, ...],
                   by_name: str | None) -> Any:
    """Set attributes of a record: NAME=VALUE ... (VALUE null unsets one)."""
    by = principal_named(by_name, "legal") if by_name else None
    return set_attributes(kind, ref, parse_assignments(assignments), by=by)


commands = [catalogue_group, attributes_group]

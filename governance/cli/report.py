"""``slate report clearance|verify``: the production's signed clearance report, and its offline check.

Thin adapters over ``provenance.clearance_report`` (the same path as the API and the page).
``--fail-on-issues`` exits ``ISSUES_EXIT`` once the report is written, so a delivery pipeline
can gate on it; ``report verify`` needs no database, only the report and the trust anchors
(``slate keys export-anchors``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..audit.trust import TrustAnchors
from ..errors import InvalidInput
from ..provenance import clearance_report as clearance
from ..provenance import report_render, timelines
from . import SlateContext, emits, exit_unless_ok, pass_slate

#: the exit status of ``--fail-on-issues`` when the report lists issues (distinct from every
#: SlateError's 1-10, so a pipeline tells "not clear" from "could not make the report")
ISSUES_EXIT = 20
FORMATS = ("json", "html", "pdf")


@click.group("report")
def report_group() -> None:
    """Documents for the production: the clearance report."""


def _timeline(slate: SlateContext, path: Path | None, production: str) -> Any:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the timeline '{path}': {exc.strerror}") from None
    return timelines.match_clips(timelines.read_timeline(data, path.name), production, None)


def rendered(signed: clearance.SignedReport, fmt: str) -> bytes:
    """The signed report in ``fmt``: canonical JSON (what verifies), HTML or PDF (P2's renderings)."""
    if fmt == "html":
        return report_render.render_html(signed.data).encode("utf-8")
    if fmt == "pdf":
        return report_render.render_pdf(signed.data)
    return signed.canonical + b"\n"


@report_group.command("clearance")
@click.option("--production", required=True, help="The production whose outputs the report clears.")
@click.option("--timeline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An editorial timeline (CMX 3600 EDL, FCP 7 XML, .otio): report only the cut's outputs.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file (required for pdf) instead of standard output.")
@click.option("--fail-on-issues", is_flag=True,
              help=f"Exit {ISSUES_EXIT} when the report lists issues, after writing it.")
@pass_slate
def report_clearance(slate: SlateContext, production: str, timeline: Path | None, fmt: str, output: Path | None,
                     fail_on_issues: bool) -> None:
    """The production's clearance report, signed by Slate: every AI output, its rights, credits,
    issues with what to do, the EU AI Act disclosure and totals."""
    if fmt == "pdf" and output is None:
        raise InvalidInput("a PDF is written to a file", hint="add --output FILE.pdf")
    slate.open()
    signed = clearance.signed_clearance_report(slate.settings, production, by=None,
                                               timeline=_timeline(slate, timeline, production))
    data = rendered(signed, fmt)
    totals = signed.data["report"]["totals"]
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"cannot write '{output}': {exc.strerror}") from None
        click.echo(f"wrote the clearance report of {production} to {output}: {totals['outputs']} outputs, "
                   f"{totals['in_good_standing']} in good standing, {totals['issues']} issue(s)", err=True)
    if fail_on_issues and totals["issues"]:
        click.echo(f"the clearance report lists {totals['issues']} issue(s)", err=True)
        raise click.exceptions.Exit(ISSUES_EXIT)


@report_group.command("verify")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust-anchors", "anchors_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PEM roots Slate's signing key must chain to (slate keys export-anchors).")
@emits(lambda verdict: verdict.render(), database=False, after=exit_unless_ok)
def report_verify(slate: SlateContext, report_file: Path, anchors_file: Path) -> clearance.ReportVerdict:
    """Check a signed clearance report offline; exit 1 if it was altered or its signer is not trusted."""
    try:
        signed = json.loads(report_file.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"cannot read '{report_file}': {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(f"'{report_file}' is not JSON",
                           hint="verify the JSON form; the HTML and PDF renderings carry its SHA-256") from None
    return clearance.verify_report(signed, TrustAnchors.from_file(anchors_file))


commands = [report_group]

"""``slate policy validate|test|diff|replay|add|approve|publish|list|show`` and
``slate request submit|show|list``: thin adapters over the policy domain functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..cli import SlateContext, emit, json_option, pass_slate
from ..clock import parse_date
from ..errors import PolicyError
from . import requests, versions
from .compiler import compile_policy
from .diff import diff_policies
from .loader import load_policy_file
from .registry_facts import RequestSpec
from .replay import replay
from .testing import find_tests_files, run_tests_file


def _multi(values: tuple[str, ...]) -> list[str]:
    """Accept both ``--x a --x b`` and ``--x a,b``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _resolve(slate: SlateContext, ref: str) -> Any:
    """A file path, or UID@VERSION from the database (opened only then)."""
    if not Path(ref).is_file():
        slate.open()
    return versions.resolve(ref)[0]


@click.group("policy")
def policy_group() -> None:
    """Policies: validate, test, diff, replay, and the review workflow (add, approve, publish)."""


@policy_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
def policy_validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check policy files against the schema and the engine; list every problem with its place."""
    results = []
    for path in files:
        policy, _ = load_policy_file(path)
        compile_policy(policy)
        results.append({"file": str(path), "uid": policy.uid, "version": policy.version,
                        "sha256": policy.sha256, "rules": len(policy.rules), "duties": len(policy.duties)})
    emit(results, as_json, lambda rs: "\n".join(
        f"{r['file']}: valid ({r['uid']} v{r['version']}, {r['rules']} rules, {r['duties']} duties, "
        f"sha256 {r['sha256'][:16]})" for r in rs))


@policy_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run the tests against this policy file instead of the one they name.")
@json_option
@pass_slate
def policy_test(slate: SlateContext, paths: tuple[Path, ...], policy_file: Path | None, as_json: bool) -> None:
    """Run policy tests (*.tests.yaml); by default every one in the policies folder."""
    files: list[Path] = []
    for path in paths or (slate.settings.policies_dir,):
        files += find_tests_files(path) if path.is_dir() else [path]
    if not files:
        raise PolicyError("no *.tests.yaml files found", hint=f"looked in {', '.join(map(str, paths or (slate.settings.policies_dir,)))}")
    results = [r for f in files for r in run_tests_file(f, policy_file)]
    failed = [r for r in results if not r.passed]
    emit([r.to_dict() for r in results], as_json, lambda _: "\n".join(
        [f"{'ok  ' if r.passed else 'FAIL'} {Path(r.file).name}: {r.name}" +
         "".join(f"\n       {p}" for p in r.problems) for r in results]
        + [f"{len(results) - len(failed)} passed, {len(failed)} failed"]))
    if failed:
        raise PolicyError(f"{len(failed)} of {len(results)} policy test cases failed")


@policy_group.command("diff")
@click.argument("old")
@click.argument("new")
@json_option
@pass_slate
def policy_diff(slate: SlateContext, old: str, new: str, as_json: bool) -> None:
    """Rule-level changes from OLD to NEW (files, or UID@VERSION)."""
    result = diff_policies(_resolve(slate, old), _resolve(slate, new))
    emit(result.to_dict(), as_json, lambda _: result.render())


@policy_group.command("replay")
@click.argument("new")
@click.option("--limit", type=int, default=None, help="Only the most recent N requests.")
@json_option
@pass_slate
def policy_replay(slate: SlateContext, new: str, limit: int | None, as_json: bool) -> None:
    """Re-decide recorded requests under NEW (file or UID@VERSION): what would flip, what would change."""
    engine = compile_policy(_resolve(slate, new))
    slate.open()
    report = replay(engine, limit)
    emit(report.to_dict(), as_json, lambda _: report.render())


@policy_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--author", required=True, help="The legal user who wrote this version.")
@json_option
@pass_slate
def policy_add(slate: SlateContext, file: Path, author: str, as_json: bool) -> None:
    """Record a policy file as a draft version."""
    slate.open()
    emit(versions.add_version(file.read_bytes(), author, str(file)), as_json, _render_version)


@policy_group.command("approve")
@click.argument("ref")
@click.option("--approver", required=True, help="A legal user other than the author.")
@click.option("--comment", default="")
@json_option
@pass_slate
def policy_approve(slate: SlateContext, ref: str, approver: str, comment: str, as_json: bool) -> None:
    """Approve a draft (UID@VERSION)."""
    slate.open()
    emit(versions.approve_version(ref, approver, comment), as_json, _render_version)


@policy_group.command("publish")
@click.argument("ref")
@click.option("--by", "publisher", required=True, help="The legal user publishing it.")
@json_option
@pass_slate
def policy_publish(slate: SlateContext, ref: str, publisher: str, as_json: bool) -> None:
    """Make an approved version (UID@VERSION) the active one; the previous one is superseded."""
    slate.open()
    emit(versions.publish_version(ref, publisher), as_json, _render_version)


@policy_group.command("list")
@click.option("--uid", default=None)
@json_option
@pass_slate
def policy_list(slate: SlateContext, uid: str | None, as_json: bool) -> None:
    """Every recorded policy version and its status."""
    slate.open()
    emit(versions.list_versions(uid), as_json, lambda rows: "\n".join(
        f"{r['uid']}@{r['version']}  {r['status']:<10}  by {r['author']}  {r['sha256'][:16]}  {r['title']}"
        for r in rows) or "(none)")


@policy_group.command("show")
@click.argument("ref")
@click.option("--text", "with_text", is_flag=True, help="Include the policy file's text.")
@json_option
@pass_slate
def policy_show(slate: SlateContext, ref: str, with_text: bool, as_json: bool) -> None:
    """One version (UID@VERSION, or UID for the latest) with its reviews."""
    slate.open()
    emit(versions.show_version(ref, with_text), as_json, _render_version)


def _render_version(v: dict[str, Any]) -> str:
    lines = [f"{v['uid']}@{v['version']}  {v['status']}", f"  title    {v['title']}",
             f"  sha256   {v['sha256']}", f"  author   {v['author']}"]
    lines += [f"  approved by {r['reviewer']} at {r['at']}" for r in v["reviews"]]
    if v.get("published_at"):
        lines.append(f"  published by {v['published_by']} at {v['published_at']}")
    if v.get("text"):
        lines += ["", v["text"]]
    return "\n".join(lines)


# -- requests -------------------------------------------------------------------------------

@click.group("request")
def request_group() -> None:
    """Generation requests and the policy's decisions on them."""


@request_group.command("submit")
@click.option("--requester", required=True)
@click.option("--production", required=True)
@click.option("--use", required=True, help="concept, previs, final_frame or marketing")
@click.option("--territory", required=True, help="ISO 3166 code of the territory of release, or WW")
@click.option("--model", required=True, help="NAME:VERSION")
@click.option("--reference", "references", multiple=True, help="Reference asset (SHA-256); repeat or comma-separate.")
@click.option("--person", "people", multiple=True, help="Person depicted; repeat or comma-separate.")
@click.option("--prompt", default=None, help="The prompt (or --prompt-file).")
@click.option("--prompt-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--date", "on", default=None, help="Decide as of this date (YYYY-MM-DD); default today.")
@click.option("--policy", "policy_uid", default=None, help="Policy uid, when several are published.")
@json_option
@pass_slate
def request_submit(slate: SlateContext, requester: str, production: str, use: str, territory: str,
                   model: str, references: tuple[str, ...], people: tuple[str, ...], prompt: str | None,
                   prompt_file: Path | None, on: str | None, policy_uid: str | None, as_json: bool) -> None:
    """Submit a request; prints the decision (the prompt is stored, only its hash is shown)."""
    if (prompt is None) == (prompt_file is None):
        raise PolicyError("give the prompt with exactly one of --prompt or --prompt-file")
    text = prompt if prompt is not None else prompt_file.read_text("utf-8")  # type: ignore[union-attr]
    spec = RequestSpec(requester=requester, production=production, use=use, territory=territory,
                       model=model, prompt=text, references=_multi(references), people=_multi(people),
                       date=parse_date(on) if on else None)
    slate.open()
    emit(requests.submit_request(spec, policy_uid), as_json, _render_submitted)


@request_group.command("show")
@click.argument("request_id")
@json_option
@pass_slate
def request_show(slate: SlateContext, request_id: str, as_json: bool) -> None:
    """A request and its decision, with evidence and duties."""
    slate.open()
    emit(requests.show_request(request_id), as_json, _render_submitted)


@request_group.command("list")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@pass_slate
def request_list(slate: SlateContext, limit: int, as_json: bool) -> None:
    """Recent requests and their decisions."""
    slate.open()
    emit(requests.list_requests(limit), as_json, lambda rows: "\n".join(
        f"#{r['id']}  {r['decision'] or '-':<15} {r['requester']}  {r['production']}  {r['use']}  {r['model']}"
        for r in rows) or "(none)")


def render_decision(d: dict[str, Any]) -> str:
    p = d["policy"]
    lines = [f"decision: {d['decision']}  (policy {p['uid']} v{p['version']}, sha256 {p['sha256'][:16]})"]
    for v in d["violations"]:
        lines.append(f"  violates {v['rule']} for {v['subject']}: {v['title']}")
        for e in v["evidence"]:
            source = f" (from {e['required_from']})" if e.get("required_from") else ""
            lines.append(f"    {e['path']} = {e['found']!r}; {e['operator']} {e['required']!r}{source} "
                         f"is {'true' if e['result'] else 'false'}")
    for a in d["approvals"]:
        lines.append(f"  needs approval ({a['rule']}) for {a['subject']}: {a['title']}")
    for credit in d.get("credits", []):
        lines.append(f"  credit: {credit}")
    lines.append(f"  inputs digest {d['inputs']['digest']}")
    return "\n".join(lines)


def _render_submitted(data: dict[str, Any]) -> str:
    r = data["request"]
    head = (f"request #{r['id']} by {r['requester']}: {r['use']} for {r['production']} in {r['territory']} "
            f"with {r['model']}; prompt sha256 {r['prompt_sha256'][:16]}")
    return head + ("\n" + render_decision(data["decision"]) if data.get("decision") else "\n(no decision)")


commands = [policy_group, request_group]

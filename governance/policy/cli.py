"""``slate policy validate|test|diff|replay|add|approve|publish|list|show`` and
``slate request submit|show|list``: thin adapters over the policy domain functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..cli import SlateContext, emit, emits, json_option, pass_slate
from ..clock import parse_date
from ..errors import PolicyError
from . import versions
from .compiler import compile_policy
from .diff import diff_policies
from .loader import load_policy_file
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
@emits(lambda rs: "\n".join(f"{r['file']}: valid ({r['uid']} v{r['version']}, {r['rules']} rules, "
                            f"{r['duties']} duties, sha256 {r['sha256'][:16]})" for r in rs), database=False)
def policy_validate(slate: SlateContext, files: tuple[Path, ...]) -> Any:
    """Check policy files against the schema and the engine; list every problem with its place."""
    results = []
    for path in files:
        policy, _ = load_policy_file(path)
        compile_policy(policy)
        results.append({"file": str(path), "uid": policy.uid, "version": policy.version,
                        "sha256": policy.sha256, "rules": len(policy.rules), "duties": len(policy.duties)})
    return results


def _render_test_results(results: list[Any]) -> str:
    failed = [r for r in results if not r.passed]
    return "\n".join([f"{'ok  ' if r.passed else 'FAIL'} {Path(r.file).name}: {r.name}" +
                      "".join(f"\n       {p}" for p in r.problems) for r in results]
                     + [f"{len(results) - len(failed)} passed, {len(failed)} failed"])


def _fail_on_failures(results: list[Any]) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        raise PolicyError(f"{len(failed)} of {len(results)} policy test cases failed")


@policy_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run the tests against this policy file instead of the one they name.")
@emits(_render_test_results, database=False, after=_fail_on_failures)
def policy_test(slate: SlateContext, paths: tuple[Path, ...], policy_file: Path | None) -> Any:
    """Run policy tests (*.tests.yaml); by default every one in the policies folder."""
    files: list[Path] = []
    for path in paths or (slate.settings.policies_dir,):
        files += find_tests_files(path) if path.is_dir() else [path]
    if not files:
        raise PolicyError("no *.tests.yaml files found", hint=f"looked in {', '.join(map(str, paths or (slate.settings.policies_dir,)))}")
    return [r for f in files for r in run_tests_file(f, policy_file)]


@policy_group.command("diff")
@click.argument("old")
@click.argument("new")
@emits(lambda result: result.render(), database=False)
def policy_diff(slate: SlateContext, old: str, new: str) -> Any:
    """Rule-level changes from OLD to NEW (files, or UID@VERSION)."""
    return diff_policies(_resolve(slate, old), _resolve(slate, new))


@policy_group.command("replay")
@click.argument("new")
@click.option("--limit", type=int, default=None, help="Only the most recent N requests.")
@emits(lambda report: report.render(), database=False)
def policy_replay(slate: SlateContext, new: str, limit: int | None) -> Any:
    """Re-decide recorded requests under NEW (file or UID@VERSION): what would flip, what would change."""
    engine = compile_policy(_resolve(slate, new))
    slate.open()
    return replay(engine, limit)


@policy_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--author", required=True, help="The legal user who wrote this version.")
@emits(lambda version: _render_version(version))
def policy_add(slate: SlateContext, file: Path, author: str) -> Any:
    """Record a policy file as a draft version."""
    return versions.add_version(file.read_bytes(), author, str(file))


@policy_group.command("approve")
@click.argument("ref")
@click.option("--approver", required=True, help="A legal user other than the author.")
@click.option("--comment", default="")
@emits(lambda version: _render_version(version))
def policy_approve(slate: SlateContext, ref: str, approver: str, comment: str) -> Any:
    """Approve a draft (UID@VERSION)."""
    return versions.approve_version(ref, approver, comment)


@policy_group.command("publish")
@click.argument("ref")
@click.option("--by", "publisher", required=True, help="The legal user publishing it.")
@emits(lambda version: _render_version(version))
def policy_publish(slate: SlateContext, ref: str, publisher: str) -> Any:
    """Make an approved version (UID@VERSION) the active one; the previous one is superseded."""
    return versions.publish_version(ref, publisher)


@policy_group.command("list")
@click.option("--uid", default=None)
@emits(lambda rows: "\n".join(f"{r['uid']}@{r['version']}  {r['status']:<10}  by {r['author']}  "
                              f"{r['sha256'][:16]}  {r['title']}" for r in rows) or "(none)")
def policy_list(slate: SlateContext, uid: str | None) -> Any:
    """Every recorded policy version and its status."""
    return versions.list_versions(uid)


@policy_group.command("show")
@click.argument("ref")
@click.option("--text", "with_text", is_flag=True, help="Include the policy file's text.")
@emits(lambda version: _render_version(version))
def policy_show(slate: SlateContext, ref: str, with_text: bool) -> Any:
    """One version (UID@VERSION, or UID for the latest) with its reviews."""
    return versions.show_version(ref, with_text)


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
@click.option("--requester", required=True, help="The producer asking (a user with the producer role).")
@click.option("--production", required=True)
@click.option("--use", required=True, help="concept, previs, final_frame or marketing")
@click.option("--territory", required=True, help="ISO 3166 code of the territory of release, or WW")
@click.option("--model", required=True, help="NAME:VERSION")
@click.option("--reference", "references", multiple=True, help="Reference asset (SHA-256); repeat or comma-separate.")
@click.option("--person", "people", multiple=True, help="Person depicted; repeat or comma-separate.")
@click.option("--prompt", default=None, help="The prompt (or --prompt-file).")
@click.option("--prompt-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--steps", type=int, default=25, show_default=True)
@click.option("--width", type=int, default=128, show_default=True)
@click.option("--height", type=int, default=128, show_default=True)
@click.option("--date", "on", default=None, help="Decide as of this date (YYYY-MM-DD); default today.")
@click.option("--idempotency-key", "key", default=None, help="Submit at most once per key (a retry answers the first).")
@json_option
@pass_slate
def request_submit(slate: SlateContext, requester: str, production: str, use: str, territory: str,
                   model: str, references: tuple[str, ...], people: tuple[str, ...], prompt: str | None,
                   prompt_file: Path | None, seed: int, steps: int, width: int, height: int, on: str | None,
                   key: str | None, as_json: bool) -> None:
    """Submit a request as the API does: decided, and if allowed its job queued for the workers
    (the prompt is stored; only its hash is shown)."""
    from ..auth.users import principal_named
    from ..jobs.queue import Queue
    from ..lifecycle import requests as lifecycle
    from ..lifecycle.params import GenerationParams
    if (prompt is None) == (prompt_file is None):
        raise PolicyError("give the prompt with exactly one of --prompt or --prompt-file")
    text = prompt if prompt is not None else prompt_file.read_text("utf-8")  # type: ignore[union-attr]
    submission = lifecycle.Submission(production, use, territory.upper(), model, text, tuple(_multi(references)),
                                      tuple(_multi(people)),
                                      GenerationParams(seed=seed, steps=steps, width=width, height=height),
                                      parse_date(on) if on else None)
    slate.open()
    view = lifecycle.submit(submission, principal_named(requester, "producer"),
                            dispatcher=Queue(slate.settings), key=key)
    emit(view.to_dict(), as_json, _render_view)


@request_group.command("show")
@click.argument("request_id")
@json_option
@pass_slate
def request_show(slate: SlateContext, request_id: str, as_json: bool) -> None:
    """A request, its decision with evidence and duties, its approval and its job."""
    from ..lifecycle import requests as lifecycle
    slate.open()
    emit(lifecycle.show_request(request_id, None).to_dict(), as_json, _render_view)


@request_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--status", default=None, help="Only requests standing at this status.")
@json_option
@pass_slate
def request_list(slate: SlateContext, limit: int, status: str | None, as_json: bool) -> None:
    """Recent requests, newest first, with where each stands."""
    from ..lifecycle import requests as lifecycle
    slate.open()
    emit([v.to_dict() for v in lifecycle.list_requests(None, status=status, limit=limit)], as_json,
         lambda rows: "\n".join(
             f"#{r['request']['id']}  {r['status']:<17} {r['request']['requester']}  {r['request']['production']}  "
             f"{r['request']['use']}  {r['request']['model']}" for r in rows) or "(none)")


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


def _render_view(data: dict[str, Any]) -> str:
    r = data["request"]
    head = (f"request #{r['id']} by {r['requester']}: {r['use']} for {r['production']} in {r['territory']} "
            f"with {r['model']}; prompt sha256 {r['prompt_sha256'][:16]}; status {data['status']}")
    lines = [head, render_decision(data["decision"]) if data.get("decision") else "(no decision)"]
    if data.get("job"):
        lines.append(f"  job {data['job']['id']}: {data['job']['status']}")
    return "\n".join(lines)


commands = [policy_group, request_group]

"""``slate policy validate|test|diff|replay|add|approve|review|publish|rollback|add-case|list|show|export|import-odrl``:
thin adapters over the policy domain functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..credentials import policy_signatures
from ..errors import PolicyError
from ..lifecycle.output_review import recorded_outputs
from ..policy import cases, versions
from ..policy.compiler import compile_policy
from ..policy.diff import diff_policies
from ..policy.loader import load_policy_file
from ..policy.odrl import from_odrl, odrl_json, read_odrl, to_odrl
from ..policy.replay import replay
from ..policy.testing import TestReport, find_tests_files, run_tests
from . import SlateContext, emits, pass_slate


def _resolve(slate: SlateContext, ref: str) -> Any:
    """A file path, or UID@VERSION from the database (opened only then)."""
    if not Path(ref).is_file():
        slate.open()
    return versions.resolve(ref)[0]


@click.group("policy")
def policy_group() -> None:
    """Policies: validate, test, diff, replay, ODRL export and import, and the review workflow
    (add, approve, publish)."""


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


def _render_test_results(report: TestReport) -> str:
    lines = [f"{'ok  ' if r.passed else 'FAIL'} {Path(r.file).name}: {r.name}" +
             "".join(f"\n       {p}" for p in r.problems) for r in report.cases]
    lines += ["", "Coverage (cases in which each rule fired / was evaluated without firing):"]
    lines += [f"  {r.fired:>4} / {r.not_fired:<4} {r.rule} ({r.kind})" for r in report.coverage]
    if report.uncovered:
        lines.append(f"Uncovered (no case makes them fire): {', '.join(r.rule for r in report.uncovered)}")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


def _fail_on_failures(report: TestReport) -> None:
    if report.failed:
        raise PolicyError(f"{report.failed} of {len(report.cases)} policy test cases failed")


@policy_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run the tests against this policy file instead of the one they name.")
@click.option("--version", "stored_ref", default=None,
              help="Run the tests files and the test cases kept in the database on this stored UID@VERSION.")
@emits(_render_test_results, database=False, after=_fail_on_failures)
def policy_test(slate: SlateContext, paths: tuple[Path, ...], policy_file: Path | None,
                stored_ref: str | None) -> Any:
    """Run policy tests (*.tests.yaml); by default every one in the policies folder. Reports,
    for each rule, how many cases made it fire, and the rules no case makes fire. With
    --version, the test cases legal keeps in the database run too, on that stored version."""
    if stored_ref is not None:
        slate.open()
        return cases.run_for_version(versions.get_version(stored_ref), slate.settings.policies_dir)
    files: list[Path] = []
    for path in paths or (slate.settings.policies_dir,):
        files += find_tests_files(path) if path.is_dir() else [path]
    if not files:
        looked = ", ".join(map(str, paths or (slate.settings.policies_dir,)))
        raise PolicyError("no *.tests.yaml files found", hint=f"looked in {looked}")
    return run_tests(files, policy_file)


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
    return replay(engine, limit, recorded_outputs(limit))


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
    """Approve a draft (UID@VERSION); the approval is signed with the approver's identity key."""
    return policy_signatures.approve_and_sign(slate.settings, ref, approver, comment)


@policy_group.command("review")
@click.argument("ref")
@click.option("--reviewer", required=True, help="A legal user other than the author.")
@click.option("--verdict", required=True, type=click.Choice(versions.END_VERDICTS),
              help="rejected (never to be published) or changes_requested (the author writes a new version).")
@click.option("--comment", required=True, help="Why: the author reads it.")
@emits(lambda version: _render_version(version))
def policy_review(slate: SlateContext, ref: str, reviewer: str, verdict: str, comment: str) -> Any:
    """Reject a version (UID@VERSION) or send it back for changes, with a comment."""
    return versions.review_version(ref, reviewer, verdict, comment)


@policy_group.command("publish")
@click.argument("ref")
@click.option("--by", "publisher", required=True, help="The legal user publishing it.")
@click.option("--confirm-sha256", default=None, help="Refuse unless the version's SHA-256 is this one.")
@click.option("--replacing", type=int, default=None,
              help="Refuse unless the version published now is this one (0: none).")
@emits(lambda version: _render_version(version))
def policy_publish(slate: SlateContext, ref: str, publisher: str, confirm_sha256: str | None,
                   replacing: int | None) -> Any:
    """Make an approved version (UID@VERSION) the active one; the previous one is superseded."""
    return versions.publish_version(ref, publisher, confirm_sha256=confirm_sha256, confirm_replacing=replacing)


@policy_group.command("rollback")
@click.argument("ref")
@click.option("--by", "roller", required=True, help="The legal user rolling back.")
@click.option("--confirm-sha256", default=None, help="Refuse unless the earlier version's SHA-256 is this one.")
@click.option("--replacing", type=int, default=None,
              help="Refuse unless the version published now is this one.")
@emits(lambda version: _render_version(version))
def policy_rollback(slate: SlateContext, ref: str, roller: str, confirm_sha256: str | None,
                    replacing: int | None) -> Any:
    """Re-publish the text of an earlier published version (UID@VERSION) as a new version."""
    return versions.rollback_version(ref, roller, confirm_sha256=confirm_sha256, confirm_replacing=replacing)


@policy_group.command("add-case")
@click.argument("ref")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The test case's name (unique per policy).")
@click.option("--author", required=True, help="The legal user who wrote it.")
@emits(lambda case: f"kept test case {case.name!r} ({case.id}) for {case.uid}")
def policy_add_case(slate: SlateContext, ref: str, file: Path, name: str, author: str) -> Any:
    """Keep a tests document (YAML: base facts and cases) in the database for the policy of REF;
    it runs with the tests files from then on."""
    return cases.add_case(versions.get_version(ref).uid, name, _read(file).decode("utf-8", "replace"), author)


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
    """One version (UID@VERSION, or UID for the latest) with its reviews and their own signatures."""
    shown = versions.show_version(ref, with_text)
    return shown | {"signatures": [line.to_dict() | {"text": line.text()}
                                   for line in policy_signatures.approval_lines(slate.settings, shown)]}


@policy_group.command("export")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["odrl"]), default="odrl", show_default=True,
              help="ODRL 2.2 JSON-LD, for rights systems.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of printing.")
@pass_slate
def policy_export(slate: SlateContext, ref: str, fmt: str, out: Path | None) -> None:
    """A policy (a file, or UID@VERSION) as ODRL 2.2 JSON-LD."""
    text = odrl_json(to_odrl(_resolve(slate, ref)))
    if out is None:
        click.echo(text, nl=False)
        return
    _write(out, text)
    click.echo(f"wrote {out} ({fmt})")


@policy_group.command("import-odrl")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the Slate policy (YAML) to this file instead of printing it.")
def policy_import_odrl(file: Path, out: Path | None) -> None:
    """A Slate policy file from ODRL 2.2 JSON-LD, in the subset that maps (what export writes);
    every construct that does not map is listed with its JSON path."""
    text = from_odrl(read_odrl(_read(file), str(file)), str(file))
    if out is None:
        click.echo(text, nl=False)
        return
    _write(out, text)
    click.echo(f"wrote {out}: check it with slate policy validate {out}, then add it as a draft")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, "utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot write {path}: {exc.strerror}") from None


def _render_version(v: dict[str, Any]) -> str:
    lines = [f"{v['uid']}@{v['version']}  {v['status']}", f"  title    {v['title']}",
             f"  sha256   {v['sha256']}", f"  author   {v['author']}"]
    if v.get("rollback_of"):
        lines.append(f"  rollback of version {v['rollback_of']['version']} (the same text; its reviews follow)")
    lines += [f"  {r['verdict'].replace('_', ' ')} by {r['reviewer']} at {r['at']}"
              + (f": {r['comment']}" if r["verdict"] != "approved" and r["comment"] else "") for r in v["reviews"]]
    lines += [f"  {line['text']}" for line in v.get("signatures") or ()]
    if v.get("published_at"):
        lines.append(f"  published by {v['published_by']} at {v['published_at']}")
    if v.get("warnings"):
        lines += ["", f"{len(v['warnings'])} warning(s) from the static analysis:"]
        lines += [f"  {w['kind']:<12} {w['rule']}: {w['message']}" for w in v["warnings"]]
    if v.get("text"):
        lines += ["", v["text"]]
    return "\n".join(lines)


commands = [policy_group]

"""``slate request submit|show|list|approve|reject|decide-again``: the request lifecycle, as the API
and the pages run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..auth.users import principal_named
from ..clock import parse_date
from ..errors import PolicyError
from ..jobs.queue import Queue
from ..lifecycle import requests as lifecycle
from ..lifecycle.params import DEFAULT_SCHEDULER, SCHEDULERS, GenerationParams
from . import SlateContext, emits, multi


@click.group("request")
def request_group() -> None:
    """Generation requests and the policy's decisions on them."""


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
    lines.extend(_render_signoffs(data))
    if data.get("job"):
        lines.append(f"  job {data['job']['id']}: {data['job']['status']}")
    return "\n".join(lines)


def _render_signoffs(data: dict[str, Any]) -> list[str]:
    lines = []
    for s in data.get("signoffs") or []:
        rules = f" for {', '.join(s['rules'])}" if s["rules"] else ""
        comment = f": {s['comment']}" if s["comment"] else ""
        lines.append(f"  {s['verdict']} by {s['approver']} at {s['at']}{rules}{comment}")
    standing = data.get("sign_off") or {}
    lines.extend(f"  {line}" for line in standing.get("outstanding") or [])
    return lines


def _render_list(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"#{r['request']['id']}  {r['status']:<17} {r['request']['requester']}  "
                     f"{r['request']['production']}  {r['request']['use']}  {r['request']['model']}"
                     for r in rows) or "(none)"


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
@click.option("--guidance", type=float, default=7.5, show_default=True, help="Classifier-free guidance scale.")
@click.option("--scheduler", type=click.Choice(SCHEDULERS), default=DEFAULT_SCHEDULER, show_default=True,
              help="'default' keeps the model's own.")
@click.option("--date", "on", default=None, help="Decide as of this date (YYYY-MM-DD); default today.")
@click.option("--idempotency-key", "key", default=None, help="Submit at most once per key (a retry answers the first).")
@emits(_render_view, database=False)
def request_submit(slate: SlateContext, requester: str, production: str, use: str, territory: str,
                   model: str, references: tuple[str, ...], people: tuple[str, ...], prompt: str | None,
                   prompt_file: Path | None, seed: int, steps: int, width: int, height: int, guidance: float,
                   scheduler: str, on: str | None, key: str | None) -> Any:
    """Submit a request as the API does: decided, and if allowed its job queued for the workers
    (the prompt is stored; only its hash is shown)."""
    if (prompt is None) == (prompt_file is None):
        raise PolicyError("give the prompt with exactly one of --prompt or --prompt-file")
    text = prompt if prompt is not None else prompt_file.read_text("utf-8")  # type: ignore[union-attr]
    submission = lifecycle.Submission(production, use, territory.upper(), model, text, tuple(multi(references)),
                                      tuple(multi(people)),
                                      GenerationParams(seed=seed, steps=steps, guidance=guidance, width=width,
                                                       height=height, scheduler=scheduler),
                                      parse_date(on) if on else None)
    slate.open()
    view = lifecycle.submit(submission, principal_named(requester, "producer"),
                            dispatcher=Queue(slate.settings), key=key)
    return view.to_dict()


@request_group.command("show")
@click.argument("request_id")
@emits(_render_view)
def request_show(slate: SlateContext, request_id: str) -> Any:
    """A request, its decision with evidence and duties, its approval and its job."""
    return lifecycle.show_request(request_id, None).to_dict()


@request_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--status", default=None, help="Only requests standing at this status.")
@emits(_render_list)
def request_list(slate: SlateContext, limit: int, status: str | None) -> Any:
    """Recent requests, newest first, with where each stands."""
    return [v.to_dict() for v in lifecycle.list_requests(None, status=status, limit=limit)]


def _answer(slate: SlateContext, request_id: str, by: str, verdict: str, comment: str) -> Any:
    slate.open()
    return lifecycle.decide(request_id, principal_named(by, None), verdict, comment,
                            dispatcher=Queue(slate.settings)).to_dict()


@request_group.command("approve")
@click.argument("request_id")
@click.option("--by", required=True, help="The user signing off (never the requester).")
@click.option("--comment", default="", help="Why, for the record.")
@emits(_render_view, database=False)
def request_approve(slate: SlateContext, request_id: str, by: str, comment: str) -> Any:
    """Sign off a request policy routed to review; it proceeds once every approval rule's
    requirement is met by distinct people (a sign-off that fills none is refused, saying what is needed)."""
    return _answer(slate, request_id, by, "approved", comment)


@request_group.command("reject")
@click.argument("request_id")
@click.option("--by", required=True, help="A user who meets one of its approval requirements.")
@click.option("--comment", required=True, help="Why it is rejected.")
@emits(_render_view, database=False)
def request_reject(slate: SlateContext, request_id: str, by: str, comment: str) -> Any:
    """Reject a request policy routed to review."""
    return _answer(slate, request_id, by, "rejected", comment)


@request_group.command("decide-again")
@click.argument("request_id")
@click.option("--by", required=True, help="A user who meets one of its approval requirements.")
@emits(_render_view, database=False)
def request_decide_again(slate: SlateContext, request_id: str, by: str) -> Any:
    """Decide a request awaiting sign-off again under the policy version published since it was
    decided (its old decision can no longer be signed off)."""
    slate.open()
    return lifecycle.decide_again(request_id, principal_named(by, None), dispatcher=Queue(slate.settings)).to_dict()


commands = [request_group]

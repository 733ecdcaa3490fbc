"""``slate model train|runs|run|approve-run``: training a model as a governed request.

Thin adapters over ``governance.lifecycle.training_runs``, the functions the API and the
pages call: the same decision, the same approval rules (four eyes), the same queue.
"""

from __future__ import annotations

from typing import Any

import click

from ..auth.users import principal_named
from ..jobs.queue import Queue
from ..lifecycle import training_runs as runs
from ..lifecycle.training_params import METHODS, TrainingParams
from . import SlateContext, emits, table


def _render_run(view: dict[str, Any]) -> str:
    decision = view["decision"]
    ts, base = view["training_set"], view["base"]["name"] if view["base"] else "none"
    lines = [f"training run {view['uid']}: {view['status']}",
             (f"  production {view['production']} ({view['territory']}), {view['method']} on {ts['name']} "
              f"({ts['size']} files, root {ts['merkle_root'][:16]}…), base {base}"),
             f"  model {view['model']['name']}:{view['model']['version']}, asked by {view['requested_by']}",
             f"  decision {decision.get('outcome')}"]
    lines += [f"    violated {v['rule']}: {v['title']}" for v in decision.get("violations") or []]
    lines += [f"    needs {a['rule']}: {a['title']}" for a in decision.get("approvals") or []]
    if view["approved_by"]:
        lines.append(f"  approved by {view['approved_by']}")
    p = view["progress"]
    if p["total_steps"]:
        lines.append(f"  progress step {p['step']}/{p['total_steps']}, loss {p['loss']:.4f}")
    if view["failure"]:
        lines.append(f"  failed: {view['failure']}")
    if view["attestation"]:
        lines.append(f"  attestation {view['attestation']['sha256'][:16]}… registered {view['model']['ref']}")
    return "\n".join(lines)


def _rows(views: list[dict[str, Any]]) -> str:
    return table([{"uid": v["uid"], "status": v["status"], "production": v["production"],
                   "model": f"{v['model']['name']}:{v['model']['version']}",
                   "step": f"{v['progress']['step'] or 0}/{v['progress']['total_steps'] or '-'}"}
                  for v in views], ["uid", "status", "production", "model", "step"])


@click.command("train")
@click.option("--requester", required=True, help="Who asks: a producer of the production, or legal.")
@click.option("--production", required=True)
@click.option("--base", default=None, help="A registered base model's name (omit to train from scratch).")
@click.option("--training-set", required=True)
@click.option("--method", type=click.Choice(METHODS), default="lora", show_default=True)
@click.option("--name", required=True, help="The model name to register.")
@click.option("--version", required=True, help="The model version to register.")
@click.option("--territory", default="WW", show_default=True, help="ISO 3166 code the model is trained for, or WW.")
@click.option("--steps", type=int, default=TrainingParams.steps, show_default=True)
@click.option("--rank", type=int, default=TrainingParams.rank, show_default=True, help="LoRA rank.")
@click.option("--learning-rate", type=float, default=TrainingParams.learning_rate, show_default=True)
@click.option("--batch-size", type=int, default=TrainingParams.batch_size, show_default=True)
@click.option("--seed", type=int, default=TrainingParams.seed, show_default=True)
@click.option("--resolution", type=int, default=TrainingParams.resolution, show_default=True)
@emits(_render_run)
def train_command(slate: SlateContext, requester: str, production: str, base: str | None, training_set: str,
                  method: str, name: str, version: str, territory: str, steps: int, rank: int,
                  learning_rate: float, batch_size: int, seed: int, resolution: int) -> Any:
    """Ask for a training run, as the API does: decided by the policy's training rules, then
    waiting for legal's approval (slate model approve-run), then queued for a worker."""
    params = TrainingParams(steps=steps, rank=rank, learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                            resolution=resolution)
    asked = runs.TrainingRequest(production, training_set, method, name, version, base, territory, params)
    who = principal_named(requester, runs.REQUESTERS)
    return runs.request_run(asked, who, dispatcher=Queue(slate.settings)).to_dict()


@click.command("runs")
@click.option("--status", type=click.Choice(runs.STATUSES), default=None)
@emits(_rows)
def runs_command(slate: SlateContext, status: str | None) -> Any:
    """Training runs, newest first, with their progress."""
    return [v.to_dict() for v in runs.list_runs(None, status)]


@click.command("run")
@click.argument("uid")
@emits(_render_run)
def run_command(slate: SlateContext, uid: str) -> Any:
    """One training run: decision with evidence, approval, progress, attestation."""
    return runs.show_run(uid).to_dict()


@click.command("approve-run")
@click.argument("uid")
@click.option("--by", "by_name", required=True, help="The legal user approving (never the one who asked).")
@click.option("--comment", default="")
@emits(_render_run)
def approve_run_command(slate: SlateContext, uid: str, by_name: str, comment: str) -> Any:
    """Approve a training run waiting for approval: it is queued for a worker."""
    return runs.approve(uid, principal_named(by_name, None), comment, dispatcher=Queue(slate.settings)).to_dict()


subcommands = {"model": [train_command, runs_command, run_command, approve_run_command]}

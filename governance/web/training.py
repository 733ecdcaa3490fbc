"""The training runs page: every run the viewer may see, with its decision and progress.

The page reloads itself while a run is queued or running (the one static script, ``static/refresh.js``),
so a producer watching their run sees its step and loss move.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from ..errors import InvalidInput
from ..lifecycle import training_runs as runs
from . import access
from .access import page
from .blueprint import bp

VIEWERS = ("producer", "legal", "approver", "auditor")

@bp.route("/training-runs", methods=["GET"])
@page(*VIEWERS)
def training_runs() -> Any:
    status = request.args.get("status") or None
    if status not in (None, *runs.STATUSES):
        raise InvalidInput(f"'{status}' is not a training run status", hint=f"one of: {', '.join(runs.STATUSES)}")
    rows = [v.to_dict() for v in runs.list_runs(access.principal(), status)[:200]]
    moving = any(r["status"] in (runs.QUEUED, runs.RUNNING) for r in rows)
    return render_template("web/training_runs.html", rows=rows, status=status, statuses=runs.STATUSES,
                           refresh=moving)

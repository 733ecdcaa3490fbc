"""Approvers' pages: the queue, oldest first with how long each request has waited, and one
request's approval page with what a person needs to sign it off with their eyes open (the
reference images, the people and their consent terms, the evidence and duties, the generated
image's output reviews, and the prompt where the policy lets approvers read it).

A request decided under a policy version replaced since is never signed under it: its page
warns, offers "Decide again under vN" instead of Approve, and the lifecycle refuses a
sign-off POSTed anyway (409). The pages call ``governance.lifecycle`` like the API and CLI.
The prompt, when shown, is rendered into that one page only: never a URL, a flash or a log.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from ..api.services import queue as job_queue
from ..clock import utcnow
from ..jobs.statuses import RequestStatus
from ..lifecycle import approval_desk
from ..lifecycle import requests as lifecycle
from . import access, words
from .access import page
from .blueprint import bp

#: an approval rule may name any person's role; the lifecycle judges each sign-off
SIGNERS = ("producer", "legal", "approver", "auditor")


@bp.route("/approvals", methods=["GET"])
@page(*SIGNERS)
def approvals() -> Any:
    """The requests awaiting a sign-off the visitor's would fill, oldest first."""
    now = utcnow()
    rows = [{"entry": e.to_dict(), "waiting": words.waiting_time(e.waiting_since, now)}
            for e in approval_desk.queue(access.principal())]
    return render_template("web/approvals.html", rows=rows, after=request.args.get("after", type=int),
                           limit=approval_desk.QUEUE_LIMIT)


@bp.route("/approvals/<int:request_id>", methods=["GET"])
@page(*SIGNERS)
def approval(request_id: int) -> Any:
    """One request as its approver reads it before deciding."""
    brief = approval_desk.brief(request_id, access.principal())
    now = utcnow()
    consents = [{**c.to_dict(), "state": words.consent_state(c.to_dict(), now.date())} for c in brief.consents]
    decision = brief.view.decision
    return render_template(
        "web/approval.html", view=brief.view.to_dict(), may_decide=brief.may_sign_off,
        policy=brief.policy.to_dict() if brief.policy else None, references=[r.to_dict() for r in brief.references],
        consents=consents, reviews=[r.to_dict() for r in brief.reviews], prompt=brief.prompt,
        prompt_disclosed=brief.prompt_disclosed,
        waiting=words.waiting_time(decision.created_at, now) if decision is not None else "")


@bp.route("/approvals/<int:request_id>/redecision", methods=["POST"])
@page(*SIGNERS)
def decide_again(request_id: int) -> Any:
    """Decide the request again under the published policy version; back to its approval page."""
    view = lifecycle.decide_again(request_id, access.principal(), dispatcher=job_queue())
    decision = view.decision
    flash(f"Request #{request_id} decided again under version "
          f"{decision.policy.version if decision else '?'}: {words.status_words(str(view.status))}.", "info")
    if view.status == RequestStatus.AWAITING_APPROVAL:
        return redirect(url_for("web.approval", request_id=request_id))
    return redirect(url_for("web.request_page", request_id=request_id))

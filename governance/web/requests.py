"""Producers' and approvers' pages: submit a request, see its decision with evidence and
credit duties, approve or reject what policy routed to review, see and download signed outputs.

Prompts stay confidential: a page shows a request's prompt only as its SHA-256, to the
requester too (the same as the API and the credential), and no page or log line holds it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, make_response, redirect, render_template, request, send_file, url_for
from marshmallow import ValidationError

from ..api import schemas
from ..api.services import queue
from ..errors import InvalidInput, NotFound
from ..ids import is_id
from ..jobs.statuses import RequestStatus
from ..lifecycle import requests as lifecycle
from ..lifecycle.views import RequestView
from ..provenance import listing, names
from ..registry import models_registry, people
from ..registry import vocabulary as vocab
from . import access
from .access import page
from .blueprint import bp

VIEWERS = ("producer", "legal", "approver", "auditor")
#: an approval rule may name any person's role; the lifecycle judges each sign-off
SIGNERS = VIEWERS
STATUSES = tuple(RequestStatus)
UNFINISHED = (RequestStatus.QUEUED, RequestStatus.RUNNING)
PAGE_SIZE = 25


@bp.route("/requests", methods=["GET"])
@page(*VIEWERS)
def requests() -> Any:
    """The requests the visitor may see, newest first, a page at a time, by status,
    production and use; each generated one with its output's thumbnail."""
    me = access.principal()
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        raise InvalidInput(f"'{status}' is not a request status", hint=f"one of: {', '.join(STATUSES)}")
    use = request.args.get("use") or None
    if use not in (None, *vocab.OUTPUT_USES):
        raise InvalidInput(f"'{use[:40]}' is not a use", hint=f"one of: {', '.join(vocab.OUTPUT_USES)}")
    production = request.args.get("production", "").strip()[:120] or None
    before_text = request.args.get("before", "")
    if before_text and not is_id(before_text):
        raise InvalidInput("'before' is a request number; start again from the newest",
                           fields={"before": before_text[:20]})
    found = lifecycle.page_requests(me, status=status, production=production, use=use,
                                    before=int(before_text) if before_text else None, limit=PAGE_SIZE)
    here = {k: v for k, v in (("status", status), ("production", production), ("use", use)) if v}
    productions = sorted(me.productions) if not me.studio_wide else [
        p["name"] for p in people.list_productions(me)]
    return render_template("web/requests.html", rows=[v.to_dict() for v in found.views], status=status,
                           statuses=STATUSES, uses=vocab.OUTPUT_USES, use=use, production=production,
                           productions=productions, here=here, next_before=found.next_before,
                           paged=bool(before_text))


@bp.route("/requests/new", methods=["GET"])
@page("producer")
def new_request() -> Any:
    return _request_form({})


def _request_form(values: dict[str, Any], error: InvalidInput | None = None) -> Any:
    """The form; its reference picker lists the images whose title holds the search words
    (``find``, a GET of this page) and always those already ticked."""
    find = request.args.get("find", "").strip()[:200]
    images, more = names.reference_images(find, access.principal(), chosen=tuple(values.get("references") or ()))
    choices = {
        "productions": sorted(access.principal().productions),
        "uses": vocab.OUTPUT_USES,
        "models": [m for m in models_registry.list_models() if m["status"] == "approved"],
        "images": images, "more_images": more, "find": find,
        "people": people.list_people(access.principal()),
    }
    return render_template("web/new_request.html", values=values, choices=choices, error=error,
                           form_key=uuid.uuid4().hex), 422 if error else 200


def _form_body() -> dict[str, Any]:
    """The form as the API's request schema reads it, so both check a request the same way."""
    form = request.form
    params = {k: form[k] for k in ("seed", "steps", "guidance", "width", "height", "scheduler") if form.get(k)}
    raw = {"production": form.get("production", ""), "use": form.get("use", ""),
           "territory": form.get("territory", "").strip().upper(), "model": form.get("model", ""),
           "prompt": form.get("prompt", ""), "references": form.getlist("references"),
           "people": form.getlist("people"), "params": params}
    try:
        body: dict[str, Any] = schemas.RequestIn().load(raw)
    except ValidationError as exc:
        raise InvalidInput("the request has missing or invalid fields", fields=exc.normalized_messages()) from None
    edited = form.get("resubmission_of", "")
    if edited:
        if not is_id(edited):
            raise InvalidInput("the request being resubmitted is not a request number",
                               fields={"resubmission_of": edited[:20]})
        body["resubmission_of"] = int(edited)
    return body


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in request.form.items() if k not in ("references", "people")}
    values.update(references=request.form.getlist("references"), people=request.form.getlist("people"))
    return values


@bp.route("/requests/<int:request_id>/resubmit", methods=["GET"])
@page("producer")
def resubmit_request(request_id: int) -> Any:
    """The new-request form filled with the requester's own denied or rejected request (its
    prompt too, for them alone, in this page's body only: never in a URL); what they submit
    records which request it edits."""
    html, status = _request_form(lifecycle.resubmission_draft(request_id, access.principal()))
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/requests/new", methods=["POST"])
@page("producer")
def submit_request() -> Any:
    try:
        body = _form_body()
        view = _submit(body, request.form.get("form_key") or None)
    except InvalidInput as error:
        # shown again to the requester who just typed it; never stored, logged or put in a URL
        return _request_form(_form_values(), error)
    flash(f"Request #{view['request']['id']} submitted: {view['status'].replace('_', ' ')}.", "info")
    return redirect(url_for("web.request_page", request_id=view["request"]["id"]))


def _submit(body: dict[str, Any], form_key: str | None) -> dict[str, Any]:
    """Submit once per rendered form (its key is the idempotency key); any job is queued."""
    view = lifecycle.submit(lifecycle.Submission.from_dict(body), access.principal(), dispatcher=queue(),
                            key=form_key, key_scope="web-requests")
    return view.to_dict()


@bp.route("/requests/<int:request_id>", methods=["GET"])
@page(*VIEWERS)
def request_page(request_id: int) -> Any:
    view = lifecycle.show_request(request_id, access.principal()).to_dict()
    output = None
    if view["job"] and view["job"]["output_sha256"]:
        output = lifecycle.show_output(view["job"]["output_sha256"], access.principal()).to_dict()
    me = access.principal()
    may_decide = lifecycle.may_sign_off(request_id, me)
    of, later = lifecycle.resubmissions(request_id, me)
    may_resubmit = ("producer" in me.roles and view["request"]["requester"] == me.name
                    and view["status"] in lifecycle.RESUBMITTABLE)
    return render_template("web/request.html", view=view, output=output, may_decide=may_decide,
                           refresh=view["status"] in UNFINISHED, titles=listing.reference_titles(
                               view["request"]["references"], me), resubmission_of=of, resubmitted_as=later,
                           may_resubmit=may_resubmit)


@bp.route("/requests/<int:request_id>/approval", methods=["POST"])
@page(*SIGNERS)
def decide(request_id: int) -> Any:
    verdict = request.form.get("verdict", "")
    view = lifecycle.decide(request_id, access.principal(), verdict, request.form.get("comment", ""),
                            dispatcher=queue())
    flash(_decided(request_id, verdict, view), "info")
    if request.form.get("then") == "queue":  # from the approval page: on to the next oldest
        return redirect(url_for("web.approvals", after=request_id))
    return redirect(url_for("web.request_page", request_id=request_id))


def _decided(request_id: int, verdict: str, view: RequestView) -> str:
    """'Request #12 approved: queued.' or what it still needs after a partial sign-off."""
    if verdict == "rejected":
        return f"Request #{request_id} rejected."
    outstanding = (view.sign_off or {}).get("outstanding") or []
    if view.status == RequestStatus.AWAITING_APPROVAL and outstanding:
        return f"Request #{request_id} signed off by you; it still {'; '.join(outstanding)}."
    return f"Request #{request_id} approved: {str(view.status).replace('_', ' ')}."


def _stored_output(sha256: str) -> Any:
    row = lifecycle.visible_output(sha256, access.principal())
    if not row.file_path:
        raise NotFound("this output's signed file is not stored on this server")
    return row


@bp.route("/outputs/<string:sha256>/image", methods=["GET"])
@page(*VIEWERS)
def output_image(sha256: str) -> Any:
    """The signed file, inline, for the request page's picture."""
    row = _stored_output(sha256)
    return send_file(row.file_path, mimetype=row.media_type)


@bp.route("/outputs/<string:sha256>/download", methods=["GET"])
@page(*VIEWERS)
def output_download(sha256: str) -> Any:
    row = _stored_output(sha256)
    return send_file(row.file_path, mimetype=row.media_type, as_attachment=True,
                     download_name=f"{row.job_id}.{row.file_path.rsplit('.', 1)[-1]}")

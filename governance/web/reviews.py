"""Reviewers' pages for output review: the images policy held for a person, oldest first,
and one image beside the registered works it is nearest to, its faces boxed, the rules that
held it; approve or reject with a comment.

The pixels are served only to the people who may decide on them (legal and approvers; a
refused or rejected image to legal), never cached; a thumbnail only of a work the review
itself named among its nearest matches.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for

from ..api.flow import decide_review, review_image, uncached_file
from ..errors import InvalidInput, NotFound
from ..lifecycle import output_review
from ..registry.fingerprints import thumbnail_path
from . import access
from .access import page
from .blueprint import bp

READERS = (*output_review.REVIEWERS, "auditor")
#: as the API's decision body allows
MAX_COMMENT = 2000


@bp.route("/output-reviews", methods=["GET"])
@page(*READERS)
def output_reviews() -> Any:
    """What waits for a reviewer, oldest first, with how long it has waited."""
    rows = [r.to_dict() for r in output_review.list_reviews(access.principal(), output_review.HELD)]
    return render_template("web/output_reviews.html", rows=rows)


@bp.route("/output-reviews/<string:review_id>", methods=["GET"])
@page(*READERS)
def output_review_page(review_id: str) -> Any:
    view = output_review.show_review(review_id, access.principal()).to_dict()
    return render_template("web/output_review.html", review=view,
                           may_decide=view["status"] == output_review.HELD
                           and access.principal().has_any(output_review.REVIEWERS))


@bp.route("/output-reviews/<string:review_id>/image", methods=["GET"])
@page(*READERS)
def output_review_image(review_id: str) -> Any:
    return review_image(review_id, access.principal())


@bp.route("/output-reviews/<string:review_id>/matches/<string:sha256>.jpg", methods=["GET"])
@page(*READERS)
def output_review_match(review_id: str, sha256: str) -> Any:
    """The thumbnail of a registered work this review named among the image's nearest."""
    view = output_review.show_review(review_id, access.principal())
    if sha256 not in {m.get("asset") for m in view.facts.get("matches") or ()}:
        raise NotFound("this review names no such work among its nearest matches")
    path = thumbnail_path(current_app.config["SLATE_SETTINGS"].index_dir, sha256)
    return uncached_file(path, "image/jpeg",
                         missing="no thumbnail is kept for this work (registered before thumbnails were)")


@bp.route("/output-reviews/<string:review_id>/decision", methods=["POST"])
@page(*output_review.REVIEWERS)
def decide_output_review(review_id: str) -> Any:
    verdict = request.form.get("verdict", "")
    comment = request.form.get("comment", "")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"a comment is at most {MAX_COMMENT} characters", fields={"comment": "too long"})
    view = decide_review(review_id, access.principal(), verdict, comment)
    flash(f"Output review {view.id[:12]}… {view.status}.", "info")
    return redirect(url_for("web.output_reviews"))

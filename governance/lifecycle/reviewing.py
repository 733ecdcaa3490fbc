"""A reviewer's verdict on an image output review held: approving signs exactly that image
(``signing.sign_reviewed``), rejecting quarantines it (``output_review.reject``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..canonical import sha256_hex
from ..errors import Conflict, Forbidden, InvalidInput
from ..policy.tables import GenerationRequest
from ..principal import Principal
from . import approvals, output_review, signoffs
from .dispatch import SampleDispatcher
from .signing import sign_reviewed
from .signoffs import Need, Requirement


def decide(review_id: str, by: Principal, verdict: str, comment: str, issuer: Any, *,
           retention: timedelta = timedelta(days=30), sample_rate: float = 0.0,
           dispatcher: SampleDispatcher | None = None) -> output_review.ReviewView:
    """A reviewer's verdict on a held image: ``approved`` signs exactly that image under the
    worker's receipt, naming the reviewer in the credential; ``rejected`` quarantines it.

    The requester may not review their own output. Any reviewer may reject; approving is a
    sign-off matched to the held rules' ``approvers`` (roles, how many people, production,
    department) exactly as a request's sign-offs are (``signoffs``): the image is signed
    once they are all met, naming every reviewer; until then it stays held, saying what is
    outstanding. A held file that no longer hashes to the image the decision covered is
    refused (409) and nothing is signed.
    """
    if verdict not in (output_review.APPROVED, output_review.REJECTED):
        raise InvalidInput("a review's verdict is approved or rejected")
    if not by.has_any(output_review.REVIEWERS):
        raise Forbidden("reviewing an output needs one of the roles: " + ", ".join(output_review.REVIEWERS))
    row = output_review.get_review(review_id)
    if row.status != output_review.HELD:
        raise Conflict(f"this output review is {row.status}, not held for review")
    request = GenerationRequest.get_by_id(row.request_id)
    if request.requester == by.name:
        raise Forbidden("the requester of an output may not review it")
    data = output_review.read_kept(row)
    if data is None:
        raise Conflict("this review's image is no longer kept (decided or purged meanwhile)")
    if sha256_hex(data) != row.image_sha256:
        raise Conflict("the held image no longer matches the image that was reviewed",
                       hint="legal: the data folder was changed outside Slate; run slate audit verify")
    if verdict == output_review.REJECTED:  # anyone who reviews may stop an image
        return output_review.reject(row, by, comment, retention)
    # letting it through takes whom the held rules name: each sign-off fills a slot, as a request's do
    given = [approvals.signer_named(s["approver"]) for s in row.signoffs or ()]
    standing = signoffs.status(signoffs.needs_of(row.approvals) or (Need(Requirement(), ()),), given,
                               approvals.request_of(request))
    me = approvals.signer_of(by)
    if not standing.can_fill(me):
        raise Forbidden("your sign-off fills nothing this image still needs: " + "; ".join(standing.outstanding)
                        if standing.outstanding else "this image's sign-offs are complete")
    after = standing.with_signer(me)
    if not after.met:
        return output_review.add_signoff(row, by, comment, after.outstanding)
    reviewers = [s["approver"] for s in row.signoffs or ()] + [by.name]
    return sign_reviewed(issuer, row, data, by, comment, sample_rate=sample_rate, dispatcher=dispatcher,
                         reviewers=reviewers)

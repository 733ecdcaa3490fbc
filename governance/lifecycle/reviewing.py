"""A reviewer's verdict on an image output review held: approving signs exactly that image
(``signing.sign_reviewed``), rejecting quarantines it (``output_review.reject``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..canonical import sha256_hex
from ..errors import Conflict, Forbidden, InvalidInput
from ..policy.tables import GenerationRequest
from ..principal import Principal
from . import output_review
from .dispatch import SampleDispatcher
from .signing import sign_reviewed


def decide(review_id: str, by: Principal, verdict: str, comment: str, issuer: Any, *,
           retention: timedelta = timedelta(days=30), sample_rate: float = 0.0,
           dispatcher: SampleDispatcher | None = None) -> output_review.ReviewView:
    """A reviewer's verdict on a held image: ``approved`` signs exactly that image under the
    worker's receipt, naming the reviewer in the credential; ``rejected`` quarantines it.

    The requester may not review their own output. Any reviewer may reject; approving takes
    a reviewer with a role each held rule's ``approvers`` name. A held file that no longer
    hashes to the image the decision covered is refused (409) and nothing is signed.
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
    # anyone who reviews may stop an image; letting it through takes whom each rule names
    for finding in row.approvals if verdict == output_review.APPROVED else ():
        roles = list((finding.get("approvers") or {}).get("roles") or output_review.REVIEWERS)
        if not by.has_any(tuple(roles)):
            raise Forbidden(f"rule {finding['rule']} asks for a reviewer with one of the roles: {', '.join(roles)}")
    data = output_review.read_kept(row)
    if data is None:
        raise Conflict("this review's image is no longer kept (decided or purged meanwhile)")
    if sha256_hex(data) != row.image_sha256:
        raise Conflict("the held image no longer matches the image that was reviewed",
                       hint="legal: the data folder was changed outside Slate; run slate audit verify")
    if verdict == output_review.REJECTED:
        return output_review.reject(row, by, comment, retention)
    return sign_reviewed(issuer, row, data, by, comment, sample_rate=sample_rate, dispatcher=dispatcher)

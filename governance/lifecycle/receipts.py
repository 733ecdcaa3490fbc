"""The worker's generation receipt for an image, checked against the job it claims to be for.

Signing (``signing``) and a sampled reproduction on another worker (``sampling``) both take
an image only with a receipt that an approved key enrolled for the calling worker signed,
stating exactly that job's recorded parameters, its registered weights and those bytes.
"""

from __future__ import annotations

from typing import Any

from ..canonical import sha256_hex
from ..errors import Forbidden, ModelIdentityError
from ..jobs.tables import Job
from ..workers import enrolment
from ..workers.receipts import SignedReceipt
from . import params as generation


def receipt_expectations(job: Job, image: bytes) -> dict[str, Any]:
    """What a receipt for ``image`` made for ``job`` must state: the job's recorded parameters,
    the registered weights and the SHA-256 of the bytes received."""
    params = generation.recorded(job.params)
    return {"job_id": job.id, "image_sha256": sha256_hex(image), "weights_sha256": job.request.model.weights_hash,
            "seed": params["seed"], "scheduler": params["scheduler"], "steps": params["steps"],
            "width": params["width"], "height": params["height"]}


def check_receipt(job: Job, image: bytes, text: str, worker: str) -> SignedReceipt:
    """The worker's receipt for ``image``, once it holds; refuses, naming why, otherwise.

    1. It parses as a signed receipt (``InvalidInput`` for a missing or malformed one).
    2. The key it names is enrolled for ``worker``, approved and not revoked (``Forbidden``).
    3. That key's signature over the receipt verifies (``Forbidden``: altered, or another key).
    4. It is for these bytes (``Forbidden``: a receipt for other bytes), the registered
       weights (``ModelIdentityError``) and the job's id and recorded parameters
       (``Forbidden``, naming each field that differs).
    """
    signed = SignedReceipt.from_text(text)
    signed.verify(enrolment.signing_key(signed.receipt.key_id, worker))
    wrong = signed.receipt.differences(receipt_expectations(job, image))
    if "image_sha256" in wrong:
        raise Forbidden(f"the receipt is for other bytes: it states image SHA-256 "
                        f"{signed.receipt.image_sha256[:16]}…, the uploaded image's is {sha256_hex(image)[:16]}…",
                        hint="send the receipt the worker signed for exactly this image")
    if "weights_sha256" in wrong:
        raise ModelIdentityError(f"the receipt states weights {signed.receipt.weights_sha256[:16]}…, not the "
                                 f"registered weights of job {job.id}'s model",
                                 hint="the worker must load exactly the approved weights; check its model directory")
    if wrong:
        raise Forbidden(f"the receipt does not state job {job.id} as recorded: {', '.join(sorted(wrong))} differ",
                        fields=wrong)
    return signed

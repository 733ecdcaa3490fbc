"""What the worker needs from the signing API: one call, ``sign``.

The worker never holds a signing key. It posts the PNG with the job id and the identity
of the model it loaded; the signing API checks the job is approved and that the identity
matches the registered model the decision named, embeds the credentials, and records the
output. The job id is the idempotency key: signing the same job twice returns the first
result, so a worker may retry after a timeout without making a second output.

The HTTP client comes with the service; tests use an in-memory one.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol


class SigningClient(Protocol):
    def sign(self, image_png: bytes, job_id: str, model_identity: str) -> Mapping[str, Any]:
        """Sign one output; return the signing API's receipt.

        Raise ``errors.SigningUnavailable`` for failures worth retrying (network, 5xx) and
        another ``SlateError`` for a refusal (identity mismatch, job not approved).
        """
        ...

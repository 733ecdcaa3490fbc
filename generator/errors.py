"""The generator's errors: subclasses of Slate's one hierarchy, for the worker's failures."""

from __future__ import annotations

from governance.errors import Conflict, ModelIdentityError, SlateError


class ModelLoadError(ModelIdentityError):
    """A model directory is missing files, damaged, or not a diffusers model."""

    status = 422
    title = "Model cannot be loaded"


class ModelRetired(Conflict):
    """A job names a model that has been retired from use."""

    title = "Model retired"


class SigningUnavailable(SlateError):
    """The signing API could not be reached or answered with a transient failure.

    The worker retries these with the same idempotency key (the job id); every other
    ``SlateError`` from a signing client is a refusal and is not retried.
    """

    status = 503
    exit_code = 10
    title = "Signing service unavailable"

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
    """Slate's API could not be reached, or answered with a transient failure (5xx, 429,
    a refused or reset connection, a timeout, a response cut short).

    Never the job's fault. Only signing is retried (``signing.sign_with_retry``, with the
    same job id, which makes every retry the same request); any other call that meets it
    gives up and leaves the job to be claimed again. Every other ``SlateError`` from the
    API is a refusal and is never retried.
    """

    status = 503
    exit_code = 10
    title = "Signing service unavailable"

    def __init__(self, message: str, *, hint: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, hint=hint)
        #: how long the API asked the caller to wait (its Retry-After header), if it said
        self.retry_after_s = retry_after_s


class TrainingDataMismatch(SlateError):
    """The files a training run's loader read do not make its training set's Merkle root:
    a file the set lacks, or a member missing. Nothing is trained and nothing registered."""

    status = 422
    title = "Training data is not the registered set"


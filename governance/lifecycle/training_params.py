"""What a training run may ask for, and its limits: defined once.

The API's and the CLI's training requests, the run Slate records and approves, the spec a
worker claims and the attestation it signs all carry these values, and Slate compares the
attested ones with the approved ones key by key: so the set of keys is closed and each value
bounded. Names follow ``generator.training.TrainingConfig`` where it has one (``resolution``
is its ``crop``). Plain values only (no database, no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ..errors import InvalidInput
from .params import SEED_MAX, _is_int

#: LoRA: an adapter on the base's attention; full: every trainable weight of the UNet
METHODS = ("lora", "full")
STEPS = (1, 200_000)
RANK = (1, 256)
LEARNING_RATE = (1e-8, 1.0)
BATCH_SIZE = (1, 256)
RESOLUTION = (32, 2048)
RESOLUTION_MULTIPLE = 8
AUTOENCODER_STEPS = (0, 100_000)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problems(p: TrainingParams) -> dict[str, str]:
    """Each out-of-range value, by field, in words a requester can act on."""
    found: dict[str, str] = {}
    for name, (low, high) in (("steps", STEPS), ("rank", RANK), ("batch_size", BATCH_SIZE),
                              ("autoencoder_steps", AUTOENCODER_STEPS)):
        value = getattr(p, name)
        if not (_is_int(value) and low <= value <= high):
            found[name] = f"must be a whole number from {low} to {high}"
    if not (_is_int(p.seed) and 0 <= p.seed <= SEED_MAX):
        found["seed"] = f"must be a whole number from 0 to {SEED_MAX}"
    for name in ("learning_rate", "autoencoder_learning_rate"):
        value = getattr(p, name)
        if not (_number(value) and LEARNING_RATE[0] <= value <= LEARNING_RATE[1]):
            found[name] = f"must be a number from {LEARNING_RATE[0]:g} to {LEARNING_RATE[1]:g}"
    if not (_is_int(p.resolution) and RESOLUTION[0] <= p.resolution <= RESOLUTION[1]
            and p.resolution % RESOLUTION_MULTIPLE == 0):
        found["resolution"] = f"must be a multiple of {RESOLUTION_MULTIPLE} from {RESOLUTION[0]} to {RESOLUTION[1]}"
    if not (_number(p.caption_dropout) and 0.0 <= p.caption_dropout <= 1.0):
        found["caption_dropout"] = "must be a number from 0 to 1"
    return found


@dataclass(frozen=True)
class TrainingParams:
    """A run's hyper-parameters; validates itself on creation (``InvalidInput`` by field)."""

    steps: int = 200
    rank: int = 4
    learning_rate: float = 1e-3
    batch_size: int = 4
    seed: int = 0
    resolution: int = 64
    caption_dropout: float = 0.1
    #: full fine-tunes only: a LoRA run trains the adapter alone
    autoencoder_steps: int = 0
    autoencoder_learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        found = problems(self)
        if found:
            raise InvalidInput("the training hyper-parameters are out of range", fields=found)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrainingParams:
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput(f"unknown training hyper-parameters: {', '.join(unknown)[:300]}",
                               hint=f"known: {', '.join(cls.__dataclass_fields__)}")
        return cls(**data)

    def for_method(self, method: str) -> TrainingParams:
        """Checked against the method: a LoRA run trains no autoencoder."""
        if method not in METHODS:
            raise InvalidInput(f"the training method is one of {', '.join(METHODS)}",
                               fields={"method": "unknown method"})
        if method == "lora" and self.autoencoder_steps:
            raise InvalidInput("a LoRA run trains only the adapter: autoencoder_steps must be 0",
                               fields={"autoencoder_steps": "must be 0 for lora"})
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

"""What a generation may ask for, and its limits: defined once.

The API's request schema, the job the lifecycle records and the generator that runs it all
read these, so a request the API accepts is one the generator runs: no job is refused on a
GPU host for a value the API let through. Plain values only (no database, no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, TypeGuard

from ..errors import InvalidInput

#: seeds fit 32 bits: what every diffusion front end offers and what a person can type
SEED_MAX = 2**32 - 1
STEPS = (1, 150)
GUIDANCE = (0.0, 30.0)
SIZE = (64, 2048)
SIZE_MULTIPLE = 8
MAX_PROMPT_CHARS = 4000
#: "default" keeps the model's own scheduler; the others are what the generator offers
DEFAULT_SCHEDULER = "default"
SCHEDULERS = (DEFAULT_SCHEDULER, "ddim", "euler", "euler_a", "dpm++", "pndm", "unipc")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def problems(seed: object, steps: object, guidance: object, width: object, height: object,
             scheduler: object) -> dict[str, str]:
    """Each out-of-range value, by field, in words a requester can act on."""
    found: dict[str, str] = {}
    if not (_is_int(seed) and 0 <= seed <= SEED_MAX):
        found["seed"] = f"must be a whole number from 0 to {SEED_MAX}"
    if not (_is_int(steps) and STEPS[0] <= steps <= STEPS[1]):
        found["steps"] = f"must be a whole number from {STEPS[0]} to {STEPS[1]}"
    if not (isinstance(guidance, (int, float)) and not isinstance(guidance, bool)
            and GUIDANCE[0] <= guidance <= GUIDANCE[1]):
        found["guidance"] = f"must be a number from {GUIDANCE[0]:g} to {GUIDANCE[1]:g}"
    for name, value in (("width", width), ("height", height)):
        if not (_is_int(value) and SIZE[0] <= value <= SIZE[1] and value % SIZE_MULTIPLE == 0):
            found[name] = f"must be a multiple of {SIZE_MULTIPLE} from {SIZE[0]} to {SIZE[1]}"
    if scheduler not in SCHEDULERS:
        found["scheduler"] = f"must be one of {', '.join(SCHEDULERS)}"
    return found


@dataclass(frozen=True)
class GenerationParams:
    """What the worker is asked to do besides the prompt; recorded with the job."""

    seed: int = 0
    steps: int = 25
    guidance: float = 7.5
    width: int = 128
    height: int = 128
    scheduler: str = DEFAULT_SCHEDULER

    def __post_init__(self) -> None:
        found = problems(self.seed, self.steps, self.guidance, self.width, self.height, self.scheduler)
        if found:
            raise InvalidInput("the generation parameters are out of range", fields=found)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationParams:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput(f"unknown generation parameters: {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recorded(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters as a job or request recorded them, read back without judging them again.

    Limits apply when a request is made; a record made under older limits still reads, lists
    and claims (the generator judges the job it is given). Missing keys take today's defaults.
    """
    return {**GenerationParams().to_dict(), **dict(data or {})}

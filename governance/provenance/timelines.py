"""STAND-IN until P2's editorial timelines merge (the lead takes P2's module whole).

Only the names the clearance report calls, so this branch type-checks; both refuse clearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..principal import Principal


@dataclass(frozen=True)
class Timeline:
    name: str
    format: str


@dataclass(frozen=True)
class TimelineScope:
    name: str
    format: str
    clips: int

    @property
    def outputs(self) -> tuple[str, ...]:
        return ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "clips": self.clips, "matched": 0, "unmatched": []}


def read_timeline(data: bytes, filename: str) -> Timeline:
    raise InvalidInput("this build of Slate cannot read editorial timelines yet",
                       hint="ask for the production's whole report, without --timeline")


def match_clips(timeline: Timeline, production: str, by: Principal | None) -> TimelineScope:
    raise InvalidInput("this build of Slate cannot read editorial timelines yet")

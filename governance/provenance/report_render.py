"""STAND-IN until P2's renderings merge (the lead takes P2's module whole).

Only the names the clearance report's CLI, API and page call, so this branch type-checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput


def render_html(signed: Mapping[str, Any]) -> str:
    raise InvalidInput("this build of Slate renders the clearance report as JSON only", hint="ask for --format json")


def render_pdf(signed: Mapping[str, Any]) -> bytes:
    raise InvalidInput("this build of Slate renders the clearance report as JSON only", hint="ask for --format json")

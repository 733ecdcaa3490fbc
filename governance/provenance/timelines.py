"""Reading an editorial timeline (a cut) and mapping its clips to a production's signed outputs.

A clearance report for a cut covers the outputs its clips use. The cut arrives as a CMX 3600
EDL, an FCP 7 XML or an OpenTimelineIO ``.otio`` file, read with OpenTimelineIO; the format
comes from the file's extension. A clip maps to an output

- by media reference: its target URL holds an output's full SHA-256 (the ledger keeps each
  output's file as ``<sha256>.<ext>``), or its file name is the one Slate downloads the output
  as (``<job id>.<ext>``);
- else by clip name: the name holds a full SHA-256, or a prefix of 12 or more hex digits that
  is unique among the production's outputs (editors shorten names; 12 digits leave no doubt).

Clips that map to nothing are listed with the reason, never dropped silently.

The file is a stranger's bytes: it is bounded in size and clip count before and after
parsing, XML may not declare a DOCTYPE or entities, JSON nesting is bounded before the
(C++) OTIO parser sees it, and every parser failure becomes ``InvalidInput`` with words the
editor can act on. Nothing here touches the network or the file system.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio
import peewee

from ..errors import InvalidInput
from ..ledger.tables import Output
from ..principal import Principal
from ..registry import scope as visibility
from ..registry.people import get_production
from .tables import OutputFacet

#: extension -> (OpenTimelineIO adapter, the format's name in the report)
FORMATS = {
    ".edl": ("cmx_3600", "cmx_3600"),
    ".xml": ("fcp_xml", "fcp_xml"),
    ".otio": ("otio_json", "otio"),
}
MAX_BYTES = 5 * 1024 * 1024
MAX_CLIPS = 5000
#: deeper JSON than this is not a timeline but an attack on the parser's stack
MAX_JSON_DEPTH = 64
#: CMX 3600 carries no frame rate; 24 fps is the film default and only affects timings
EDL_RATE = 24
MIN_PREFIX = 12

_FULL_SHA = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_PREFIX = re.compile(r"(?<![0-9a-z])[0-9a-f]{12,63}(?![0-9a-z])")
_XML_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class TimelineClip:
    """One clip of the cut, in timeline order (``index`` from 1), as the file names it."""

    index: int
    name: str
    media: str | None  # the media reference's target URL, when the file gives one

    @property
    def label(self) -> str:
        """How a report names the clip: its position and name (names repeat in a cut)."""
        return f"{self.index:03d} {self.name}" if self.name else f"{self.index:03d}"


@dataclass(frozen=True)
class Timeline:
    name: str
    format: str
    clips: tuple[TimelineClip, ...]


@dataclass(frozen=True)
class ClipMatch:
    clip: str
    sha256: str
    by: str  # "media_reference" | "file_name" | "clip_name"


@dataclass(frozen=True)
class UnmatchedClip:
    clip: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"clip": self.clip, "reason": self.reason}


@dataclass(frozen=True)
class TimelineScope:
    """What a cut covers in a production: the outputs its clips map to, and the clips that map to none."""

    name: str
    format: str
    clips: int
    matched: tuple[ClipMatch, ...]
    unmatched: tuple[UnmatchedClip, ...]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The matched outputs' SHA-256s, once each, in the order the cut first uses them."""
        return tuple(dict.fromkeys(m.sha256 for m in self.matched))

    def to_dict(self) -> dict[str, Any]:
        """The report's ``scope.timeline`` entry."""
        return {"name": self.name, "format": self.format, "clips": self.clips, "matched": len(self.matched),
                "unmatched": [u.to_dict() for u in self.unmatched]}


# -- reading -------------------------------------------------------------------------------


def read_timeline(data: bytes, filename: str) -> Timeline:
    """The cut in ``data``, read as the format ``filename``'s extension names."""
    adapter, format_name = _format(filename)
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the timeline file is {len(data)} bytes; at most {MAX_BYTES} are read",
                           hint="export the cut's picture track only, or split it into reels")
    text = _text(data, adapter)
    try:
        parsed = otio.adapters.read_from_string(text, adapter_name=adapter, **_options(adapter))
    except Exception as error:  # noqa: BLE001 (any parser failure on a stranger's bytes is bad input)
        raise InvalidInput(f"the {format_name} timeline '{_safe(filename)}' could not be read "
                           f"({type(error).__name__})",
                           hint="export it again from the editing system; Slate reads CMX 3600 EDL, "
                                "FCP 7 XML and .otio") from None
    timeline = _one_timeline(parsed, format_name)
    clips = _clips(timeline)
    return Timeline(name=_safe(str(timeline.name or posixpath.basename(filename))), format=format_name,
                    clips=tuple(clips))


def _format(filename: str) -> tuple[str, str]:
    extension = posixpath.splitext(filename.replace("\\", "/").lower())[1]
    if extension not in FORMATS:
        raise InvalidInput(f"'{_safe(filename)}' is not a timeline Slate reads",
                           hint="give a CMX 3600 EDL (.edl), an FCP 7 XML (.xml) or an OpenTimelineIO file (.otio)")
    return FORMATS[extension]


def _text(data: bytes, adapter: str) -> str:
    if adapter == "fcp_xml" and _XML_DECLARATIONS.search(data):
        raise InvalidInput("the XML timeline declares a DOCTYPE or entities, which Slate does not read",
                           hint="export the cut as plain FCP 7 XML")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the timeline file is not UTF-8 text", hint="export it again as UTF-8") from None
    if "\x00" in text:
        raise InvalidInput("the timeline file holds NUL bytes: it is not a text timeline")
    if adapter == "otio_json":
        _check_json(text)
    return text


def _check_json(text: str) -> None:
    """Parse in Python first: OTIO's C++ reader has no depth limit, and a crash is not a 4xx."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidInput(f"the .otio file nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise InvalidInput("the .otio file is not valid JSON", hint="export it again from the editing system") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidInput(f"the .otio file nests deeper than {MAX_JSON_DEPTH} levels")
    if not (isinstance(value, dict) and str(value.get("OTIO_SCHEMA", "")).startswith("Timeline.")):
        raise InvalidInput("the .otio file does not hold a timeline (its OTIO_SCHEMA is not Timeline)")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (the value may be too deep for recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _options(adapter: str) -> dict[str, Any]:
    return {"rate": EDL_RATE} if adapter == "cmx_3600" else {}


def _one_timeline(parsed: Any, format_name: str) -> Any:
    if isinstance(parsed, otio.schema.SerializableCollection):
        timelines = list(parsed.find_children(descended_from_type=otio.schema.Timeline))
        if len(timelines) != 1:
            raise InvalidInput(f"the {format_name} file holds {len(timelines)} sequences; give one cut at a time")
        return timelines[0]
    if not isinstance(parsed, otio.schema.Timeline):
        raise InvalidInput(f"the {format_name} file does not hold a timeline")
    return parsed


def _clips(timeline: Any) -> list[TimelineClip]:
    """The picture clips (all clips when the cut has no video track), bounded in number."""
    tracks = list(timeline.video_tracks()) or list(timeline.tracks)
    clips: list[TimelineClip] = []
    for track in tracks:
        for clip in track.find_clips():
            if len(clips) >= MAX_CLIPS:
                raise InvalidInput(f"the timeline has more than {MAX_CLIPS} clips",
                                   hint="ask for the report one reel at a time")
            clips.append(TimelineClip(len(clips) + 1, _safe(str(clip.name or "")), _target(clip.media_reference)))
    if not clips:
        raise InvalidInput("the timeline has no clips", hint="check that the export holds the picture track")
    return clips


def _target(reference: Any) -> str | None:
    url = getattr(reference, "target_url", None)
    return _safe(str(url)) if url else None


def _safe(text: str, limit: int = 300) -> str:
    """A name from the file, fit to show: no control characters, bounded."""
    return "".join(c for c in text if c.isprintable())[:limit]


# -- matching ------------------------------------------------------------------------------


def match_clips(timeline: Timeline, production: str, by: Principal | None) -> TimelineScope:
    """Each clip of ``timeline`` mapped to an output of ``production`` (see the module's rules).

    A producer may only ask about their own productions; any other answers as unknown."""
    if visibility.confined(by) and not by.may_see_production(production):
        raise visibility.hidden("production", production)
    name = get_production(production).name
    matched: list[ClipMatch] = []
    unmatched: list[UnmatchedClip] = []
    for clip in timeline.clips:
        found = _match(clip, name)
        if isinstance(found, ClipMatch):
            matched.append(found)
        else:
            unmatched.append(UnmatchedClip(clip.label, found))
    return TimelineScope(timeline.name, timeline.format, len(timeline.clips), tuple(matched), tuple(unmatched))


def _match(clip: TimelineClip, production: str) -> ClipMatch | str:
    """The clip's output, or the reason it has none."""
    reasons = []
    if clip.media:
        found = _by_media(clip, production)
        if isinstance(found, ClipMatch):
            return found
        reasons.append(found)
    found = _by_name(clip, production)
    if isinstance(found, ClipMatch):
        return found
    reasons.append(found)
    return "; ".join(reasons)


def _by_media(clip: TimelineClip, production: str) -> ClipMatch | str:
    media = clip.media or ""
    full = _FULL_SHA.findall(media.lower())
    if full:
        return _exact(clip, full[-1], production, "media_reference", "its media reference")
    base = posixpath.basename(media.replace("\\", "/"))
    found = _by_file_name(base, production)
    if found is not None:
        return ClipMatch(clip.label, found, "file_name")
    return f"its media file '{base}' is not an output of production '{production}'"


def _by_name(clip: TimelineClip, production: str) -> ClipMatch | str:
    name = clip.name.lower()
    full = _FULL_SHA.findall(name)
    if full:
        return _exact(clip, full[-1], production, "clip_name", "its name")
    prefixes = _PREFIX.findall(name)
    if not prefixes:
        return (f"its name holds no output hash (a full SHA-256 or a prefix of {MIN_PREFIX} or more "
                "hex digits) and no media reference names an output")
    for prefix in prefixes:
        candidates = _with_prefix(prefix, production)
        if len(candidates) == 1:
            return ClipMatch(clip.label, candidates[0], "clip_name")
        if len(candidates) > 1:
            return f"the hash prefix '{prefix}' in its name matches several outputs; give more digits"
    return f"no output of production '{production}' starts with the hash in its name"


def _exact(clip: TimelineClip, sha: str, production: str, by: str, where: str) -> ClipMatch | str:
    if _in_production(Output.sha256 == sha, production, limit=1):
        return ClipMatch(clip.label, sha, by)
    return f"the SHA-256 in {where} is not an output of production '{production}'"


def _by_file_name(base: str, production: str) -> str | None:
    """The output Slate downloads as ``base`` (``<job id>.<ext>``), if exactly one. (The file
    the ledger keeps is named by its SHA-256, which the full-hash rule already matches.)"""
    stem = posixpath.splitext(base)[0]
    found = _in_production(Output.job_id == stem, production, limit=2) if stem else []
    return found[0] if len(found) == 1 else None


def _with_prefix(prefix: str, production: str) -> list[str]:
    # a range over the unique sha256 index: hex digits sort below "g"
    return _in_production((Output.sha256 >= prefix) & (Output.sha256 < prefix + "g"), production, limit=2)


def _in_production(condition: Any, production: str, *, limit: int) -> list[str]:
    """SHA-256s of up to ``limit`` outputs of ``production`` meeting ``condition``."""
    facet = OutputFacet.select(OutputFacet.output_id).where(
        OutputFacet.kind == "production", OutputFacet.value == production, OutputFacet.output == Output.id)
    query = Output.select(Output.sha256).where(condition, peewee.fn.EXISTS(facet)).limit(limit)
    return [row.sha256 for row in query]


__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "MAX_CLIPS",
    "ClipMatch",
    "Timeline",
    "TimelineClip",
    "TimelineScope",
    "UnmatchedClip",
    "match_clips",
    "read_timeline",
]

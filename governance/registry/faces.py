"""Registered people's reference faces: what output review matches faces in a generated image
against, so a registered person nobody declared is caught in the pixels.

Only with consent: a reference photo's face is enrolled (``enrol_reference``) when the photo
is registered showing exactly one person whose confirmed, unrevoked consent in force today
covers ``biometric_matching``; the largest face the detector finds is taken as theirs. A
consent granted later takes effect when the photo is registered again (the same bytes are
the same asset; its face is enrolled then). Matching (``live_faces``) uses only people whose
consent still covers it, so a revocation stops matching at once.

Only the matcher's descriptor is kept (``PersonFace``), never the photo; descriptors are
biometric data and never leave the database: no answer, log line, credential or error
carries one. The default matcher is the offline LBP one (``perception.faces``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable

import numpy as np

from ..clock import utcnow
from ..errors import ConfigurationError, InvalidInput
from ..perception.faces import FaceDescriptor, FaceMatcher, LbpFaceMatcher, detect_faces, load_face_matcher
from ..perception.pixels import ImageInput, as_rgb
from .tables import Asset, Consent, Person, PersonFace

BIOMETRIC = "biometric_matching"


@dataclass(frozen=True)
class Matching:
    """The matcher this process uses and its same-person distance."""

    matcher: FaceMatcher
    threshold: float


_matching = Matching(LbpFaceMatcher(), LbpFaceMatcher.MATCH_THRESHOLD)


def use_matcher(model: Path | None, threshold: float | None, input_size: int = 112) -> None:
    """The studio's own ONNX model (``SLATE_FACE_MATCHER_MODEL``, with its threshold) or the
    offline LBP default; set by the app factory and every CLI command. Faces enrolled under
    another matcher are not compared (register the reference photos again to enrol them)."""
    global _matching
    if model is None:
        _matching = Matching(LbpFaceMatcher(), LbpFaceMatcher.MATCH_THRESHOLD)
    else:
        if threshold is None:
            raise ConfigurationError("a face model needs its same-person distance",
                                     hint="set SLATE_FACE_MATCHER_THRESHOLD")
        _matching = Matching(load_face_matcher(model, input_size=input_size), threshold)


def matcher() -> FaceMatcher:
    return _matching.matcher


def consents_to_matching(person: Person, on: date | None = None) -> list[Consent]:
    """The person's confirmed, unrevoked consents in force ``on`` (today) covering biometric matching."""
    day = on or utcnow().date()
    return [c for c in Consent.select().where(Consent.person == person, Consent.revoked_at.is_null(True),
                                              Consent.status == "confirmed")
            if BIOMETRIC in (c.uses or ()) and c.valid_from <= day <= c.valid_until]


def reference_face(image: ImageInput, max_pixels: int) -> FaceDescriptor | None:
    """The descriptor of the largest face in a photo (None: no face, or not decodable), computed
    before the registering transaction: detection takes tens of milliseconds."""
    try:
        pixels = as_rgb(image, max_pixels=max_pixels)
        faces = detect_faces(pixels)
    except InvalidInput:
        return None
    if not faces:
        return None
    return _matching.matcher.describe(pixels, max(faces, key=lambda b: b.area))


def enrol_reference(asset: Asset, people: Iterable[Person], descriptor: FaceDescriptor | None) -> bool:
    """Keep a reference photo's face for the one person it shows, if their consent covers
    biometric matching; in the caller's (registering) transaction. Returns whether it did."""
    persons = list({p.id: p for p in people}.values())
    if descriptor is None or len(persons) != 1 or not consents_to_matching(persons[0]):
        return False
    (PersonFace.insert(person=persons[0], asset=asset, matcher_version=descriptor.matcher,
                       descriptor=descriptor.values.astype(np.float32).tobytes(), created_at=utcnow())
     .on_conflict_ignore().execute())
    return True


@dataclass(frozen=True)
class KnownFace:
    """A consenting person's enrolled face, as matching needs it (never shown)."""

    person: str
    is_minor: bool
    guardian_signed: bool
    descriptor: FaceDescriptor

    def __repr__(self) -> str:
        return f"KnownFace({self.person!r}, descriptor withheld)"


def live_faces(on: date | None = None) -> list[KnownFace]:
    """Every enrolled face of a person whose consent covers biometric matching today."""
    rows = (PersonFace.select(PersonFace, Person).join(Person)
            .where(PersonFace.matcher_version == _matching.matcher.VERSION))
    found, consents = [], {}
    for row in rows:
        person: Person = row.person
        if person.id not in consents:
            consents[person.id] = consents_to_matching(person, on)
        if not consents[person.id]:
            continue
        values = np.frombuffer(bytes(row.descriptor), dtype=np.float32)
        found.append(KnownFace(person.name, bool(person.is_minor),
                               any(c.guardian_signed for c in consents[person.id]),
                               FaceDescriptor(row.matcher_version, values)))
    return found


def match(pixels: ImageInput, boxes: Iterable[object], known: list[KnownFace]) -> list[KnownFace]:
    """The known people whose enrolled face is within the matcher's threshold of a face found
    in ``pixels`` (each box the detector found), nearest first, each once."""
    if not known:
        return []
    rgb = as_rgb(pixels)
    matched: dict[str, tuple[float, KnownFace]] = {}
    using = _matching
    for box in boxes:
        face = using.matcher.describe(rgb, box)  # type: ignore[arg-type]
        for candidate in known:
            distance = using.matcher.distance(face, candidate.descriptor)
            if distance <= using.threshold and distance < matched.get(candidate.person, (2.0,))[0]:
                matched[candidate.person] = (distance, candidate)
    return [k for _, k in sorted(matched.values(), key=lambda pair: pair[0])]

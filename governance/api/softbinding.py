"""``/api/v1/softbinding``: read-only endpoints shaped like the C2PA Soft Binding Resolution
API (supported algorithms, matches by binding, matches by content, manifest by id), answered
from Slate's manifest repository and outputs' soft bindings (``ledger.bindings``).

Who may call them: whoever may verify an image (``flow.verify``'s roles). A match names a
manifest (its label, the ``manifestId``), never the standing or the governance record
behind it; the manifest store is what the signed file itself carried, and a producer reads
only their own productions' manifests (another's is "not found", as with every record). Byte-for-byte the
same matching as ``slate verify``'s recovery (``credentials.softbinding``): a watermark hit
is confirmed by the fingerprint, a fingerprint alone must be near and unambiguous.

Differences from the specification, kept small: the content is a multipart ``file`` part
(as ``/verify`` takes it), and ``byReference`` (fetching a URL) is not offered, since Slate
never reaches out to the network on a caller's behalf.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
from flask import Response, current_app, g, request
from marshmallow import Schema, fields, validate

from ..credentials import softbinding
from ..errors import InvalidInput, NotFound
from ..ledger.bindings import LedgerRecovery, stored_manifest
from ..lifecycle import requests
from ..perception.fingerprints import DESCRIPTOR_DIM
from ..perception.watermark import check_id
from . import schemas as s
from .access import admits
from .blueprint import SlateBlueprint as Blueprint
from .openapi import file_response

blp = Blueprint("softbinding", __name__, url_prefix="/api/v1/softbinding",
                description="Soft binding resolution: find the manifest of a copy that lost it")

VERIFIERS = ("auditor", "legal", "producer", "approver", "admin")
MAX_RESULTS = 10


class BindingQuery(Schema):
    alg = fields.String(required=True, validate=validate.Length(max=100))
    value = fields.String(required=True, validate=validate.Length(max=4000))
    maxResults = fields.Integer(load_default=MAX_RESULTS, validate=validate.Range(1, MAX_RESULTS))  # noqa: N815


class ContentQuery(Schema):
    maxResults = fields.Integer(load_default=MAX_RESULTS, validate=validate.Range(1, MAX_RESULTS))  # noqa: N815


class Match(Schema):
    manifestId = fields.String()  # noqa: N815
    similarityScore = fields.Integer(metadata={"description": "0-100: 100 for an exact binding"})  # noqa: N815


class MatchesOut(Schema):
    matches = fields.List(fields.Nested(Match))


class Algorithm(Schema):
    alg = fields.String()


class AlgorithmsOut(Schema):
    watermarks = fields.List(fields.Nested(Algorithm))
    fingerprints = fields.List(fields.Nested(Algorithm))


def _recovery() -> LedgerRecovery:
    return LedgerRecovery(current_app.config["SLATE_SETTINGS"].output_index_dir)


@blp.route("/services/supportedAlgorithms", methods=["GET"])
@admits(*VERIFIERS)
@blp.response(200, AlgorithmsOut)
@blp.doc(**{"x-errors-none": ["404", "409", "422"]})
def supported_algorithms() -> Any:
    """The soft binding algorithms Slate's outputs carry and these endpoints resolve."""
    return {"watermarks": [{"alg": softbinding.WATERMARK_ALG}], "fingerprints": [{"alg": softbinding.FINGERPRINT_ALG}]}


@blp.route("/matches/byBinding", methods=["GET"])
@admits(*VERIFIERS)
@blp.arguments(BindingQuery, location="query")
@blp.response(200, MatchesOut)
@blp.doc(**{"x-errors-none": ["404", "409"]})
def matches_by_binding(query: dict[str, Any]) -> Any:
    """The manifests whose soft binding has this value: a watermark id exactly, or a
    fingerprint (base64 pHash and descriptor, as the assertion states it) near enough that
    recovery would name it."""
    alg, value = query["alg"], query["value"]
    if alg == softbinding.WATERMARK_ALG:
        output = _recovery().by_watermark(check_id(value))
        return {"matches": [{"manifestId": output.manifest_label, "similarityScore": 100}] if output else []}
    if alg == softbinding.FINGERPRINT_ALG:
        near = _recovery().nearest(_descriptor(value), query["maxResults"])
        return {"matches": [{"manifestId": o.manifest_label, "similarityScore": _score(d)} for o, d in near
                            if d <= softbinding.FINGERPRINT_ONLY_DISTANCE]}
    raise InvalidInput(f"unknown soft binding algorithm '{alg[:100]}'",
                       hint=f"use {softbinding.WATERMARK_ALG} or {softbinding.FINGERPRINT_ALG}")


@blp.route("/matches/byContent", methods=["POST"])
@admits(*VERIFIERS)
@blp.arguments(ContentQuery, location="query")
@blp.arguments(s.FileUpload, location="multipart")
@blp.response(200, MatchesOut)
@blp.doc(**{"x-errors-none": ["404", "409"]})
def matches_by_content(_query: dict[str, Any], _form: dict[str, Any]) -> Any:
    """The manifest of the output this image is a copy of, found as ``slate verify`` finds
    it (watermark confirmed by fingerprint, or an unambiguous fingerprint); none otherwise."""
    settings = current_app.config["SLATE_SETTINGS"]
    upload = request.files["file"]
    data = upload.read(settings.max_image_bytes + 1)
    if not data:
        raise InvalidInput("the multipart field 'file' is empty")
    if len(data) > settings.max_image_bytes:
        raise InvalidInput(f"the image is more than the limit of {settings.max_image_bytes:,} bytes")
    found = softbinding.recover(data, _recovery(), max_pixels=settings.max_image_pixels)
    if not isinstance(found, softbinding.Recovered):
        return {"matches": []}
    return {"matches": [{"manifestId": found.output.manifest_label, "similarityScore": _score(found.distance)}]}


@blp.route("/manifests/<string:manifest_id>", methods=["GET"])
@admits(*VERIFIERS)
@blp.doc(responses=file_response("application/c2pa", "the manifest store Slate signed under this label"),
         **{"x-errors-none": ["409", "422"]})
def manifest(manifest_id: str) -> Any:
    """The manifest store (C2PA JUMBF, ``application/c2pa``) Slate signed under this label.
    A producer reads only their own productions' manifests: another's answers as a missing one."""
    found = stored_manifest(manifest_id) if len(manifest_id) <= 200 else None
    missing = NotFound("Slate's manifest repository holds no manifest with that id")
    if found is None:
        raise missing
    if not g.principal.studio_wide:
        try:
            requests.visible_output(found[1], g.principal)
        except NotFound:
            raise missing from None
    return Response(found[0], mimetype="application/c2pa")


def _descriptor(value: str) -> Any:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("a fingerprint value is base64 (8-byte pHash, then the float32 descriptor)") from None
    if len(raw) != 8 + 4 * DESCRIPTOR_DIM:
        raise InvalidInput(f"a fingerprint value holds {8 + 4 * DESCRIPTOR_DIM} bytes, this one {len(raw)}")
    vector = np.frombuffer(raw[8:], dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vector)) or not 0.99 < float(np.linalg.norm(vector)) < 1.01:
        raise InvalidInput("a fingerprint's descriptor is a unit vector of finite numbers")
    return vector


def _score(distance: float) -> int:
    return max(0, min(100, round(100 * (1 - distance))))


blueprints = [blp]

"""Provenance for producers (and legal, auditors): search signed outputs, an output's lineage
picture, and what revoking a consent or taking a licence down would touch.

The answers are ``governance.provenance`` (query, lineage, svg, impact), called as its API
does. Where that package is not installed yet the page says so instead (the link point).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from flask import Response, render_template, request

from ..canonical import json_default
from ..errors import InvalidInput, NotFound
from . import access
from .access import page
from .blueprint import bp

VIEWERS = ("producer", "legal", "auditor")
SEARCH_FILTERS = ("person", "licence", "asset", "model", "approver")


def _modules() -> dict[str, ModuleType] | None:
    try:
        from ..provenance import impact, lineage, query, svg
    except ImportError:
        return None
    return {"impact": impact, "lineage": lineage, "query": query, "svg": svg}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


@bp.route("/provenance", methods=["GET"])
@page(*VIEWERS)
def provenance() -> Any:
    modules = _modules()
    filters = {k: request.args.get(k, "").strip() for k in SEARCH_FILTERS}
    results = None
    if modules is not None and any(filters.values()):
        query = modules["query"]
        results = query.find_outputs(query.OutputQuery.from_text(filters), access.principal()).to_dict()
    return render_template("web/provenance.html", available=modules is not None, filters=filters,
                           results=results, impact=None)


@bp.route("/provenance/impact", methods=["GET"])
@page(*VIEWERS)
def provenance_impact() -> Any:
    modules = _modules()
    if modules is None:
        raise NotFound("revocation impact is not available on this server yet")
    consent, licence = request.args.get("consent", "").strip(), request.args.get("licence", "").strip()
    if bool(consent) == bool(licence):
        raise InvalidInput("give exactly one of a consent number or a licence reference")
    impact = modules["impact"]
    result = (impact.consent_impact(consent, access.principal()) if consent
              else impact.licence_impact(licence, access.principal()))
    return render_template("web/provenance.html", available=True, filters={}, results=None,
                           impact=_plain(result.to_dict()))


@bp.route("/provenance/outputs/<string:sha256>/lineage", methods=["GET"])
@page(*VIEWERS)
def lineage(sha256: str) -> Any:
    modules = _modules()
    if modules is None:
        raise NotFound("lineage is not available on this server yet")
    data = _plain(modules["lineage"].lineage(sha256, access.principal()))
    return render_template("web/lineage.html", sha256=sha256, lineage=data)


@bp.route("/provenance/outputs/<string:sha256>/lineage.svg", methods=["GET"])
@page(*VIEWERS)
def lineage_picture(sha256: str) -> Any:
    modules = _modules()
    if modules is None:
        raise NotFound("lineage is not available on this server yet")
    data = _plain(modules["lineage"].lineage(sha256, access.principal()))
    return Response(modules["svg"].lineage_svg(data), mimetype="image/svg+xml")

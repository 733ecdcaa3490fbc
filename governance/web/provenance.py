"""Provenance for producers (and legal, auditors): search signed outputs, an output's lineage
picture, and what revoking a consent or taking a licence down would touch.

The answers are ``governance.provenance`` (query, lineage, svg, impact), called as its API
does. Where that package is not installed yet the page says so instead (the link point).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any, Iterator

from flask import Response, render_template, request

from ..api.flow import attachment
from ..canonical import json_default
from ..db import database
from ..errors import Ambiguous, InvalidInput, NotFound
from ..registry import vocabulary as vocab
from . import access
from .access import page
from .blueprint import bp

VIEWERS = ("producer", "legal", "auditor")
#: the search form's fields, in its order; the pickers offer the records the visitor may see
SEARCH_FILTERS = ("person", "asset", "licence", "consent", "model", "production", "use", "approver", "outcome",
                  "since", "until")
PICKERS = ("person", "asset", "licence", "model", "production")
#: how many earlier pages "Previous" can walk back through (cursors carried in the URL)
MAX_TRAIL = 40
PAGE_SIZE = 25
#: the impact page counts affected outputs up to this many and says "more than" past it: a
#: licence can reach most of a million outputs. The API's and the CLI's dry run count exactly.
IMPACT_COUNT = 1000
#: the page sizes the form offers (any other asked for is refused in words)
PAGE_SIZES = (5, 25, 50, 100)


def _modules() -> dict[str, ModuleType] | None:
    try:
        from ..provenance import impact, lineage, listing, names, query, svg
    except ImportError:
        return None
    return {"impact": impact, "lineage": lineage, "listing": listing, "names": names, "query": query, "svg": svg}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip()[:300] for k in SEARCH_FILTERS}


def _page_size() -> int:
    text = request.args.get("per_page", "").strip()
    if not text:
        return PAGE_SIZE
    if text not in {str(n) for n in PAGE_SIZES}:
        raise InvalidInput(f"show {', '.join(map(str, PAGE_SIZES))} outputs per page", fields={"per_page": text[:20]})
    return int(text)


def _trail() -> list[str]:
    """The cursors of the pages before this one ('-' is the first page), oldest first."""
    return [c for c in request.args.get("trail", "").split(",") if c][-MAX_TRAIL:]


@bp.route("/provenance", methods=["GET"])
@page(*VIEWERS)
def provenance() -> Any:
    """The search: newest first, a page at a time, names in any letter case; a name that
    fits several records answers the choice, an unknown one says so beside the form."""
    modules = _modules()
    filters, cursor, trail = _filters(), request.args.get("cursor", "").strip() or None, _trail()
    results: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    status, per_page = 200, _page_size()
    if modules is not None:
        query = modules["query"]
        try:
            found = query.find_outputs(query.OutputQuery.from_text({**filters, "cursor": cursor,
                                                                    "limit": per_page}), access.principal())
            results = {"items": _plain(modules["listing"].annotate(found.items, access.principal())),
                       "next_cursor": found.next_cursor}
        except Ambiguous as error:
            problem = {"message": error.message, "field": error.field, "choices": error.choices, "status": 200}
        except (NotFound, InvalidInput) as error:
            problem, status = {"message": error.message, "field": None, "choices": (), "status": error.status}, \
                error.status
    pickers = ({kind: modules["names"].suggestions(kind, access.principal()) for kind in PICKERS}
               if modules is not None else {})
    here = {k: v for k, v in filters.items() if v}
    if per_page != PAGE_SIZE:
        here["per_page"] = str(per_page)
    paging = {"next": ({**here, "cursor": results["next_cursor"], "trail": ",".join([*trail, cursor or "-"])}
                       if results and results["next_cursor"] else None),
              "previous": ({**here, **({"cursor": trail[-1]} if trail[-1] != "-" else {}),
                            **({"trail": ",".join(trail[:-1])} if trail[:-1] else {})} if trail else None),
              "number": len(trail) + 1}
    return render_template("web/provenance.html", available=modules is not None, filters=filters, here=here,
                           results=results, problem=problem, pickers=pickers, paging=paging,
                           per_page=per_page, page_sizes=PAGE_SIZES,
                           outcomes=modules["query"].OUTCOMES if modules else (), uses=vocab.OUTPUT_USES,
                           impact=None,
                           max_export=modules["listing"].MAX_EXPORT if modules else 0), status


@bp.route("/provenance/export.csv", methods=["GET"])
@page(*VIEWERS)
def provenance_export() -> Any:
    """The filtered search as CSV, streamed, newest first, at most ``listing.MAX_EXPORT``
    rows; the same visibility as the page (a producer's own productions only)."""
    modules = _modules()
    if modules is None:
        raise NotFound("provenance search is not available on this server yet")
    query, listing = modules["query"], modules["listing"]
    rows = listing.export(query.OutputQuery.from_text(_filters()), access.principal())
    name = "-".join(v for v in (_filters()["production"], "outputs") if v)
    response = attachment(_connected(listing.csv_lines(rows)), "text/csv", f"{name}.csv")
    response.headers["Cache-Control"] = "no-store"
    return response


def _connected(lines: Iterator[str]) -> Iterator[str]:
    """``lines`` with the database connection open while they are made: a streamed body is
    sent after the request's teardown closed it (no request context is kept for it, so none
    can outlive the response or be popped out of order)."""
    database.connect(reuse_if_open=True)
    try:
        yield from lines
    finally:
        database.close()


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
    result = (impact.consent_impact(consent, access.principal(), count_up_to=IMPACT_COUNT) if consent
              else impact.licence_impact(licence, access.principal(), count_up_to=IMPACT_COUNT))
    return render_template("web/provenance.html", available=True, filters={}, here={}, results=None, problem=None,
                           pickers={}, paging={}, outcomes=(), uses=(), max_export=0, per_page=PAGE_SIZE,
                           page_sizes=PAGE_SIZES, impact=_plain(result.to_dict()))


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

"""Signed outputs as a producer reads them in a list: with their production, use, the titles
of their reference images and the credit lines they carry, instead of hashes and ids; and
the same rows as CSV, a page of the search at a time, up to a bound.

``annotate`` adds the names to one page of ``query.find_outputs`` (three batched lookups
per page, whatever its length); ``export`` walks the search's keyset pages, so exporting
the ten-thousandth row costs what the first does. Plain functions; the page and the API
stream what they return.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Sequence

from .. import spreadsheet
from ..canonical import json_default
from ..ids import is_id
from ..policy.tables import DecisionRecord, GenerationRequest
from ..principal import Principal
from ..registry import scope
from ..registry.tables import Asset
from .query import MAX_LIMIT, OutputQuery, find_outputs

#: the most rows one export holds; a wider search is narrowed by date (the page says so)
MAX_EXPORT = 10_000
CSV_COLUMNS = ("sha256", "signed_at", "production", "use", "outcome", "model", "request", "references",
               "credits", "in_good_standing", "standing_reason")


def annotate(items: Sequence[dict[str, Any]], by: Principal | None) -> list[dict[str, Any]]:
    """``items`` (``find_outputs`` rows) with production, use, outcome, ``references``
    (sha256 and title, in the request's order; a title only where ``by`` may see the asset)
    and ``credits`` (the decision's credit lines). Rows whose request or decision is not a
    database record keep blanks."""
    request_ids = {int(i["request_id"]) for i in items if is_id(i.get("request_id"))}
    decision_ids = {int(i["decision_id"]) for i in items if is_id(i.get("decision_id"))}
    requests = {r.id: r for r in GenerationRequest.select(
        GenerationRequest.id, GenerationRequest.production, GenerationRequest.use, GenerationRequest.references)
        .where(GenerationRequest.id.in_(sorted(request_ids)))} if request_ids else {}
    decisions = {d.id: d for d in DecisionRecord.select(DecisionRecord.id, DecisionRecord.outcome,
                                                        DecisionRecord.duties)
                 .where(DecisionRecord.id.in_(sorted(decision_ids)))} if decision_ids else {}
    titles = reference_titles([s for r in requests.values() for s in (r.references or [])], by)
    out = []
    for item in items:
        req = requests.get(int(item["request_id"])) if is_id(item.get("request_id")) else None
        dec = decisions.get(int(item["decision_id"])) if is_id(item.get("decision_id")) else None
        lines = list(dict.fromkeys(d.get("text") for d in (dec.duties or []) if d.get("action") == "attribute"
                                     and d.get("text"))) if dec else []
        out.append({**item, "production": req.production if req else "", "use": req.use if req else "",
                    "outcome": dec.outcome if dec else "",
                    "references": [{"sha256": s, "title": titles.get(s, "")} for s in (req.references or [])]
                    if req else [], "credits": lines})
    return out


def reference_titles(shas: Sequence[str], by: Principal | None) -> dict[str, str]:
    """Asset SHA-256 -> title, for the references a page already shows (a request's own), of
    the assets ``by`` may see: a producer in two productions may put one production's asset on
    the other's request, whose other producers then see its hash, never its title."""
    wanted = sorted(set(shas))[:MAX_LIMIT]
    if not wanted:
        return {}
    found = scope.visible_assets(by, Asset.select(Asset.sha256, Asset.title).where(Asset.sha256.in_(wanted)))
    return {a.sha256: a.title for a in found}


def export(query: OutputQuery, by: Principal | None, limit: int = MAX_EXPORT) -> Iterator[dict[str, Any]]:
    """Every matching output, newest first, annotated, up to ``limit``: a search page at a time.

    The first page is searched before this returns, so an unknown name or a bad cursor
    raises here, before any byte of a download is sent."""
    step = replace(query, limit=min(MAX_LIMIT, limit), cursor=None)
    first = find_outputs(step, by)

    def rows() -> Iterator[dict[str, Any]]:
        page, sent = first, 0
        while True:
            yield from annotate(page.items[:limit - sent], by)
            sent += min(len(page.items), limit - sent)
            if sent >= limit or not page.next_cursor:
                return
            page = find_outputs(replace(step, cursor=page.next_cursor), by)
    return rows()


def csv_row(row: dict[str, Any]) -> list[Any]:
    """One output's values in ``CSV_COLUMNS`` order (``spreadsheet`` neutralises them)."""
    values = {**row, "signed_at": json_default(row["signed_at"]), "model": row.get("model_ref", ""),
              "request": row.get("request_id", ""),
              "references": "; ".join(r["title"] or r["sha256"] for r in row.get("references", [])),
              "credits": "; ".join(row.get("credits", [])),
              "in_good_standing": "yes" if row.get("in_good_standing") else "no"}
    return [values.get(c) for c in CSV_COLUMNS]


def csv_lines(rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]) -> Iterator[str]:
    """The header, then the rows, CSV a spreadsheet opens safely, streamed as they come."""
    return spreadsheet.csv_lines(CSV_COLUMNS, (csv_row(row) for row in rows))


__all__ = ["CSV_COLUMNS", "MAX_EXPORT", "annotate", "csv_lines", "csv_row", "export", "reference_titles"]

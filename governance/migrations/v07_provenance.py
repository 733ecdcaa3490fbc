"""Step 7: the provenance facet index, and the facets of every output signed before it
(263a2a4; the backfill as ``provenance.index.backfill`` last ran it, 66602d4).

Why: "everything made with performer P's likeness" and "what does revoking licence L
touch" must be answered by an index walk, not by reading every output's assertion. One
row per (kind, value) an output is linked to, with its signing time copied so the one
unique index both filters and orders. Signing fills it from then on; outputs signed
before this step are indexed here, from the request, decision, approval and model each
one's ledger row names, so they are searchable too.
"""

from __future__ import annotations

import json
from typing import Any

import peewee

from ..db import database
from .frozen import FrozenModel, is_id, sql

VERSION = 7
DESCRIPTION = "provenance: facets of signed outputs for search and revocation impact"

Facet = tuple[str, str]


class Output(FrozenModel):
    """The ledger's output table (step 3), only as the target of a foreign key."""

    class Meta:
        table_name = "output"


class OutputFacet(FrozenModel):
    kind = peewee.CharField(max_length=20)
    value = peewee.CharField(max_length=200)
    signed_at = peewee.DateTimeField()
    output = peewee.ForeignKeyField(Output, on_delete="RESTRICT", index=False)

    class Meta:
        table_name = "output_facet"
        indexes = ((("kind", "value", "signed_at", "output"), True),)


def apply() -> None:
    database.create_tables([OutputFacet])
    index_outputs_signed_before()


def index_outputs_signed_before(batch: int = 1000) -> int:
    """Index every output that has no facets yet; returns how many were indexed."""
    indexed = {int(r[0]) for r in sql("SELECT output_id FROM output_facet WHERE kind = 'all'").fetchall()}
    done, last = 0, 0
    while True:
        rows = sql("SELECT id, request_id, decision_id, job_id, model_ref FROM output WHERE id > ? "
                   "ORDER BY id LIMIT ?", last, batch).fetchall()
        if not rows:
            return done
        for output_id, request_id, decision_id, job_id, model_ref in rows:
            if int(output_id) not in indexed:
                _write(int(output_id), _facets(request_id, decision_id, job_id, model_ref))
                done += 1
        last = rows[-1][0]


def _facets(request_id: str, decision_id: str, job_id: str, model_ref: str) -> set[Facet]:
    request = (sql('SELECT production, "references", people, model_id FROM generation_request WHERE id = ?',
                   int(request_id)).fetchone() if is_id(request_id) else None)
    decision = (sql("SELECT outcome, records, facts FROM decision WHERE id = ?", int(decision_id)).fetchone()
                if is_id(decision_id) else None)
    model = (sql("SELECT id, training_set_id FROM model WHERE id = ?", request[3]).fetchone()
             if request is not None else _model_by_ref(model_ref))
    facets: set[Facet] = {("all", "")}
    if model is not None:
        facets.add(("model", str(model[0])))
        if model[1]:
            facets.add(("training_set", str(model[1])))
    approver = _approver(job_id)
    if approver:
        facets.add(("approver", approver))
    facts: dict[str, Any] = {}
    if decision is not None:
        facets.add(("outcome", decision[0]))
        records = json.loads(decision[1]) if decision[1] is not None else None
        facets |= {("consent", str(r["id"])) for r in (records or {}).get("consents", [])}
        facts = (json.loads(decision[2]) if decision[2] is not None else None) or {}
    if request is None:
        return facets
    production, references, people, _ = request
    facets.add(("production", production))
    asset_ids, licence_ids = _references(json.loads(references) if references else None, facts, decision is not None)
    facets |= {("asset", str(a)) for a in asset_ids} | {("licence", str(lic)) for lic in licence_ids}
    facets |= {("person", str(p)) for p in _people(json.loads(people) if people else None, asset_ids)}
    return facets


def _approver(job_id: str) -> str | None:
    job = sql("SELECT approval_id FROM job WHERE id = ?", job_id).fetchone()
    if not job or not job[0]:
        return None
    approval = sql("SELECT approver, verdict FROM approval WHERE id = ?", job[0]).fetchone()
    return str(approval[0]) if approval and approval[1] == "approved" else None


def _model_by_ref(ref: str) -> tuple[int, int | None] | None:
    """NAME:VERSION, or NAME@VERSION in ledgers before step 8."""
    name, _, version = ref.rpartition("@") if "@" in ref else ref.rpartition(":")
    if not name:
        return None
    row = sql("SELECT id, training_set_id FROM model WHERE name = ? AND version = ?", name, version).fetchone()
    return (row[0], row[1]) if row else None


def _references(references: list[str] | None, facts: dict[str, Any], decided: bool) -> tuple[set[int], set[int]]:
    """Reference asset ids and the licences the decision judged them under; with no facts
    kept, the assets the request names and their licences in the registry now."""
    entries = (facts.get("references") or []) if decided else []
    assets = {int(e["asset"]["id"]) for e in entries if is_id(e.get("asset", {}).get("id", ""))}
    licences = {int(e["licence"]["id"]) for e in entries
                if e.get("licence") and is_id(e["licence"].get("id", ""))}
    if not entries and references:
        marks = ", ".join("?" * len(references))
        rows = sql(f"SELECT id, licence_id FROM asset WHERE sha256 IN ({marks})", *references).fetchall()
        assets = {int(r[0]) for r in rows}
        licences = {int(r[1]) for r in rows if r[1]}
    return assets, licences


def _people(names: list[str] | None, asset_ids: set[int]) -> set[int]:
    ids: set[int] = set()
    if names:
        marks = ", ".join("?" * len(names))
        ids |= {int(r[0]) for r in sql(f"SELECT id FROM person WHERE name IN ({marks})", *names).fetchall()}
    if asset_ids:
        marks = ", ".join("?" * len(asset_ids))
        ids |= {int(r[0]) for r in sql(f"SELECT person_id FROM asset_person WHERE asset_id IN ({marks})",
                                       *sorted(asset_ids)).fetchall()}
    return ids


def _write(output_id: int, facets: set[Facet]) -> None:
    # the output's signing time is copied by the database itself, exactly as stored
    for kind, value in sorted(facets):
        sql("INSERT INTO output_facet (kind, value, signed_at, output_id) "
            "SELECT ?, ?, signed_at, id FROM output WHERE id = ? ON CONFLICT DO NOTHING",
            kind, value[:200], output_id)

"""``slate provenance outputs|lineage|impact|reindex``: search signed outputs, draw an
output's lineage, dry-run a revocation, index outputs signed before provenance existed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..canonical import json_default
from ..db import transaction
from ..errors import InvalidInput
from ..provenance import impact, index, lineage, query, svg
from . import SlateContext, emits


@click.group("provenance")
def provenance_group() -> None:
    """Where outputs came from, and what a revocation touches."""


def render_page(page: dict[str, Any]) -> str:
    lines = [f"{json_default(i['signed_at'])[:19]}Z  {i['sha256'][:16]}  {i['model_ref']:<20} "
             f"request {i['request_id']:<6} {'ok' if i['in_good_standing'] else 'NOT IN GOOD STANDING'}"
             for i in page["items"]]
    if not lines:
        lines = ["(no outputs match)"]
    if page["next_cursor"]:
        lines.append(f"more: --cursor {page['next_cursor']}")
    return "\n".join(lines)


@provenance_group.command("outputs")
@click.option("--asset", help="SHA-256 or id: used as a reference or in the model's training set.")
@click.option("--person", help="Name or id: depicted, or in a reference image.")
@click.option("--licence", help="Ref: of a reference image, or in the model's training set.")
@click.option("--consent", help="Consent id the decision relied on.")
@click.option("--model", help="NAME:VERSION or id.")
@click.option("--training-set", "training_set", help="Name or id.")
@click.option("--production")
@click.option("--approver", help="User name of the approver.")
@click.option("--outcome", help="allow or needs_approval.")
@click.option("--since", help="Signed at or after (YYYY-MM-DD or ISO 8601 time, UTC).")
@click.option("--until", help="Signed before (YYYY-MM-DD or ISO 8601 time, UTC).")
@click.option("--limit", default=query.DEFAULT_LIMIT, show_default=True, help=f"Page size, 1-{query.MAX_LIMIT}.")
@click.option("--cursor", help="The next page, as the previous page printed it.")
@emits(render_page, database=False)
def outputs_command(slate: SlateContext, **filters: Any) -> Any:
    """Signed outputs matching every filter given, newest first."""
    q = query.OutputQuery.from_text(filters)
    slate.open()
    return query.find_outputs(q).to_dict()


def _render_lineage(d: dict[str, Any]) -> str:
    standing = d["standing"]
    lines = [f"output    {d['output']['sha256']}  signed {json_default(d['output']['signed_at'])}",
             "standing  " + ("in good standing" if standing["in_good_standing"] else
                             "NOT in good standing: " + "; ".join(standing["revoked_rights"]
                                                                  or [standing["ledger"]["reason"] or ""]))]
    if d["request"]:
        r = d["request"]
        lines.append(f"request   #{r['id']} {r['production']} {r['use']} {r['territory']} by {r['requester']} "
                     f"(prompt sha256 {r['prompt_sha256'][:16]})")
    if d["decision"]:
        p = d["decision"]["policy"]
        lines.append(f"decision  #{d['decision']['id']} {d['decision']['outcome']} under {p['uid']} v{p['version']}")
    if d["approval"]:
        lines.append(f"approval  {d['approval']['verdict']} by {d['approval']['approver']}")
    lines.append(f"model     {d['model'].get('ref')} ({d['model'].get('status', '?')})")
    if d["training_set"]:
        ts = d["training_set"]
        lines.append(f"training  {ts['name']} ({ts['size']} assets, root {ts['merkle_root'][:16]}), licences "
                     + ", ".join(f"{x['ref']}{' [TAKEN DOWN]' if x['takedown'] else ''}" for x in ts["licences"]))
    for ref in d["references"]:
        lic = ref["licence"]
        lines.append(f"reference {ref['sha256'][:16]} {ref['title']} under "
                     f"{lic['ref'] + (' [TAKEN DOWN]' if lic['takedown'] else '') if lic else 'no licence'}")
    for c in d["consents"]:
        lines.append(f"consent   #{c['id']} {c['person']}{' [REVOKED]' if c['revoked'] else ''}")
    return "\n".join(lines)


@provenance_group.command("lineage")
@click.argument("sha256")
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False), help="Also write the picture to this file.")
@emits(_render_lineage)
def lineage_command(slate: SlateContext, sha256: str, svg_path: str | None) -> Any:
    """An output's lineage: assets, licences, consents, training set, model, request,
    decision, approval, with each record's standing."""
    data = lineage.lineage(sha256)
    if svg_path:
        import json
        picture = svg.lineage_svg(json.loads(json.dumps(data, default=json_default)))
        try:
            Path(svg_path).write_text(picture, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write '{svg_path}': {exc.strerror}") from None
    return data


def render_impact(d: dict[str, Any]) -> str:
    verb = "touched" if d["applied"] else "would touch"
    pending = ", ".join("#" + str(p["id"]) + " " + p["status"] for p in d["pending_requests"])
    lines = [f"{d['cause']['label']} {verb}:",
             f"  assets            {d['assets']}",
             f"  training sets     {', '.join(t['name'] for t in d['training_sets']) or '-'}",
             f"  models            {', '.join(m['ref'] for m in d['models']) or '-'}"
             + ("  (flagged for retirement review)" if d["models"] else ""),
             f"  pending requests  {pending or '-'}",
             f"  signed outputs    {d['outputs']['count']}"]
    lines += [f"    {sha}" for sha in d["outputs"]["sha256"][:10]]
    if d["outputs"]["count"] > 10:
        lines.append(f"    ... (--json lists {d['outputs']['listed']}; "
                     f"slate provenance outputs --{d['cause']['kind']} ... lists all)")
    if d["changes"]:
        c = d["changes"]
        lines.append(f"  changed           {c['jobs_blocked']} jobs blocked, {c['outputs_marked']} outputs marked "
                     f"not in good standing, {c['models_flagged']} models flagged")
    return "\n".join(lines)


@provenance_group.command("impact")
@click.option("--consent", help="Consent id.")
@click.option("--licence", help="Licence ref.")
@emits(render_impact, database=False)
def impact_command(slate: SlateContext, consent: str | None, licence: str | None) -> Any:
    """Dry run: what revoking a consent or taking a licence down touches. Changes nothing."""
    if bool(consent) == bool(licence):
        raise InvalidInput("give exactly one of --consent ID or --licence REF")
    slate.open()
    result = impact.consent_impact(consent) if consent else impact.licence_impact(licence)  # type: ignore[arg-type]
    return result.to_dict()


@provenance_group.command("reindex")
@emits(lambda r: f"indexed {r['indexed']} outputs")
def reindex_command(slate: SlateContext) -> Any:
    """Index outputs that have no provenance facets yet (idempotent)."""
    with transaction():
        count = index.backfill()
    return {"indexed": count}


commands = [provenance_group]

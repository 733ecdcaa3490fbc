"""``slate init|status|person|production|consent|asset|licence|trainingset|model``."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

import click

from .. import revocation
from ..auth.users import principal_named
from ..clock import parse_date
from ..errors import InvalidInput
from ..provenance import model_card as model_cards
from ..registry import assets, consents, licences, looks, models_registry, people, performer_terms, training_sets
from ..registry.merkle import verify_proof
from ..registry.status import registry_status
from . import SlateContext, _render_default, emits, multi, table
from .provenance import render_impact


def _legal(name: str | None) -> Any:
    """The legal user a rights command is recorded for (``--by``); None: the operator."""
    if not name:
        return None
    return principal_named(name, "legal")


by_option = click.option("--by", "by_name", default=None,
                         help="The legal user this is recorded for (checked: must have the legal role).")


def _revoked(result: dict[str, Any]) -> str:
    record = {k: v for k, v in result.items() if k != "impact"}
    return _render_default(record) + "\n" + render_impact(result["impact"])


def _exit_unless_valid(result: dict[str, Any]) -> None:
    if not result["valid"]:
        raise click.exceptions.Exit(1)


@click.command("init")
@emits()
def init_command(slate: SlateContext) -> Any:
    """Create the data folder and database (idempotent) and print Slate's status."""
    return registry_status(slate.settings)


@click.command("status")
@emits()
def status_command(slate: SlateContext) -> Any:
    """What Slate holds: database, schema version, registry counts."""
    return registry_status(slate.settings)


# -- people and productions -------------------------------------------------------------

@click.group("person")
def person_group() -> None:
    """Performers and other rights holders."""


@person_group.command("add")
@click.argument("name")
@click.option("--kind", default="performer", show_default=True, help="performer, rights_holder or crew")
@click.option("--minor", is_flag=True, help="The person is a minor (a guardian must sign consents).")
@click.option("--guardian", help="Guardian's name (required for a minor).")
@click.option("--production", "productions", multiple=True, help="A production the person takes part in.")
@emits()
def person_add(slate: SlateContext, name: str, kind: str, minor: bool, guardian: str | None,
               productions: tuple[str, ...]) -> Any:
    return people.add_person(name, kind, is_minor=minor, guardian=guardian, productions=multi(productions))


@person_group.command("link")
@click.argument("person")
@click.argument("production")
@click.option("--by", "by_name", required=True, help="The legal user adding the person to the production.")
@emits()
def person_link(slate: SlateContext, person: str, production: str, by_name: str) -> Any:
    """Add a registered person to another production (legal)."""
    return people.link_production(person, production, by=_legal(by_name))


@person_group.command("deceased")
@click.argument("person")
@click.option("--on", "deceased_on", required=True, help="The day the performer died, YYYY-MM-DD.")
@by_option
@emits()
def person_deceased(slate: SlateContext, person: str, deceased_on: str, by_name: str | None) -> Any:
    """Record a performer's death (legal): a replica of them then needs their estate's consent."""
    return performer_terms.record_death(person, parse_date(deceased_on), by=_legal(by_name))


@person_group.command("list")
@emits(lambda rows: table(rows, ["id", "name", "kind", "is_minor"]))
def person_list(slate: SlateContext) -> Any:
    return people.list_people()


@person_group.command("show")
@click.argument("person")
@emits()
def person_show(slate: SlateContext, person: str) -> Any:
    return consents.show_person(person)


@click.group("production")
def production_group() -> None:
    """Productions (films, series) that requests and consents are scoped to."""


@production_group.command("add")
@click.argument("name")
@click.option("--title", default="")
@emits()
def production_add(slate: SlateContext, name: str, title: str) -> Any:
    return people.add_production(name, title)


@production_group.group("look")
def production_look() -> None:
    """A production's approved look references."""


@production_look.command("add")
@click.argument("production")
@click.argument("asset")
@by_option
@emits()
def production_look_add(slate: SlateContext, production: str, asset: str, by_name: str | None) -> Any:
    """Add an asset to a production's look (legal, or the operator)."""
    return looks.add_look(production, asset, by=_legal(by_name))


@production_look.command("list")
@click.argument("production")
@emits(lambda rows: table(rows, ["asset", "title", "added_by", "created_at"]))
def production_look_list(slate: SlateContext, production: str) -> Any:
    return looks.looks(production, by=None)


@production_group.command("list")
@emits(lambda rows: table(rows, ["id", "name", "title"]))
def production_list(slate: SlateContext) -> Any:
    return people.list_productions()


# -- consents ---------------------------------------------------------------------------

@click.group("consent")
def consent_group() -> None:
    """Performers' consents: grant, revoke (history is kept), list, show."""


@consent_group.command("grant")
@click.argument("person")
@click.option("--use", "uses", multiple=True, required=True, help="likeness, voice, ai_training, reference")
@click.option("--production", "productions", multiple=True, required=True, help="Production name, or * for all.")
@click.option("--territory", "territories", multiple=True, required=True, help="ISO 3166 code or WW.")
@click.option("--from", "valid_from", required=True, help="First valid day, YYYY-MM-DD.")
@click.option("--until", "valid_until", required=True, help="Last valid day, YYYY-MM-DD.")
@click.option("--document", type=click.Path(dir_okay=False),
              help="The signed consent document (PDF, PNG or JPEG), kept by Slate; a signed PDF must validate.")
@click.option("--document-sha256", help="SHA-256 of a document Slate already keeps.")
@click.option("--guardian-signed", is_flag=True, help="A guardian co-signed (required for minors).")
@click.option("--guardian-name")
@click.option("--guardian-relationship", help="A minor's consent: the guardian's relationship (e.g. mother).")
@click.option("--credit-text", help="The performer's credit line, as their contract words it.")
@click.option("--attribution-required", is_flag=True, help="Outputs must carry the credit line.")
@click.option("--output-use", "output_uses", multiple=True,
              help="An output use the consent allows (concept, previs, final_frame, marketing); none: every use.")
@click.option("--replica-type", type=click.Choice(performer_terms.REPLICA_TYPES),
              help="The kind of digital replica the consent covers.")
@click.option("--use-description", help="The specific use consented to, in words (the approver reads it).")
@click.option("--notice-given-at", help="When the performer was given notice, YYYY-MM-DDTHH:MMZ (UTC).")
@click.option("--estate-consent", is_flag=True, help="Given by the estate of a deceased performer.")
@click.option("--estate-representative", help="Who gave the estate's consent.")
@by_option
@emits(database=False)
def consent_grant(slate: SlateContext, person: str, uses: tuple[str, ...], productions: tuple[str, ...],
                  territories: tuple[str, ...], valid_from: str, valid_until: str, document: str | None,
                  document_sha256: str | None, guardian_signed: bool, guardian_name: str | None,
                  guardian_relationship: str | None, credit_text: str | None, attribution_required: bool,
                  output_uses: tuple[str, ...], replica_type: str | None, use_description: str | None,
                  notice_given_at: str | None, estate_consent: bool, estate_representative: str | None,
                  by_name: str | None) -> Any:
    """Record a consent; one for a minor or for likeness waits for a second legal user (confirm)."""
    content = assets.read_file(document) if document else None
    slate.open()
    return consents.grant_consent(
        person, uses=multi(uses), productions=multi(productions), territories=multi(territories),
        valid_from=parse_date(valid_from), valid_until=parse_date(valid_until), document=content,
        document_sha256=document_sha256, guardian_signed=guardian_signed,
        guardian_name=guardian_name, guardian_relationship=guardian_relationship, credit_text=credit_text,
        attribution_required=attribution_required, output_uses=multi(output_uses) or None, by=_legal(by_name),
        store=consents.DocumentStore.from_settings(slate.settings), replica_type=replica_type,
        use_description=use_description, notice_given_at=notice_given_at, estate_consent=estate_consent,
        estate_representative=estate_representative)


@consent_group.command("confirm")
@click.argument("consent_id")
@click.option("--by", "by_name", required=True, help="A legal user other than the one who recorded it.")
@click.option("--comment", default="")
@emits()
def consent_confirm(slate: SlateContext, consent_id: str, by_name: str, comment: str) -> Any:
    """Confirm a pending consent: the second pair of eyes on a minor's or a likeness consent."""
    return consents.confirm_consent(consent_id, by=_legal(by_name), comment=comment)


@consent_group.command("revoke")
@click.argument("consent_id")
@click.option("--reason", required=True)
@by_option
@emits(_revoked)
def consent_revoke(slate: SlateContext, consent_id: str, reason: str, by_name: str | None) -> Any:
    """Revoke a consent; prints what it touched (jobs blocked, outputs marked, models flagged)."""
    return revocation.revoke_consent(consent_id, reason, by=_legal(by_name))


@consent_group.command("list")
@click.option("--person")
@emits(lambda rows: table(rows, ["id", "person", "uses", "productions", "territories",
                                  "valid_from", "valid_until", "status"]))
def consent_list(slate: SlateContext, person: str | None) -> Any:
    return consents.list_consents(person)


@consent_group.command("show")
@click.argument("consent_id")
@emits()
def consent_show(slate: SlateContext, consent_id: str) -> Any:
    data = consents.consent_dict(consents.get_consent(consent_id))
    data["history"] = consents.consent_history(consent_id)
    return data


# -- licences and assets ----------------------------------------------------------------

@click.group("licence")
def licence_group() -> None:
    """Licences of assets: grants, territories, term, credit, takedown."""


@licence_group.command("add")
@click.argument("ref")
@click.option("--licensor", required=True)
@click.option("--grant", "grants", multiple=True, required=True,
              help="ai_training, ai_reference, concept, previs, final_frame, marketing")
@click.option("--territory", "territories", multiple=True, required=True)
@click.option("--starts", required=True, help="YYYY-MM-DD")
@click.option("--ends", help="YYYY-MM-DD; omit for a perpetual licence.")
@click.option("--credit", help="Credit line; giving it makes attribution required.")
@by_option
@emits(database=False)
def licence_add(slate: SlateContext, ref: str, licensor: str, grants: tuple[str, ...],
                territories: tuple[str, ...], starts: str, ends: str | None, credit: str | None,
                by_name: str | None) -> Any:
    starts_on, ends_on = parse_date(starts), parse_date(ends) if ends else None
    slate.open()
    return licences.add_licence(ref, licensor, grants=multi(grants), territories=multi(territories),
                                starts_on=starts_on, ends_on=ends_on,
                                attribution_required=bool(credit), credit_text=credit, by=_legal(by_name))


@licence_group.command("list")
@emits(lambda rows: table(rows, ["ref", "licensor", "grants", "territories", "starts_on", "ends_on", "takedown"]))
def licence_list(slate: SlateContext) -> Any:
    return licences.list_licences()


@licence_group.command("show")
@click.argument("ref")
@emits()
def licence_show(slate: SlateContext, ref: str) -> Any:
    return licences.show_licence(ref)


@licence_group.command("takedown")
@click.argument("ref")
@click.option("--reason", required=True)
@by_option
@emits(_revoked)
def licence_takedown(slate: SlateContext, ref: str, reason: str, by_name: str | None) -> Any:
    return revocation.take_down(ref, reason, by=_legal(by_name))


@click.group("asset")
def asset_group() -> None:
    """Assets identified by the SHA-256 of their bytes."""


@asset_group.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--title", help="Defaults to the file name.")
@click.option("--media-type", help="Defaults to a guess from the file name.")
@click.option("--source", default="")
@click.option("--licence")
@click.option("--person", "people_refs", multiple=True, help="A person who appears in the asset.")
@click.option("--production", help="The production registering it; omit for the studio library.")
@click.option("--watchlist", is_flag=True, help="A protected work outputs must not imitate (legal).")
@click.option("--note", default="", help="Why the work is on the watchlist.")
@by_option
@emits(database=False)
def asset_add(slate: SlateContext, path: str, title: str | None, media_type: str | None, source: str,
              licence: str | None, people_refs: tuple[str, ...], production: str | None, watchlist: bool,
              note: str, by_name: str | None) -> Any:
    """Register a file's bytes as an asset, fingerprinted into the similarity index."""
    content = assets.read_file(path)
    media_type = media_type or mimetypes.guess_type(path)[0]
    if not media_type:
        raise InvalidInput(f"cannot tell the media type of '{Path(path).name}'; give --media-type")
    slate.open()
    asset, created = assets.register_asset(content, media_type=media_type, title=title or Path(path).name,
                                           source=source, licence=licence, people=multi(people_refs),
                                           production=production, watchlist=watchlist, watchlist_note=note,
                                           by=_legal(by_name), index_dir=slate.settings.index_dir,
                                           max_pixels=slate.settings.max_image_pixels)
    return {**asset, "created": created}


@asset_group.command("assign")
@click.argument("asset")
@click.option("--production", default=None, help="The production it belongs to.")
@click.option("--library", is_flag=True, help="The studio library: every production sees it.")
@by_option
@emits()
def asset_assign(slate: SlateContext, asset: str, production: str | None, library: bool, by_name: str | None) -> Any:
    """Say where an asset belongs: one production or the studio library (legal)."""
    return assets.assign(asset, production=production, library=library, by=_legal(by_name))


@asset_group.command("license")
@click.argument("asset")
@click.argument("licence")
@by_option
@emits()
def asset_license(slate: SlateContext, asset: str, licence: str, by_name: str | None) -> Any:
    """Record the licence an asset is held under (legal)."""
    return assets.set_licence(asset, licence, by=_legal(by_name))


@asset_group.command("list")
@click.option("--licence")
@click.option("--person")
@emits(lambda rows: table(rows, ["id", "sha256", "title", "licence", "people"]))
def asset_list(slate: SlateContext, licence: str | None, person: str | None) -> Any:
    return assets.list_assets(licence, person)


@asset_group.command("show")
@click.argument("asset")
@emits()
def asset_show(slate: SlateContext, asset: str) -> Any:
    return assets.show_asset(asset)


# -- training sets and models -----------------------------------------------------------

@click.group("trainingset")
def trainingset_group() -> None:
    """Training sets, their Merkle roots, and proofs of (non-)membership."""


@trainingset_group.command("create")
@click.argument("name")
@click.option("--asset", "members", multiple=True, required=True,
              help="SHA256 or SHA256=LICENCE (default: the asset's own licence).")
@click.option("--description", default="")
@emits()
def trainingset_create(slate: SlateContext, name: str, members: tuple[str, ...], description: str) -> Any:
    pairs = [(m.split("=", 1)[0], m.split("=", 1)[1] if "=" in m else None) for m in multi(members)]
    return training_sets.create_training_set(name, pairs, description)


@trainingset_group.command("list")
@emits(lambda rows: table(rows, ["name", "size", "merkle_root"]))
def trainingset_list(slate: SlateContext) -> Any:
    return training_sets.list_training_sets()


@trainingset_group.command("show")
@click.argument("name")
@emits()
def trainingset_show(slate: SlateContext, name: str) -> Any:
    return training_sets.show_training_set(name)


@trainingset_group.command("prove")
@click.argument("name")
@click.argument("asset_sha256")
@emits(json_only=True)
def trainingset_prove(slate: SlateContext, name: str, asset_sha256: str) -> Any:
    """Print a JSON proof that the asset is (or is not) in the set."""
    return training_sets.prove(name, asset_sha256)


@trainingset_group.command("verify-proof")
@click.argument("proof_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--root", help="The root you trust (e.g. from a credential); defaults to the proof's.")
@emits(lambda r: f"{'VALID' if r['valid'] else 'INVALID'} {r['kind']} proof against root {r['root']}",
       database=False, after=_exit_unless_valid)
def trainingset_verify_proof(slate: SlateContext, proof_file: str, root: str | None) -> Any:
    """Check a proof offline: needs no database, only the proof and the root."""
    raw = (click.open_file(proof_file).read() if proof_file == "-"
           else assets.read_file(proof_file).decode("utf-8", "replace"))
    try:
        proof: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the proof is not JSON (line {exc.lineno}): {exc.msg}") from None
    return {"valid": verify_proof(proof, root), "kind": proof.get("kind"), "root": root or proof.get("root")}


@click.group("model")
def model_group() -> None:
    """Model versions: register, approve, retire."""


@model_group.command("register")
@click.argument("name")
@click.argument("version")
@click.option("--weights-hash", required=True, help="The model identity (SHA-256) the generator computes.")
@click.option("--training-set")
@click.option("--base", help="The registered base model it was trained from (slate base list).")
@click.option("--base-model", help="Free text naming its base (display only; a base not registered is refused).")
@click.option("--path", help="Where the model directory lives on generator hosts.")
@emits()
def model_register(slate: SlateContext, name: str, version: str, weights_hash: str, training_set: str | None,
                   base: str | None, base_model: str | None, path: str | None) -> Any:
    return models_registry.register_model(name, version, weights_hash, training_set=training_set,
                                          base_model=base_model, path=path, base=base)


@model_group.command("list")
@emits(lambda rows: table(rows, ["ref", "status", "training_set", "weights_hash"]))
def model_list(slate: SlateContext) -> Any:
    return models_registry.list_models()


@model_group.command("show")
@click.argument("model")
@emits()
def model_show(slate: SlateContext, model: str) -> Any:
    return models_registry.show_model(model)


@model_group.command("card")
@click.argument("model")
@emits(lambda card: card.render())
def model_card(slate: SlateContext, model: str) -> Any:
    """The model's card: base, training set, licences and credits owed, clearance, attestation,
    evaluation on each production's look, intended and refused uses."""
    return model_cards.model_card(model)


@model_group.command("approve")
@click.argument("model")
@emits()
def model_approve(slate: SlateContext, model: str) -> Any:
    return models_registry.set_status(model, "approved")


@model_group.command("retire")
@click.argument("model")
@click.option("--reason", required=True)
@emits()
def model_retire(slate: SlateContext, model: str, reason: str) -> Any:
    return models_registry.set_status(model, "retired", reason)


commands = [init_command, status_command, person_group, production_group, consent_group,
            licence_group, asset_group, trainingset_group, model_group]

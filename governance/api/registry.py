"""``/api/v1`` registry endpoints: productions, people, consents, licences, assets,
training sets (with proofs) and models."""

from __future__ import annotations

import io
from typing import Any

from flask import current_app, send_file
from marshmallow import Schema, fields

from .. import revocation
from ..provenance import model_card as model_cards
from ..registry import assets, consents, licences, models_registry, people, performer_terms, training_sets
from ..registry.attribute_changes import set_attributes
from . import schemas as s
from .access import READ_REGISTRY, REGISTER, RIGHTS, admits, principal
from .blueprint import SlateBlueprint as Blueprint
from .openapi import file_response

blp = Blueprint("registry", __name__, url_prefix="/api/v1", description="The registry of rights and models")


class ConsentRevokedOut(s.ConsentOut):
    impact = fields.Nested(s.ImpactOut, metadata={"description": "what the revocation touched, applied with it"})


class LicenceTakenDownOut(s.LicenceOut):
    impact = fields.Nested(s.ImpactOut, metadata={"description": "what the takedown touched, applied with it"})


def _page(rows: list[dict[str, Any]], page: dict[str, int]) -> list[dict[str, Any]]:
    return rows[page["offset"]: page["offset"] + page["limit"]]


def _store() -> consents.DocumentStore:
    return consents.DocumentStore.from_settings(current_app.config["SLATE_SETTINGS"])


@blp.route("/productions", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.Page, location="query")
@blp.response(200, s.ProductionOut(many=True))
def list_productions(page: dict[str, int]) -> Any:
    return _page(people.list_productions(principal()), page)


@blp.route("/productions", methods=["POST"])
@admits("admin")
@blp.arguments(s.ProductionIn)
@blp.response(201, s.ProductionOut)
def add_production(body: dict[str, Any]) -> Any:
    return people.add_production(body["name"], body["title"], body["attributes"], by=principal())


@blp.route("/people", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.Page, location="query")
@blp.response(200, s.PersonOut(many=True))
def list_people(page: dict[str, int]) -> Any:
    return _page(people.list_people(principal()), page)


@blp.route("/people", methods=["POST"])
@admits(*REGISTER)
@blp.arguments(s.PersonIn)
@blp.response(201, s.PersonOut)
def add_person(body: dict[str, Any]) -> Any:
    """Register a person for productions; a producer names one or more of their own."""
    return people.add_person(body["name"], body["kind"], is_minor=body["is_minor"], guardian=body["guardian"],
                             productions=body["productions"], attributes=body["attributes"], by=principal())


@blp.route("/people/<path:ref>/productions", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ProductionRefIn)
@blp.response(200, s.PersonOut)
def link_person(body: dict[str, Any], ref: str) -> Any:
    """Legal adds a registered person to another production."""
    return people.link_production(ref, body["production"], by=principal())


@blp.route("/people/<path:ref>/death", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.DeathIn)
@blp.response(200, s.PersonOut)
def record_death(body: dict[str, Any], ref: str) -> Any:
    """Legal records that a performer has died: a replica of them then needs their estate's consent."""
    performer_terms.record_death(ref, body["deceased_on"], by=principal())
    return people.person_dict(people.get_person(ref), principal())


@blp.route("/people/<path:ref>", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.PersonOut)
def show_person(ref: str) -> Any:
    return people.person_dict(people.find_person(ref, principal()), principal())


@blp.route("/consents", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.ConsentQuery, location="query")
@blp.response(200, s.ConsentOut(many=True))
def list_consents(query: dict[str, Any]) -> Any:
    return _page(consents.list_consents(query["person"], principal(), query["status"]), query)


@blp.route("/consent-documents", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.DocumentUpload, location="multipart")
@blp.response(201, s.ConsentDocumentOut)
def record_consent_document(form: dict[str, Any]) -> Any:
    """Keep a signed consent document (PDF, PNG or JPEG); a signed PDF's signatures must
    validate. Give the answer's sha256 when recording the consent."""
    return consents.record_document(form["file"].read(), _store(), by=principal())


@blp.route("/consents", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ConsentIn)
@blp.response(201, s.ConsentOut)
def grant_consent(body: dict[str, Any]) -> Any:
    """Record a consent (legal only). A consent for a minor or for likeness is pending until
    a second legal user confirms it."""
    return consents.grant_consent(
        body["person"], uses=body["uses"], productions=body["productions"], territories=body["territories"],
        valid_from=body["valid_from"], valid_until=body["valid_until"], document_sha256=body["document_sha256"],
        guardian_signed=body["guardian_signed"], guardian_name=body["guardian_name"],
        guardian_relationship=body["guardian_relationship"], attributes=body["attributes"],
        credit_text=body["credit_text"], attribution_required=body["attribution_required"],
        output_uses=body["output_uses"], replica_type=body["replica_type"],
        use_description=body["use_description"], notice_given_at=body["notice_given_at"],
        estate_consent=body["estate_consent"], estate_representative=body["estate_representative"], by=principal())


@blp.route("/consents/<int:consent_id>", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.ConsentOut)
def show_consent(consent_id: int) -> Any:
    return consents.consent_dict(consents.find_consent(consent_id, principal()), principal())


@blp.route("/consents/<int:consent_id>/confirm", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.CommentIn)
@blp.response(200, s.ConsentOut)
def confirm_consent(body: dict[str, Any], consent_id: int) -> Any:
    """The second pair of eyes: a legal user other than the recorder confirms a pending consent."""
    return consents.confirm_consent(consent_id, by=principal(), comment=body["comment"])


@blp.route("/consents/<int:consent_id>/document", methods=["GET"])
@admits("legal", "auditor")
@blp.doc(responses=file_response("application/octet-stream", "the signed document (PDF, PNG or JPEG)"))
def consent_document(consent_id: int) -> Any:
    """The signed document the consent rests on."""
    content, media_type = consents.consent_document(consent_id, _store(), principal())
    return send_file(io.BytesIO(content), mimetype=media_type, as_attachment=True,
                     download_name=f"consent-{consent_id}{_extension(media_type)}")


@blp.route("/consents/<int:consent_id>/revoke", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ReasonIn)
@blp.response(200, ConsentRevokedOut)
def revoke_consent(body: dict[str, Any], consent_id: int) -> Any:
    """Revoke a consent; the answer includes its impact, applied in the same transaction."""
    return revocation.revoke_consent(consent_id, body["reason"], by=principal())


def _extension(media_type: str) -> str:
    return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(media_type, "")


@blp.route("/licences", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.Page, location="query")
@blp.response(200, s.LicenceOut(many=True))
def list_licences(page: dict[str, int]) -> Any:
    return _page(licences.list_licences(principal()), page)


@blp.route("/licences", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.LicenceIn)
@blp.response(201, s.LicenceOut)
def add_licence(body: dict[str, Any]) -> Any:
    ref = body.pop("ref")
    licensor = body.pop("licensor")
    return licences.add_licence(ref, licensor, **body, by=principal())


@blp.route("/licences/<path:ref>", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.LicenceOut)
def show_licence(ref: str) -> Any:
    return licences.show_licence(ref, principal())


@blp.route("/licences/<path:ref>/takedown", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ReasonIn)
@blp.response(200, LicenceTakenDownOut)
def takedown_licence(body: dict[str, Any], ref: str) -> Any:
    """Take a licence down; the answer includes its impact, applied in the same transaction."""
    return revocation.take_down(ref, body["reason"], by=principal())


@blp.route("/assets", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.AssetQuery, location="query")
@blp.response(200, s.AssetOut(many=True))
def list_assets(query: dict[str, Any]) -> Any:
    return _page(assets.list_assets(query["licence"], query["person"], principal()), query)


@blp.route("/assets", methods=["POST"])
@admits(*REGISTER)
@blp.doc(**{"x-errors": ["503"]})
@blp.arguments(s.AssetUpload, location="multipart")
@blp.response(201, s.AssetOut)
def add_asset(form: dict[str, Any]) -> Any:
    settings = current_app.config["SLATE_SETTINGS"]
    upload = form["file"]
    content = upload.read()
    media_type = upload.mimetype or "application/octet-stream"
    asset, created = assets.register_asset(content, media_type=media_type, title=form["title"],
                                           source=form["source"], licence=form["licence"],
                                           people=form["people"], production=form["production"],
                                           attributes=form["attributes"], by=principal(),
                                           watchlist=form["watchlist"], watchlist_note=form["watchlist_note"],
                                           index_dir=settings.index_dir, max_pixels=settings.max_image_pixels)
    return {**asset, "created": created}


@blp.route("/assets/<string:ref>/licence", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.AssetLicenceIn)
@blp.response(200, s.AssetOut)
def set_asset_licence(body: dict[str, Any], ref: str) -> Any:
    """Legal records which licence an asset is held under."""
    return assets.set_licence(ref, body["licence"], by=principal())


@blp.route("/assets/<string:ref>/production", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.AssetPlaceIn)
@blp.response(200, s.AssetOut)
def assign_asset(body: dict[str, Any], ref: str) -> Any:
    """Legal says where an asset belongs: one production, or the studio library."""
    return assets.assign(ref, production=body["production"], library=body["library"], by=principal())


def _attributes_route(collection: str, kind: str, out: type[Schema], roles: tuple[str, ...]) -> None:
    """``POST /<collection>/<ref>/attributes``: set catalogue attributes of a registered record."""

    @blp.route(f"/{collection}/<path:ref>/attributes", methods=["POST"], endpoint=f"set_{kind}_attributes")
    @admits(*roles)
    @blp.arguments(s.AttributesIn)
    @blp.response(200, out)
    def set_record_attributes(body: dict[str, Any], ref: str) -> Any:
        return set_attributes(kind, ref, body["attributes"], by=principal())

    set_record_attributes.__doc__ = (
        f"Set catalogue attributes of a {kind}, each checked against the published catalogue: an "
        "undeclared name or a wrong type is a 422 naming the field, and nothing is written.")


for _collection, _kind, _out in (("licences", "licence", s.LicenceOut), ("consents", "consent", s.ConsentOut),
                                 ("people", "person", s.PersonOut), ("assets", "asset", s.AssetOut)):
    _attributes_route(_collection, _kind, _out, RIGHTS)
# an admin creates productions, and may set their terms too
_attributes_route("productions", "production", s.ProductionOut, (*RIGHTS, "admin"))


@blp.route("/assets/<string:ref>", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.AssetOut)
def show_asset(ref: str) -> Any:
    return assets.show_asset(ref, principal())


@blp.route("/training-sets", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(s.Page, location="query")
@blp.response(200, s.TrainingSetOut(many=True))
def list_training_sets(page: dict[str, int]) -> Any:
    return _page(training_sets.list_training_sets(), page)


@blp.route("/training-sets", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.TrainingSetIn)
@blp.response(201, s.TrainingSetOut)
def create_training_set(body: dict[str, Any]) -> Any:
    return training_sets.create_training_set(
        body["name"], [(m["asset"], m["licence"]) for m in body["members"]], body["description"],
        by=principal())


@blp.route("/training-sets/<path:name>/proof/<string:asset_sha256>", methods=["GET"])
@admits("auditor", "legal", "producer", "admin")
@blp.response(200, s.MembershipProofOut)
def prove_membership(name: str, asset_sha256: str) -> Any:
    return training_sets.prove(name, asset_sha256, principal())


@blp.route("/training-sets/<path:name>", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.TrainingSetOut)
def show_training_set(name: str) -> Any:
    return training_sets.show_training_set(name, by=principal())


@blp.route("/models", methods=["GET"])
@admits(*READ_REGISTRY, "generator")
@blp.arguments(s.Page, location="query")
@blp.response(200, s.ModelOut(many=True))
def list_models(page: dict[str, int]) -> Any:
    return _page(models_registry.list_models(), page)


@blp.route("/models", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ModelIn)
@blp.response(201, s.ModelOut)
def register_model(body: dict[str, Any]) -> Any:
    return models_registry.register_model(body["name"], body["version"], body["weights_hash"],
                                          training_set=body["training_set"], base_model=body["base_model"],
                                          path=body["path"], by=principal(), base=body["base"])


@blp.route("/models/<path:ref>/status", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(s.ModelStatusIn)
@blp.response(200, s.ModelOut)
def set_model_status(body: dict[str, Any], ref: str) -> Any:
    return models_registry.set_status(ref, body["status"], body["reason"], by=principal())


@blp.route("/models/<path:ref>/card", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.ModelCardOut)
def model_card(ref: str) -> Any:
    return model_cards.model_card(ref, principal()).to_dict()


@blp.route("/models/<path:ref>", methods=["GET"])
@admits(*READ_REGISTRY, "generator")
@blp.response(200, s.ModelOut)
def show_model(ref: str) -> Any:
    return models_registry.show_model(ref)


blueprints = [blp]

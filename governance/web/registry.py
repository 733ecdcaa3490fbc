"""The registry as each role may see it, and legal's rights desk: record a consent with its
signed document, and confirm another legal user's consent (four eyes).

A producer sees the records of their own productions only and no rights forms: the same
rules as the API, applied by the registry's own functions (``governance.registry.scope``).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for

from ..errors import InvalidInput
from ..ids import is_id
from ..provenance import model_card as model_cards
from ..registry import assets, base_models, consents, licences, models_registry, people, performer_terms, training_sets
from ..registry import vocabulary as vocab
from . import access
from .access import page
from .blueprint import bp


def _store() -> consents.DocumentStore:
    return consents.DocumentStore.from_settings(current_app.config["SLATE_SETTINGS"])


#: assets listed on the registry page at once (a studio holds tens of thousands: the rest are a
#: "next assets" link away)
REGISTRY_ASSETS = 50
#: licences listed at once (a studio holds hundreds; the rest are a "next licences" link away)
REGISTRY_LICENCES = 50


@bp.route("/registry", methods=["GET"])
@page("producer", "legal", "approver", "auditor")
def registry() -> Any:
    return _registry_page()


def _registry_page(consent_error: InvalidInput | None = None, typed: dict[str, Any] | None = None) -> Any:
    """The registry; after a refused consent form, with its problems beside the fields and what
    legal typed kept (all but the document, which no browser lets a page fill in again).

    People come a page at a time (``find`` narrows them by name, ``after`` continues the
    list), each with their consents read for the whole page at once: a studio registers
    thousands, and listing every one with its consents took seconds (pages_bench)."""
    me = access.principal()
    find = request.args.get("find", "").strip()[:200]
    after = request.args.get("after", "").strip()[:200]
    listed = people.page_people(me, find=find, after=after)
    assets_after_text = request.args.get("assets_after", "")
    assets_after = int(assets_after_text) if is_id(assets_after_text) else None
    shown_assets = assets.asset_rows(me, limit=REGISTRY_ASSETS + 1, after=assets_after)
    licences_after = request.args.get("licences_after", "").strip()[:200]
    shown_licences = licences.list_licences(me, after=licences_after, limit=REGISTRY_LICENCES + 1)
    pending, pending_count = consents.pending_consents(me) if "legal" in me.roles else ([], 0)
    return render_template(
        "web/registry.html", productions=people.list_productions(me), people=listed.people,
        people_total=listed.total, next_after=listed.next_after, find=find, after=after,
        consents_of=consents.consents_of([p["id"] for p in listed.people], me),
        pending=pending, pending_count=pending_count,
        licences=shown_licences[:REGISTRY_LICENCES], licences_after=licences_after,
        licence_count=licences.count_licences(me),
        next_licences=shown_licences[REGISTRY_LICENCES - 1]["ref"] if len(shown_licences) > REGISTRY_LICENCES else None,
        assets=shown_assets[:REGISTRY_ASSETS], assets_after=assets_after,
        next_assets=shown_assets[REGISTRY_ASSETS - 1]["id"] if len(shown_assets) > REGISTRY_ASSETS else None,
        asset_count=assets.count_assets(me),
        training_sets=training_sets.list_training_sets(), models=models_registry.list_models(),
        bases=base_models.list_bases(), uses=vocab.consent_uses(), all_productions=people.list_productions(),
        replica_types=performer_terms.REPLICA_TYPES, consent_error=consent_error, typed=typed or {}), \
        422 if consent_error else 200


def _date(name: str) -> date:
    text = request.form.get(name, "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a date (YYYY-MM-DD)",
                           fields={name: "give a date, as YYYY-MM-DD"}) from None


@bp.route("/registry/consents", methods=["POST"])
@page("legal")
def record_consent() -> Any:
    """Legal records a consent with its signed document; a refusal comes back inline."""
    try:
        return _record_consent()
    except InvalidInput as error:
        typed: dict[str, Any] = {k: v for k, v in request.form.items() if k != "uses"}
        typed["uses"] = request.form.getlist("uses")
        return _registry_page(error, typed)


def _record_consent() -> Any:
    upload = request.files.get("document")
    document = upload.read() if upload is not None else b""
    if not document:
        raise InvalidInput("choose the signed consent document (PDF, PNG or JPEG)",
                           fields={"document": "choose the signed document (PDF, PNG or JPEG)"})
    form = request.form
    granted = consents.grant_consent(
        form.get("person", ""), uses=form.getlist("uses"),
        productions=vocab.split_csv(form.get("productions", "")),
        territories=vocab.split_csv(form.get("territories", "")),
        valid_from=_date("valid_from"), valid_until=_date("valid_until"), document=document,
        guardian_signed=form.get("guardian_signed") == "on", guardian_name=form.get("guardian_name") or None,
        guardian_relationship=form.get("guardian_relationship") or None,
        replica_type=form.get("replica_type") or None, use_description=form.get("use_description") or None,
        notice_given_at=form.get("notice_given_at") or None, estate_consent=form.get("estate_consent") == "on",
        estate_representative=form.get("estate_representative") or None,
        by=access.principal(), store=_store())
    if granted["status"] == "pending":
        flash(f"Consent #{granted['id']} recorded. Another legal user must confirm it before it counts.", "info")
    else:
        flash(f"Consent #{granted['id']} recorded.", "info")
    return redirect(url_for("web.registry", _anchor="people"))


@bp.route("/registry/consents/<int:consent_id>/confirm", methods=["POST"])
@page("legal")
def confirm_consent(consent_id: int) -> Any:
    """The second legal user's confirmation, after reading the document."""
    confirmed = consents.confirm_consent(consent_id, by=access.principal(),
                                         comment=request.form.get("comment", ""))
    flash(f"Consent #{confirmed['id']} of {confirmed['person']} is confirmed and now counts.", "info")
    return redirect(url_for("web.registry", _anchor="pending"))


@bp.route("/registry/consents/<int:consent_id>/document", methods=["GET"])
@page("legal", "auditor")
def consent_document(consent_id: int) -> Any:
    content, media_type = consents.consent_document(consent_id, _store(), access.principal())
    return send_file(io.BytesIO(content), mimetype=media_type, as_attachment=True,
                     download_name=f"consent-{consent_id}")


@bp.route("/models/<path:ref>/card", methods=["GET"])
@page("producer", "legal", "approver", "auditor", "admin")
def model_card(ref: str) -> Any:
    """A model's card, as ``slate model card`` and the API give it."""
    card = model_cards.model_card(ref, access.principal())
    return render_template("web/model_card.html", card=card.to_dict())

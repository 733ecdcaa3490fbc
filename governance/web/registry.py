"""The registry, read-only: productions, people and their consents, licences, assets,
training sets and models, as the registry's own functions list them."""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..registry import assets, consents, licences, models_registry, people, training_sets
from .access import page
from .blueprint import bp


@bp.route("/registry", methods=["GET"])
@page("producer", "legal", "approver", "auditor")
def registry() -> Any:
    return render_template(
        "web/registry.html", productions=people.list_productions(), people=people.list_people(),
        consents=consents.list_consents(), licences=licences.list_licences(), assets=assets.list_assets(),
        training_sets=training_sets.list_training_sets(), models=models_registry.list_models())

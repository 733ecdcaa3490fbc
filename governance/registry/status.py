"""A short account of what this Slate holds, for ``slate status`` and the main job."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..migrations import current_version
from ..settings import Settings
from .tables import Asset, Consent, Licence, Model, Person, Production, TrainingSet


def registry_status(settings: Settings) -> dict[str, Any]:
    return {
        "slate_version": __version__,
        "database": settings.describe_database(),
        "schema_version": current_version(),
        "data_dir": str(settings.data_dir),
        "keys_dir": str(settings.keys_dir),
        "productions": Production.select().count(),
        "people": Person.select().count(),
        "consents": Consent.select().count(),
        "consents_revoked": Consent.select().where(Consent.revoked_at.is_null(False)).count(),
        "licences": Licence.select().count(),
        "assets": Asset.select().count(),
        "training_sets": TrainingSet.select().count(),
        "models": Model.select().count(),
    }

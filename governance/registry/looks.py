"""A production's look references: the assets it approved as its look (what output review
measures a style distance to). Legal adds them (a producer would set a fact that decides
their own final frames); a work on the watchlist never is one."""

from __future__ import annotations

from typing import Any

from ..audit.log import record
from ..clock import utcnow
from ..db import transaction
from ..principal import Principal
from . import scope
from .assets import find_asset
from .people import get_production
from .tables import Asset, LookReference
from .watchlist import refuse_watchlisted


def add_look(production: str, asset_ref: str | int, *, by: Principal | None) -> dict[str, Any]:
    """Add an asset to a production's approved look (legal only: the look decides whether the
    production's final frames go to review, so its producer may not set it)."""
    if by is not None:
        scope.require_legal(by, "set a production's approved look")
    with transaction():
        prod = get_production(production)
        asset = find_asset(asset_ref, by)
        refuse_watchlisted(asset, "a production's look reference")
        if not LookReference.select().where(LookReference.production == prod, LookReference.asset == asset).exists():
            LookReference.create(production=prod, asset=asset, added_by=by.name if by else None, created_at=utcnow())
            record("production.look_added", f"production:{prod.name}", {"asset": asset.sha256},
                   by.name if by else None)
    return {"production": prod.name, "looks": looks(prod.name, by=by)}


def looks(production: str, *, by: Principal | None) -> list[dict[str, Any]]:
    """A production's look references, as the caller may see the production."""
    if by is not None and scope.confined(by):
        scope.own_productions(by, [production], "look reference")
    prod = get_production(production)
    query = (LookReference.select(LookReference, Asset).join(Asset).where(LookReference.production == prod)
             .order_by(LookReference.id))
    return [{"asset": r.asset.sha256, "title": r.asset.title, "added_by": r.added_by, "created_at": r.created_at}
            for r in query]

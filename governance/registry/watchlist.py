"""The watchlist: protected works (third-party franchises, living artists' work) that
outputs must not imitate.

Only legal puts a work on the watchlist (the operator's own path too): it decides what an
output may look like, so a producer can never create it (``Forbidden``, saying why). A
watchlisted asset is registered like any other, to be fingerprinted and indexed, but it
is never a training member, a request's reference or a look reference, and no licence of
it covers output use.
"""

from __future__ import annotations

from typing import Any

from ..audit.log import record
from ..clock import utcnow
from ..errors import Conflict
from ..principal import Principal
from . import scope
from .tables import Asset, LookReference, TrainingSetMember, WatchlistEntry


def is_watchlisted(asset: Asset) -> bool:
    return WatchlistEntry.select().where(WatchlistEntry.asset == asset).exists()


def refuse_watchlisted(asset: Asset, as_what: str) -> None:
    """A watchlisted work is never used as ``as_what`` (a training member, a reference)."""
    if is_watchlisted(asset):
        raise Conflict(f"asset {asset.sha256[:12]} is on the watchlist of protected works; it cannot be "
                       f"{as_what}", hint="the watchlist names works outputs must not imitate")


def require_may_watchlist(by: Principal | None) -> None:
    if by is not None:
        scope.require_legal(by, "put a work on the watchlist of protected works")


def add_to_watchlist(asset: Asset, note: str, by: Principal | None) -> None:
    """Put a registered asset on the watchlist, in the caller's transaction (legal only)."""
    require_may_watchlist(by)
    if is_watchlisted(asset):
        return
    if TrainingSetMember.select().where(TrainingSetMember.asset == asset).exists():
        raise Conflict(f"asset {asset.sha256[:12]} is a member of a training set; a protected work cannot be",
                       hint="a work on the watchlist is never training data")
    if LookReference.select().where(LookReference.asset == asset).exists():
        raise Conflict(f"asset {asset.sha256[:12]} is a production's look reference; a protected work cannot be")
    WatchlistEntry.create(asset=asset, note=note.strip(), registered_by=by.name if by else None, created_at=utcnow())
    record("asset.watchlisted", f"asset:{asset.sha256}", {"note": note.strip()}, by.name if by else None)


def watchlist(by: Principal | None = None) -> list[dict[str, Any]]:
    """The protected works, oldest first (every role that reads the registry may see them)."""
    query = WatchlistEntry.select(WatchlistEntry, Asset).join(Asset).order_by(WatchlistEntry.id)
    return [{"asset": e.asset.sha256, "title": e.asset.title, "note": e.note, "registered_by": e.registered_by,
             "created_at": e.created_at} for e in query]

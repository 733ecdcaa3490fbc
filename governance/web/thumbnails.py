"""Thumbnails for the pages: registered assets' (kept beside the similarity index) and signed
outputs' (made on first view). Each answers only to someone who may see the record itself,
so a producer asking for another production's picture gets the same 404 as for a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, send_file

from ..lifecycle.requests import visible_output
from ..provenance.thumbnails import output_thumbnail
from ..registry.assets import find_asset
from ..registry.fingerprints import thumbnail_path
from . import access
from .access import page
from .blueprint import bp

VIEWERS = ("producer", "legal", "approver", "auditor")
#: a registered asset with no thumbnail (not an image, or registered before thumbnails were kept)
PLACEHOLDER = ('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120" '
               'role="img" aria-label="no picture kept"><rect width="160" height="120" fill="#e8e6e1"/>'
               '<text x="80" y="66" font-family="sans-serif" font-size="14" text-anchor="middle" '
               'fill="#4a4a4a">no picture</text></svg>')


def _private(response: Any) -> Any:
    # a browser may keep it for the session's tab, never a shared cache
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/assets/<string:sha256>/thumbnail", methods=["GET"])
@page(*VIEWERS)
def asset_thumbnail(sha256: str) -> Any:
    asset = find_asset(sha256, access.principal())
    path = thumbnail_path(current_app.config["SLATE_SETTINGS"].index_dir, asset.sha256)
    if not path.exists():
        return _private(Response(PLACEHOLDER, mimetype="image/svg+xml"))
    return _private(send_file(path, mimetype="image/jpeg"))


@bp.route("/outputs/<string:sha256>/thumbnail", methods=["GET"])
@page(*VIEWERS)
def output_thumbnail_image(sha256: str) -> Any:
    row = visible_output(sha256, access.principal())
    path = output_thumbnail(row, current_app.config["SLATE_SETTINGS"].thumbnails_dir)
    return _private(send_file(path, mimetype="image/jpeg"))

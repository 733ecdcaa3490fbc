"""Small pictures for the pages: a signed output's thumbnail, made once from its stored file.

A page listing fifty outputs must not send fifty full-size signed images: each output gets a
JPEG of at most ``SIDE`` pixels on its long side, made the first time a page asks for it and
kept in a private folder beside the data (``<data>/thumbnails/outputs``). It is a picture for
people, never evidence: it carries no credential and nothing verifies it. Registered assets'
thumbnails are the similarity index's own (``registry.fingerprints.thumbnail_path``).
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from ..db import private_folder
from ..errors import NotFound
from ..ledger.tables import Output

SIDE = 160
#: a stored output is Slate's own signed file, but decoding stays bounded all the same
MAX_PIXELS = 4096 * 4096


def output_thumbnail_path(folder: Path, sha256: str) -> Path:
    return folder / "outputs" / f"{sha256}.jpg"


def output_thumbnail(row: Output, folder: Path) -> Path:
    """The kept thumbnail of ``row`` (made now if missing); NotFound if its file is not stored here."""
    path = output_thumbnail_path(folder, row.sha256)
    if path.exists():
        return path
    if not row.file_path or not Path(row.file_path).exists():
        raise NotFound("this output's signed file is not stored on this server, so it has no thumbnail")
    data = _jpeg(Path(row.file_path).read_bytes())
    private_folder(path.parent)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")  # two pages may make it at once
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.replace(path)
    return path


def _jpeg(content: bytes) -> bytes:
    from PIL import Image
    with Image.open(io.BytesIO(content)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise NotFound("this output is too large to show as a thumbnail")
        small = image.convert("RGB")
    small.thumbnail((SIDE, SIDE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()

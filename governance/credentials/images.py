"""What Slate accepts as an image to sign or verify, checked before any library sees it.

Formats are recognised by their magic bytes, not by a name a caller chose. Size limits
come from settings: bytes first (cheap), then the pixel area from the header, before
anything is decoded, so a decompression bomb is refused without being expanded.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInput
from ..settings import Settings

#: Media type -> (PIL format name, file extension). The formats Slate signs.
SUPPORTED = {
    "image/png": ("PNG", "png"),
    "image/jpeg": ("JPEG", "jpg"),
    "image/webp": ("WEBP", "webp"),
}


@dataclass(frozen=True)
class ImageInfo:
    media_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return SUPPORTED[self.media_type][1]


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` from its first bytes, or None if Slate does not sign it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_size(data: bytes, settings: Settings) -> None:
    if len(data) > settings.max_image_bytes:
        raise InvalidInput(f"the image is {len(data):,} bytes, more than the limit of {settings.max_image_bytes:,}",
                           hint="raise SLATE_MAX_IMAGE_BYTES if such images are expected")


def inspect(data: bytes, settings: Settings, *, check_chunks: bool = True) -> ImageInfo:
    """Check ``data`` is a PNG, JPEG or WebP within the configured limits; never decodes pixels.

    ``check_chunks=False`` leaves out the PNG chunk checks (``check_png_chunks``) for a
    caller that runs them itself, beside other work.
    """
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidInput("no image data was given")
    check_size(data, settings)
    media_type = sniff(data)
    if media_type is None:
        raise InvalidInput("this is not a PNG, JPEG or WebP image", hint="Slate signs PNG, JPEG and WebP")
    width, height = _read_header(data, media_type, settings.max_image_pixels)
    if media_type == "image/png" and check_chunks:
        check_png_chunks(data)
    return ImageInfo(media_type, width, height)


def check_dimensions(data: bytes, media_type: str, settings: Settings) -> tuple[int, int]:
    """The pixel limit alone (header only, no chunk checks): what verification needs, since
    it never decodes pixels but must still name a decompression bomb as one."""
    if media_type == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        # the PNG header is fixed: reading two integers beats opening the image
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if width * height > settings.max_image_pixels:
            raise _too_many_pixels(f"{width}x{height} pixels,", settings.max_image_pixels)
        return width, height
    return _read_header(data, media_type, settings.max_image_pixels)


#: PNG colour type -> the bit depths the specification allows with it.
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _read_header(data: bytes, media_type: str, max_pixels: int) -> tuple[int, int]:
    if media_type == "image/png":
        width, height = _png_header(data)
        if width * height > max_pixels:
            raise _too_many_pixels(f"{width}x{height} pixels,", max_pixels)
        return width, height
    with warnings.catch_warnings():
        # Slate applies its own pixel limit below; PIL's warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise _too_many_pixels("more than", max_pixels) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise InvalidInput("the image is corrupt: its header cannot be read") from None
        with image:
            if image.format != SUPPORTED[media_type][0]:
                raise InvalidInput(f"the image claims to be {media_type} but is not one")
            if image.width * image.height > max_pixels:
                raise _too_many_pixels(f"{image.width}x{image.height} pixels,", max_pixels)
            return image.width, image.height


def _png_header(data: bytes) -> tuple[int, int]:
    # The IHDR chunk sits at a fixed place with fixed fields: checking them here is what
    # PIL's open did for a PNG, at a hundredth of the cost (its CRC is check_png_chunks').
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise InvalidInput("the image is corrupt: its header cannot be read")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(">IIBBBBB", data, 16)
    if not (0 < width < 2**31 and 0 < height < 2**31) or depth not in _PNG_DEPTHS.get(colour, ()) \
            or compression or filtering or interlace > 1:
        raise InvalidInput("the image is corrupt: its header fields are not valid PNG")
    return width, height


def _too_many_pixels(size: str, limit: int) -> InvalidInput:
    return InvalidInput(f"the image is {size} more than the limit of {limit:,} pixels "
                        "(a possible decompression bomb); it was not decoded",
                        hint="raise SLATE_MAX_IMAGE_PIXELS if such images are expected")


def check_png_chunks(data: bytes) -> None:
    """Every PNG chunk's length and CRC up to IEND, without inflating the pixels.

    Catches truncation and bit rot that c2pa would otherwise sign into a credential
    (it rejects truncated JPEG and WebP itself). Slices are views, not copies, and
    ``zlib.crc32`` releases the GIL on them, so this can run beside c2pa's signing.
    """
    view = memoryview(data)
    position, size = 8, len(data)
    while True:
        if position + 12 > size:
            raise _corrupt_png("it ends before its IEND chunk")
        length = int.from_bytes(view[position:position + 4], "big")
        body_end = position + 8 + length
        if body_end + 4 > size:
            raise _corrupt_png("a chunk runs past the end of the file")
        if zlib.crc32(view[position + 4:body_end]) != int.from_bytes(view[body_end:body_end + 4], "big"):
            raise _corrupt_png(f"the checksum of its {_chunk_name(view[position + 4:position + 8])} chunk is wrong")
        if view[position + 4:position + 8].tobytes() == b"IEND":
            return
        position = body_end + 4


def _corrupt_png(detail: str) -> InvalidInput:
    return InvalidInput(f"the PNG image is corrupt: {detail} (truncated or damaged)")


def _chunk_name(kind: memoryview) -> str:
    # a hostile file's chunk type may be any four bytes: name only what PNG allows
    text = kind.tobytes().decode("latin-1")
    return text if text.isascii() and text.isalpha() else "unnamed"

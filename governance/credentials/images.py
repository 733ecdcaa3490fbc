"""What Slate accepts as an image to sign or verify, checked before any library sees it.

Formats are recognised by their magic bytes, not by a name a caller chose. Size limits
come from settings: bytes first (cheap), then the pixel area from the header, before
anything is decoded, so a decompression bomb is refused without being expanded.
"""

from __future__ import annotations

import io
import warnings
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


def inspect(data: bytes, settings: Settings) -> ImageInfo:
    """Check ``data`` is a PNG, JPEG or WebP within the configured limits; never decodes pixels."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidInput("no image data was given")
    check_size(data, settings)
    media_type = sniff(data)
    if media_type is None:
        raise InvalidInput("this is not a PNG, JPEG or WebP image", hint="Slate signs PNG, JPEG and WebP")
    width, height = _read_header(data, media_type, settings.max_image_pixels)
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
    return _read_header(data, media_type, settings.max_image_pixels, verify_chunks=False)


def _read_header(data: bytes, media_type: str, max_pixels: int, verify_chunks: bool = True) -> tuple[int, int]:
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
            if media_type == "image/png" and verify_chunks:
                _verify_chunks(image)
            return image.width, image.height


def _too_many_pixels(size: str, limit: int) -> InvalidInput:
    return InvalidInput(f"the image is {size} more than the limit of {limit:,} pixels "
                        "(a possible decompression bomb); it was not decoded",
                        hint="raise SLATE_MAX_IMAGE_PIXELS if such images are expected")


def _verify_chunks(image: Image.Image) -> None:
    # PNG chunk lengths and CRCs, without inflating the pixels: catches truncation and
    # bit rot for a fraction of a millisecond. (c2pa itself rejects truncated JPEG/WebP.)
    try:
        image.verify()
    except Exception:  # PIL raises a zoo of types here (SyntaxError, OSError, struct.error...)
        raise InvalidInput("the PNG image is corrupt: its chunk structure or checksums are damaged") from None

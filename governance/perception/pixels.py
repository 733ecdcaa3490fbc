"""Image bytes to an RGB pixel array, refusing what cannot or should not be decoded.

The pixel limit is checked from the header before any pixel is expanded, so a
decompression bomb is refused undecoded. Callers pass Slate's configured limit.
"""

from __future__ import annotations

import io
import warnings
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInput

RGB: TypeAlias = npt.NDArray[np.uint8]
#: What the perception functions accept: encoded bytes (PNG, JPEG, WebP...) or decoded RGB pixels.
ImageInput: TypeAlias = bytes | RGB

DEFAULT_MAX_PIXELS = 40_000_000


def as_rgb(image: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGB:
    """``image`` as a height x width x 3 ``uint8`` array, decoding bytes within ``max_pixels``."""
    if isinstance(image, (bytes, bytearray)):
        return decode_rgb(bytes(image), max_pixels=max_pixels)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInput("the pixels are not an RGB image (height x width x 3, 8 bits a channel)")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise InvalidInput(f"the image is {image.shape[1]}x{image.shape[0]} pixels, "
                           f"more than the limit of {max_pixels:,} pixels")
    return image


def decode_rgb(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGB:
    """The RGB pixels of an encoded image, or ``InvalidInput`` naming why there are none."""
    if not data:
        raise InvalidInput("no image data was given")
    with warnings.catch_warnings():
        # the limit is applied below, from the header, with a message of Slate's own
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > max_pixels:
                    raise InvalidInput(f"the image is {image.width}x{image.height} pixels, more than the limit of "
                                       f"{max_pixels:,} pixels (a possible decompression bomb); it was not decoded",
                                       hint="raise SLATE_MAX_IMAGE_PIXELS if such images are expected")
                return np.asarray(image.convert("RGB"), dtype=np.uint8)
        except Image.DecompressionBombError:
            raise InvalidInput(f"the image has more than {max_pixels:,} pixels; it was not decoded") from None
        except UnidentifiedImageError:
            raise InvalidInput("the image cannot be decoded: its format is not one Pillow recognises") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidInput(f"the image cannot be decoded: it is truncated or corrupt ({type(exc).__name__})") \
                from None

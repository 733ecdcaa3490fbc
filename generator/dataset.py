"""The "studio style" training images: procedural, deterministic, captioned.

Flat shapes in a fixed eight-colour palette on a flat background, drawn without
anti-aliasing so the same seed gives the same PNG bytes on every machine with the same
Pillow. Each image's caption names what is drawn, in the studio's words (see
``architecture.STUDIO_WORDS``), so the text encoder has something to condition on.
These images are the studio's own work: ``bundled`` registers them as licensed assets.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

#: The studio palette: name -> sRGB.
PALETTE: dict[str, tuple[int, int, int]] = {
    "ivory": (240, 234, 214),
    "charcoal": (44, 46, 52),
    "amber": (232, 160, 32),
    "teal": (24, 128, 128),
    "coral": (240, 112, 96),
    "indigo": (64, 56, 160),
    "sage": (152, 176, 136),
    "crimson": (176, 24, 48),
}
SHAPES = ("circle", "square", "triangle", "stripes", "diamond", "ring")
SIZES = {"small": 0.28, "large": 0.42}
PLACES = {"centre": (0.5, 0.5), "left": (0.32, 0.5), "right": (0.68, 0.5),
          "top": (0.5, 0.32), "bottom": (0.5, 0.68)}


@dataclass(frozen=True)
class StudioImage:
    """One training image: what is drawn, its caption and its PNG bytes."""

    index: int
    caption: str
    png: bytes
    shape: str
    colour: str
    background: str

    @property
    def title(self) -> str:
        return f"Studio style frame {self.index:03d}"

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.png)).convert("RGB")


def studio_dataset(count: int = 64, size: int = 128, seed: int = 0) -> list[StudioImage]:
    """``count`` images of ``size`` x ``size`` pixels; the same arguments, the same bytes."""
    rng = random.Random(seed)
    return [_one(i, size, rng) for i in range(count)]


def _one(index: int, size: int, rng: random.Random) -> StudioImage:
    colours = list(PALETTE)
    background = rng.choice(colours)
    colour = rng.choice([c for c in colours if c != background])
    shape = SHAPES[index % len(SHAPES)]
    scale = rng.choice(list(SIZES))
    place = rng.choice(list(PLACES))
    image = Image.new("RGB", (size, size), PALETTE[background])
    _draw(ImageDraw.Draw(image), shape, PALETTE[colour], PALETTE[background],
          PLACES[place], SIZES[scale], size)
    caption = f"a {scale} {colour} {shape} {place} on {background} background, slate studio style"
    return StudioImage(index=index, caption=caption, png=encode_png(image), shape=shape,
                       colour=colour, background=background)


def _draw(draw: ImageDraw.ImageDraw, shape: str, fill: tuple[int, int, int],
          background: tuple[int, int, int], place: tuple[float, float], scale: float,
          size: int) -> None:
    cx, cy = place[0] * size, place[1] * size
    r = scale * size
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "ring":
        draw.ellipse(box, fill=fill)
        inner = r * 0.55
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=background)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=fill)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fill)
    elif shape == "stripes":
        band = max(1, size // 8)
        for y in range(0, size, band * 2):
            draw.rectangle((0, y, size, y + band - 1), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape}")


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes with no metadata, so equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()

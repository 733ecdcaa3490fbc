"""Whether an image is what Slate's generator writes for a job, read from its PNG structure.

The generator saves each image with PIL as a plain PNG: an ``IHDR`` (8-bit RGB, not
interlaced), one or more consecutive ``IDAT`` chunks and ``IEND``, nothing else (no text,
no physical size, no metadata) and nothing after the end. Anything else posted for signing
was not made by it as it is: another format, another size, a file that already carries
provenance (a C2PA manifest in ``caBX``, XMP in ``iTXt``, EXIF in ``eXIf``), an animation,
hidden bytes. ``check_generated_png`` refuses each with the mismatch in words a worker's
operator can act on, before any key operation and before anything is recorded.

It is bounded by the job, not by the file: the header is compared with the job's size
before any other chunk is read, at most ``MAX_CHUNKS`` chunks are walked, and the pixel
stream is inflated (never filtered or decoded into an image) only up to the exact size
the job's width and height allow, so a hostile file cannot make it work harder than an
honest one of the job's size. Pure: bytes in, a frozen value or ``InvalidInput`` out.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import InvalidInput
from .images import sniff

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: What the generator writes: 8-bit samples, colour type 2 (RGB), deflate, adaptive
#: filtering, no interlace.
BIT_DEPTH, COLOUR_TYPE, CHANNELS = 8, 2, 3
#: PIL writes the pixel stream in IDAT chunks of at most 64 KiB (or one row, if longer):
#: a 2048x2048 image needs about 200. A file with more chunks is refused before it is walked.
MAX_CHUNKS = 4096

_COLOUR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale with alpha", 6: "RGBA"}
#: chunks the generator never writes, and why each matters to a credential
_FOREIGN = {
    b"caBX": "a C2PA manifest (caBX chunk): the file already carries another tool's content credential",
    b"eXIf": "EXIF metadata (eXIf chunk)",
    b"tEXt": "text metadata (tEXt chunk)",
    b"zTXt": "compressed text metadata (zTXt chunk)",
    b"acTL": "an animation (acTL chunk): it is an animated PNG",
    b"fcTL": "an animation frame (fcTL chunk): it is an animated PNG",
    b"fdAT": "an animation frame (fdAT chunk): it is an animated PNG",
}
_XMP_KEYWORD = b"XML:com.adobe.xmp\x00"


@dataclass(frozen=True)
class GeneratedPng:
    """A PNG laid out exactly as Slate's generator writes one for its job."""

    job_id: str
    width: int
    height: int
    #: (start, end) of each IDAT chunk's data in the file, in order
    idat_spans: tuple[tuple[int, int], ...]

    @property
    def stream_bytes(self) -> int:
        """Bytes of the filtered pixel stream: ``height`` rows of a filter byte and RGB pixels."""
        return (1 + self.width * CHANNELS) * self.height


def check_generated_png(data: bytes, job_id: str, width: int, height: int) -> GeneratedPng:
    """``data`` as the generator would have written it for ``job_id`` at ``width`` x ``height``:
    ``check_layout`` then ``check_pixel_stream``. Raises ``InvalidInput`` naming the first
    mismatch found."""
    png = check_layout(data, job_id, width, height)
    check_pixel_stream(data, png)
    return png


def check_layout(data: bytes, job_id: str, width: int, height: int) -> GeneratedPng:
    """The chunks of ``data``, walked without inflating anything (a fraction of a millisecond):

    1. the PNG signature (a JPEG, WebP or anything else is named as what it is);
    2. ``IHDR`` first, with exactly the job's width and height, 8-bit RGB, not interlaced;
    3. then only ``IDAT`` chunks (so they are consecutive), then an empty ``IEND``, each
       chunk's CRC valid and no more than ``MAX_CHUNKS`` of them;
    4. nothing after ``IEND``.

    Raises ``InvalidInput`` naming the first mismatch found.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise _refused(job_id, f"the image is {_format_of(data)}, not a PNG", "the generator writes PNG files")
    view = memoryview(data)
    position = _check_header(view, job_id, width, height)
    spans: list[tuple[int, int]] = []
    for _ in range(MAX_CHUNKS):
        kind, body, position = _chunk(view, position, job_id)
        if kind == b"IEND":
            if body:
                raise _corrupt(job_id, "its IEND chunk is not empty")
            break
        if kind != b"IDAT":
            raise _refused(job_id, f"the image carries {_foreign(kind, body)}",
                           "the generator writes no such chunk: post the image exactly as the generator made it")
        spans.append((position - 4 - len(body), position - 4))
    else:
        raise _refused(job_id, f"the image has more than {MAX_CHUNKS} chunks",
                       "the generator writes far fewer: this is not its output")
    if position != len(data):
        raise _refused(job_id, f"{len(data) - position:,} bytes follow the image's end (IEND chunk)",
                       "the generator writes nothing after the image")
    if not spans:
        raise _corrupt(job_id, "it has no pixel data (IDAT chunk)")
    return GeneratedPng(job_id, width, height, tuple(spans))


def check_pixel_stream(data: bytes, png: GeneratedPng) -> None:
    """5. The ``IDAT`` data of a checked layout is one zlib stream that inflates to exactly
    the job's rows, each starting with a valid filter byte, and ends where the last ``IDAT``
    ends. Inflated no further than the job's size allows; never filtered or decoded.

    A pass over the pixels (milliseconds at 1024x1024): ``zlib`` releases the GIL, so the
    signing path runs it beside c2pa. Raises ``InvalidInput`` naming the mismatch.
    """
    view = memoryview(data)
    stream = b"".join(view[start:end] for start, end in png.idat_spans)
    expected, row = png.stream_bytes, 1 + png.width * CHANNELS
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(stream, expected + 1)
    except zlib.error:
        raise _corrupt(png.job_id, "its pixel data (IDAT) is not a valid compressed stream") from None
    if len(raw) != expected or not inflater.eof:
        detail = "more" if len(raw) > expected else "less"
        raise _refused(png.job_id, f"its pixel data holds {detail} than {png.width}x{png.height} RGB pixels",
                       "the header and the pixels disagree: this is not the generator's output")
    if inflater.unused_data:
        raise _refused(png.job_id, f"{len(inflater.unused_data):,} bytes are hidden after its pixel data (IDAT)",
                       "the generator writes nothing after the pixels")
    if max(raw[::row]) > 4:
        raise _corrupt(png.job_id, "a row of its pixel data has an unknown filter type")


def _check_header(view: memoryview, job_id: str, width: int, height: int) -> int:
    """The position after a valid ``IHDR`` that fits the job."""
    kind, body, position = _chunk(view, len(PNG_SIGNATURE), job_id)
    if kind != b"IHDR" or len(body) != 13:
        raise _corrupt(job_id, "it does not start with a valid header (IHDR chunk)")
    got_w, got_h, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if (got_w, got_h) != (width, height):
        raise _refused(job_id, f"the image is {got_w}x{got_h}; job {job_id} asked for {width}x{height}",
                       "sign the image the generator made for this job, at the job's size")
    if (depth, colour) != (BIT_DEPTH, COLOUR_TYPE):
        kind_name = _COLOUR_TYPES.get(colour, f"colour type {colour}")
        raise _refused(job_id, f"the image is {depth}-bit {kind_name}; the generator writes 8-bit RGB",
                       "post the generator's PNG unchanged, not a converted copy")
    if compression or filtering:
        raise _corrupt(job_id, "its header names a compression or filter method PNG does not define")
    if interlace:
        raise _refused(job_id, "the image is interlaced; the generator writes non-interlaced PNG",
                       "post the generator's PNG unchanged, not a re-saved copy")
    return position


def _chunk(view: memoryview, position: int, job_id: str) -> tuple[bytes, memoryview, int]:
    """(type, body, position after it) of the chunk at ``position``, its CRC checked."""
    if position + 12 > len(view):
        raise _corrupt(job_id, "it ends before its IEND chunk")
    length = int.from_bytes(view[position:position + 4], "big")
    if length >= 2**31:
        raise _corrupt(job_id, "a chunk's length is not valid PNG")
    end = position + 8 + length
    if end + 4 > len(view):
        raise _corrupt(job_id, "a chunk runs past the end of the file")
    kind = view[position + 4:position + 8].tobytes()
    if zlib.crc32(view[position + 4:end]) != int.from_bytes(view[end:end + 4], "big"):
        raise _corrupt(job_id, f"the checksum (CRC) of its {_name(kind)} chunk is wrong")
    return kind, view[position + 8:end], end + 4


def _foreign(kind: bytes, body: memoryview) -> str:
    if kind == b"iTXt":
        if body[:len(_XMP_KEYWORD)].tobytes() == _XMP_KEYWORD:
            return "XMP metadata (iTXt chunk XML:com.adobe.xmp)"
        return "text metadata (iTXt chunk)"
    return _FOREIGN.get(kind, f"a {_name(kind)} chunk")


def _format_of(data: bytes) -> str:
    media_type = sniff(data)
    if media_type == "image/jpeg":
        return "a JPEG"
    if media_type == "image/webp":
        return "a WebP image"
    return "in a format Slate does not recognise"


def _name(kind: bytes) -> str:
    # a hostile file's chunk type may be any four bytes: name only what PNG allows
    text = kind.decode("latin-1")
    return text if text.isascii() and text.isalpha() else "unnamed"


def _refused(job_id: str, detail: str, hint: str) -> InvalidInput:
    return InvalidInput(f"not signed: {detail}", hint=hint, fields={"image": f"does not fit job {job_id}"})


def _corrupt(job_id: str, detail: str) -> InvalidInput:
    return _refused(job_id, f"the PNG image is corrupt: {detail}", "post the generator's PNG unchanged")

"""The IPTC facts every reader of image metadata understands, in an XMP packet Slate writes.

Platforms and photo tools that never read C2PA still read XMP: the IPTC digital source
type (``trainedAlgorithmicMedia``) and the IPTC Photo Metadata 2025.1 AI fields, "AI System
Used" (``Iptc4xmpExt:AISystemUsed``, the model's name) and "AI System Version Used"
(``Iptc4xmpExt:AISystemVersionUsed``). Never "AI Prompt Information": the prompt stays
out of everything Slate hands out, and this packet is built from the model's name and
version alone, so no caller can put it there.

The packet goes into the image *before* c2pa signs it, so the hard binding covers it: a
changed packet is a tampered file. Each format's container is written by hand (a PNG
``iTXt`` chunk ``XML:com.adobe.xmp``, a JPEG ``APP1`` segment, a WebP ``XMP `` chunk with
the ``VP8X`` flag), never by re-encoding, so the pixels are the generator's bytes. An
image that already carries XMP keeps it and gets none from Slate (two packets in one
file is not valid XMP, and what the other says is not Slate's to rewrite).
"""

from __future__ import annotations

import struct
import zlib
from xml.sax.saxutils import escape

from .c2pa_config import TRAINED_ALGORITHMIC_MEDIA

IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_PNG_KEYWORD = b"XML:com.adobe.xmp"
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_WEBP_XMP_FLAG = 0x04
_WEBP_ALPHA_FLAG = 0x10


def packet(model_name: str, model_version: str) -> bytes:
    """The XMP packet naming how the image was made and by which model (UTF-8)."""
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{IPTC_EXT_NS}">\n'
        f"   <Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>\n"
        f"   <Iptc4xmpExt:AISystemUsed>{escape(model_name)}</Iptc4xmpExt:AISystemUsed>\n"
        f"   <Iptc4xmpExt:AISystemVersionUsed>{escape(model_version)}</Iptc4xmpExt:AISystemVersionUsed>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="r"?>'
    )
    return text.encode("utf-8")


def embed(image: bytes, media_type: str, width: int, height: int, xmp: bytes) -> bytes:
    """``image`` with ``xmp`` added in its container's place, or unchanged if it has XMP already."""
    if media_type == "image/png":
        return _png(image, xmp)
    if media_type == "image/jpeg":
        return _jpeg(image, xmp)
    if media_type == "image/webp":
        return _webp(image, xmp, width, height)
    return image


def read(image: bytes, media_type: str) -> bytes | None:
    """The XMP packet in ``image``, or None: what tests and auditors read back."""
    if media_type == "image/png":
        found = _png_xmp_chunk(image)
        return image[found[0] + len(_PNG_KEYWORD) + 5:found[0] + found[1]] if found else None
    if media_type == "image/jpeg":
        return next((body[len(_JPEG_XMP):] for marker, body, _ in _jpeg_segments(image)
                     if marker == 0xE1 and body.startswith(_JPEG_XMP)), None)
    if media_type == "image/webp":
        return next((body for kind, body, _ in _riff_chunks(image) if kind == b"XMP "), None)
    return None


# ---------------------------------------------------------------- PNG


def png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset of its data, its length) for each chunk, reading headers only (the
    file has passed ``images.inspect``): no pixel data is copied."""
    chunks, offset = [], 8
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4:offset + 8]
        chunks.append((kind, offset + 8, length))
        offset += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _png_xmp_chunk(data: bytes) -> tuple[int, int] | None:
    keyword = _PNG_KEYWORD + b"\x00"
    return next(((start, length) for kind, start, length in png_chunks(data)
                 if kind == b"iTXt" and data.startswith(keyword, start)), None)


def _png(image: bytes, xmp: bytes) -> bytes:
    if _png_xmp_chunk(image) is not None:
        return image
    # keyword, NUL, compression flag 0, method 0, empty language tag and translated keyword
    body = _PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    (header_length,) = struct.unpack_from(">I", image, 8)
    after_header = 8 + 12 + header_length  # right after IHDR, before the pixels, as XMP Part 3 advises
    return _spliced(image, after_header, chunk)


def _spliced(image: bytes, at: int, insert: bytes) -> bytes:
    """``image`` with ``insert`` at ``at``, copying the image once."""
    view = memoryview(image)
    return b"".join((view[:at], insert, view[at:]))


# ---------------------------------------------------------------- JPEG


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes, int]]:
    """(marker, payload, offset) for each segment before the scan."""
    segments, offset = [], 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xDA or marker == 0xD9:  # start of scan, end of image: no more headers
            break
        (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
        segments.append((marker, data[offset + 4:offset + 2 + length], offset))
        offset += 2 + length
    return segments


def _jpeg(image: bytes, xmp: bytes) -> bytes:
    segments = _jpeg_segments(image)
    if any(marker == 0xE1 and body.startswith(_JPEG_XMP) for marker, body, _ in segments):
        return image
    payload = _JPEG_XMP + xmp
    if len(payload) + 2 > 0xFFFF:
        return image  # a model name too long for one segment: no packet rather than a broken file
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    # after SOI and the segments that must come first: JFIF's APP0, EXIF's APP1
    at = 2
    for marker, body, offset in segments:
        if not (marker == 0xE0 or (marker == 0xE1 and body.startswith(b"Exif\x00\x00"))):
            break
        at = offset + 4 + len(body)
    return _spliced(image, at, segment)


# ---------------------------------------------------------------- WebP


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        kind = data[offset:offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4:offset + 8])
        chunks.append((kind, data[offset + 8:offset + 8 + size], offset))
        offset += 8 + size + (size & 1)
    return chunks


def _webp(image: bytes, xmp: bytes, width: int, height: int) -> bytes:
    chunks = _riff_chunks(image)
    if not chunks:
        return image
    first_kind, first_body, _ = chunks[0]
    body = image[12:]
    if first_kind == b"VP8X":
        if first_body[0] & _WEBP_XMP_FLAG:
            return image
        body = b"VP8X" + image[16:20] + bytes([first_body[0] | _WEBP_XMP_FLAG]) + image[21:]
    else:
        # A simple WebP (one VP8 or VP8L chunk) becomes an extended one, which can hold XMP.
        flags = _WEBP_XMP_FLAG | (_WEBP_ALPHA_FLAG if _lossless_with_alpha(first_kind, first_body) else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = b"VP8X" + struct.pack("<I", len(header)) + header + body
    chunk = b"XMP " + struct.pack("<I", len(xmp)) + xmp + (b"\x00" if len(xmp) & 1 else b"")
    body += chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _lossless_with_alpha(kind: bytes, body: bytes) -> bool:
    """A VP8L bitstream's ``alpha_is_used`` bit (the 29th bit after its signature byte)."""
    if kind != b"VP8L" or len(body) < 5:
        return False
    (bits,) = struct.unpack("<I", body[1:5])
    return bool(bits >> 28 & 1)

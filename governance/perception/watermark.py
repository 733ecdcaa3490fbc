"""An invisible watermark carrying a 48-bit lookup identifier: classical DWT-DCT with
quantisation index modulation (QIM), in a canonical frame so a resized copy still reads.

The method is the one invisible-watermark's ``dwtDct`` encoder popularised (Guo Yi's
`invisible-watermark`, MIT licence: a Haar DWT of one channel, the DCT of small blocks of
its LL band, one bit per block), written here in numpy and OpenCV for three reasons: its
wheel depends on the GUI build of OpenCV, which clashes with the headless build the rest
of Slate uses; its ``dwtDct`` reads the image at its own size, so a copy resized to half
no longer decodes; and it picks the largest coefficient of each block, which a JPEG
re-encoding can change. What differs, and why:

1. luminance only (BT.601), and the change is added equally to R, G and B, so the colours
   stay as generated and a grey copy still reads;
2. the luminance is first resized (area averaging) to a fixed ``FRAME``², and the mark is
   computed there: decoding resizes the copy to the same frame, so any uniform resize
   of the copy reads the same blocks (a crop shifts them: see ``decode``'s limits);
3. one Haar level, 4x4 DCT blocks of its LL band (1,024 blocks), and the bit is in the
   sum of the two lowest AC coefficients by QIM with a keyless dither per block, so it
   does not depend on which coefficient happens to be largest;
4. 48 identifier bits and a 16-bit check (CRC-16/CCITT of them), 64 bits, each repeated
   16 times in blocks spread over the frame; decoding sums the soft votes and accepts
   only a payload whose check holds and whose votes are strong (``MIN_STRENGTH``);
5. the change made in the frame is upsampled to the image's size and added to the pixels,
   then read back and corrected (``PASSES``), so rounding and clipping lose little.

The identifier is a lookup key, not a secret and not a proof: anyone can read it, and
anyone who knows this method can write one. Whatever it points at is confirmed against the
output's perceptual fingerprint before Slate names an output (``credentials.softbinding``).

Pure: pixels in, pixels (or a payload) out; deterministic, so the same id on the same
pixels gives the same bytes (the reproduction audit re-applies it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput

#: names this exact computation; stored with each output's watermark
WATERMARK_ALG = "com.slate.watermark.dwtdct-qim.1"
FRAME = 256
BLOCK = 4
ID_BITS = 48
CHECK_BITS = 16
PAYLOAD_BITS = ID_BITS + CHECK_BITS
#: quantisation step of the embedded coefficient (orthonormal transforms, 8-bit luminance)
STEP = 28.0
#: read-back-and-correct rounds after the first embedding
PASSES = 1
#: the smallest mean vote strength (1.0: every block exactly on its lattice) accepted
MIN_STRENGTH = 0.30
#: images smaller than this on a side are not watermarked (the frame would be upsampled)
MIN_SIDE = 128

Pixels = npt.NDArray[np.uint8]
_BLOCKS = (FRAME // 2 // BLOCK) ** 2


@dataclass(frozen=True)
class Reading:
    """What ``decode`` found: the identifier (12 hex digits), how strong the votes were and,
    for a cut copy, where it sits in the original: (left, top, original width, height)."""

    watermark_id: str
    strength: float
    placement: tuple[int, int, int, int] | None = None

    def realigned(self, rgb: Pixels) -> Pixels:
        """A cut copy put back where it was cut from, its missing margins filled from its own
        edges: what the original's fingerprint (of its centre) can be compared with."""
        if self.placement is None:
            return rgb
        left, top, width, height = self.placement
        bottom, right = max(0, height - rgb.shape[0] - top), max(0, width - rgb.shape[1] - left)
        return np.ascontiguousarray(cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REPLICATE))


def new_id(random_bytes: bytes) -> str:
    """A watermark id from 6 random bytes (48 bits), as 12 lowercase hex digits."""
    if len(random_bytes) != ID_BITS // 8:
        raise InvalidInput(f"a watermark id is {ID_BITS // 8} bytes")
    return random_bytes.hex()


def check_id(watermark_id: str) -> str:
    value = watermark_id.strip().lower() if isinstance(watermark_id, str) else ""
    if len(value) != ID_BITS // 4 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInput(f"a watermark id is {ID_BITS // 4} hexadecimal digits")
    return value


def can_embed(rgb: Pixels) -> bool:
    return bool(min(rgb.shape[0], rgb.shape[1]) >= MIN_SIDE)


def embed(rgb: Pixels, watermark_id: str) -> Pixels:
    """``rgb`` (HxWx3 uint8) carrying ``watermark_id``; the same inputs give the same pixels."""
    if not can_embed(rgb):
        raise InvalidInput(f"an image under {MIN_SIDE} pixels on a side is not watermarked")
    bits = _payload_bits(check_id(watermark_id))
    targets = np.where(_LAYOUT_BITS(bits), 1, 0)
    height, width = rgb.shape[:2]
    marked = rgb.astype(np.float32)
    # what the pass reads: the pixels as they would be written (the first pass's are whole
    # numbers in range already, so rounding and clipping them would change nothing)
    written = marked
    for _ in range(1 + PASSES):
        coefficient = _coefficients(_luma(written))
        change = _qim(coefficient, targets) - coefficient
        if not np.any(np.abs(change) > 0.5):
            break
        frame_delta = _frame_delta(change)
        delta = cv2.resize(frame_delta, (width, height), interpolation=cv2.INTER_LINEAR)
        marked += delta[..., None]  # in place: the same float32 sums, no second image allocated
        written = np.clip(np.rint(marked), 0, 255, out=np.rint(marked))
    return written.astype(np.uint8)


def decode(rgb: Pixels) -> Reading | None:
    """The identifier ``rgb`` carries, or None: first as a whole image at any uniform scale
    (re-encoded as JPEG down to quality ~70 included), then as a crop (``decode_cropped``)."""
    if min(rgb.shape[0], rgb.shape[1]) < 32:
        return None
    luma = _luma(rgb.astype(np.float32))
    votes = np.cos(2 * np.pi * (_coefficients(luma) - _DITHER) / STEP)  # +1: bit 0 lattice, -1: bit 1
    sums = np.asarray(np.bincount(_LAYOUT, weights=votes, minlength=PAYLOAD_BITS), dtype=np.float64)
    found = _read(sums, np.full(PAYLOAD_BITS, float(_REPEATS)), MIN_STRENGTH)
    return found or decode_cropped(luma)


def decode_cropped(luma: npt.NDArray[np.float32]) -> Reading | None:
    """The identifier of a copy cut from a watermarked image at its own scale: up to
    ``MAX_CROP`` of each side taken away, anywhere. Tried for each original size that is a
    whole multiple of half the frame on each side and that the copy could be cut from, at
    every offset in original pixels: a cut shifts the block grid, so each offset is read
    as its own hypothesis (about 2,700 for a 10% cut of 512x512, in tens of milliseconds),
    and a reading is accepted only at ``MIN_CROP_STRENGTH``, stricter than a whole image's
    because so many are tried."""
    height, width = luma.shape
    hypotheses = [(fx, fy) for fy in _factors(height) for fx in _factors(width)]
    # each offset phase of each size reads the whole copy once: past a budget (a 10% cut of
    # a 1024x1024 output is well within it) the search is not tried, so a hostile size costs
    # a bounded time and such a copy is left to its fingerprint
    if sum(4 * fx * fy for fx, fy in hypotheses) * height * width > CROP_SEARCH_BUDGET:
        return None
    best: Reading | None = None
    for fx, fy in hypotheses:
        found = _search(luma, fx, fy)
        if found is not None and (best is None or found.strength > best.strength):
            best = found
    return best


#: the largest share of an original's width or height a cut copy may have lost
MAX_CROP = 0.15
#: offset phases times pixels the crop search may read for one copy (about 0.3 s)
CROP_SEARCH_BUDGET = 100_000_000
MIN_CROP_STRENGTH = 0.5


def _factors(side: int) -> list[int]:
    """Whole factors f such that an original side of ``FRAME * f`` pixels (a box of 2f pixels
    per LL value) could have lost at most ``MAX_CROP`` to leave ``side``."""
    return [f for f in range(1, 9) if side <= FRAME * f <= side / (1 - MAX_CROP)]


def _search(luma: npt.NDArray[np.float32], fx: int, fy: int) -> Reading | None:
    box_x, box_y = 2 * fx, 2 * fy
    original_w, original_h = FRAME * fx, FRAME * fy
    spare_x, spare_y = original_w - luma.shape[1], original_h - luma.shape[0]
    side = FRAME // 2 // BLOCK
    corner = np.arange(side) * BLOCK
    best: Reading | None = None
    for ry in range(box_y):
        for rx in range(box_x):
            coefficient = _coefficient_map(luma, box_x, box_y, rx, ry)
            shifts_y = [b for b in range(spare_y // box_y + 2) if box_y * b + ry <= spare_y]
            shifts_x = [b for b in range(spare_x // box_x + 2) if box_x * b + rx <= spare_x]
            if not shifts_x or not shifts_y:
                continue
            sy = np.array(shifts_y)[:, None, None, None]
            sx = np.array(shifts_x)[None, :, None, None]
            # the copy's LL pixel that starts original block (u, v) at this offset
            jy = corner[None, None, :, None] - sy - (1 if ry else 0)
            jx = corner[None, None, None, :] - sx - (1 if rx else 0)
            valid = (jy >= 0) & (jy < coefficient.shape[0]) & (jx >= 0) & (jx < coefficient.shape[1])
            values = coefficient[np.clip(jy, 0, coefficient.shape[0] - 1), np.clip(jx, 0, coefficient.shape[1] - 1)]
            votes = np.cos(2 * np.pi * (values.reshape(*values.shape[:2], -1) - _DITHER_GRID) / STEP)
            mask = valid.reshape(*valid.shape[:2], -1).astype(np.float64)
            sums = (votes * mask) @ _ONE_HOT
            counts = mask @ _ONE_HOT
            strength = np.where(np.all(counts >= 3, axis=-1),
                                np.mean(np.abs(sums) / np.maximum(counts, 1), axis=-1), 0.0)
            for y, x in zip(*np.nonzero(strength >= MIN_CROP_STRENGTH), strict=True):
                found = _read(sums[y, x], counts[y, x], MIN_CROP_STRENGTH)
                if found is not None and (best is None or found.strength > best.strength):
                    placement = (box_x * shifts_x[x] + rx, box_y * shifts_y[y] + ry, original_w, original_h)
                    best = Reading(found.watermark_id, found.strength, placement)
    return best


def _coefficient_map(luma: npt.NDArray[np.float32], box_x: int, box_y: int, rx: int, ry: int) \
        -> npt.NDArray[np.float64]:
    """The embedded coefficient of the 4x4 LL block starting at every LL position of the copy,
    its LL grid starting ``(box - r) % box`` pixels in (so it lines up with offset phase r)."""
    start_y, start_x = (box_y - ry) % box_y, (box_x - rx) % box_x
    part = luma[start_y:, start_x:].astype(np.float64)
    rows, cols = part.shape[0] // box_y, part.shape[1] // box_x
    low = 2.0 * part[:rows * box_y, :cols * box_x].reshape(rows, box_y, cols, box_x).mean(axis=(1, 3))
    kernel = _DCT.T @ _DIRECTION @ _DCT
    windows = np.lib.stride_tricks.sliding_window_view(low, (BLOCK, BLOCK))
    return np.asarray(np.einsum("abij,ij->ab", windows, kernel), dtype=np.float64)


def _read(sums: npt.NDArray[np.float64], counts: npt.NDArray[np.float64], threshold: float) -> Reading | None:
    if np.any(counts < 3):
        return None
    strength = float(np.mean(np.abs(sums) / counts))
    watermark_id = _id_of((sums < 0).astype(np.uint8))
    if strength < threshold or watermark_id is None:
        return None
    return Reading(watermark_id, round(strength, 4))


def psnr(before: Pixels, after: Pixels) -> float:
    """Peak signal-to-noise ratio in dB of ``after`` against ``before`` (all channels). For
    8-bit pixels OpenCV sums the squared error (a whole number, which rounding recovers from
    its double arithmetic: the very sum float64 numpy gives, in a tenth of its time)."""
    if before.dtype == after.dtype == np.uint8 and before.shape == after.shape:
        squared = round(cv2.norm(np.ascontiguousarray(before), np.ascontiguousarray(after), cv2.NORM_L2SQR))
        error = squared / before.size
    else:
        error = float(np.mean((before.astype(np.float64) - after.astype(np.float64)) ** 2))
    return float("inf") if error == 0 else 10 * float(np.log10(255.0 ** 2 / error))


# ---------------------------------------------------------------- transforms


def _luma(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2], dtype=np.float32)


def _coefficients(luma: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The embedded coefficient of each LL block, in layout order (1,024 values)."""
    frame = cv2.resize(luma, (FRAME, FRAME), interpolation=cv2.INTER_AREA).astype(np.float64)
    low = _haar_ll(frame)
    blocks = _blocks(low)
    dct = np.einsum("ij,bjk,lk->bil", _DCT, blocks, _DCT)
    return np.asarray((dct[:, 0, 1] + dct[:, 1, 0]) / np.sqrt(2.0), dtype=np.float64)


def _frame_delta(change: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """The frame-sized luminance change that moves each block's coefficient by ``change``."""
    pixel_basis = _DCT.T @ _DIRECTION @ _DCT  # inverse DCT of the unit direction
    blocks = change[:, None, None] * pixel_basis[None]
    side = FRAME // 2 // BLOCK
    low = blocks.reshape(side, side, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(FRAME // 2, FRAME // 2)
    # inverse Haar with zero detail bands: each LL value spreads over its 2x2 pixels
    return (low.repeat(2, axis=0).repeat(2, axis=1) / 2.0).astype(np.float32)


def _haar_ll(frame: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The orthonormal Haar LL band: each 2x2 sum over 2."""
    return (frame[0::2, 0::2] + frame[1::2, 0::2] + frame[0::2, 1::2] + frame[1::2, 1::2]) / 2.0


def _blocks(low: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    side = low.shape[0] // BLOCK
    return low.reshape(side, BLOCK, side, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _qim(coefficient: npt.NDArray[np.float64], targets: npt.NDArray[np.int_]) -> npt.NDArray[np.float64]:
    """Each coefficient moved to the nearest point of its bit's lattice (dithered)."""
    offset = _DITHER + targets * STEP / 2
    return np.rint((coefficient - offset) / STEP) * STEP + offset


# ---------------------------------------------------------------- payload


def _payload_bits(watermark_id: str) -> npt.NDArray[np.uint8]:
    value = int(watermark_id, 16)
    check = _crc16(value.to_bytes(ID_BITS // 8, "big"))
    word = (value << CHECK_BITS) | check
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], dtype=np.uint8)


def _id_of(bits: npt.NDArray[np.uint8]) -> str | None:
    word = 0
    for bit in bits.tolist():
        word = (word << 1) | int(bit)
    value, check = word >> CHECK_BITS, word & ((1 << CHECK_BITS) - 1)
    if _crc16(value.to_bytes(ID_BITS // 8, "big")) != check:
        return None
    return format(value, f"0{ID_BITS // 4}x")


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return np.asarray(matrix, dtype=np.float64)


def _layout() -> npt.NDArray[np.int_]:
    """Which payload bit each block carries: every bit ``_REPEATS`` times, in a fixed
    pseudo-random order so a damaged region costs each bit a little, not some bits all."""
    order = np.random.default_rng(0x51A7E).permutation(_BLOCKS)
    return (order % PAYLOAD_BITS).astype(np.int_)


_DCT = _dct_matrix(BLOCK)
_LAYOUT = _layout()
_REPEATS = _BLOCKS // PAYLOAD_BITS
_DITHER = np.random.default_rng(0xD17).uniform(0, STEP, _BLOCKS)
_DITHER_GRID = _DITHER[None, None, :]
_ONE_HOT = np.eye(PAYLOAD_BITS)[_LAYOUT]
_DIRECTION = np.zeros((BLOCK, BLOCK))
_DIRECTION[0, 1] = _DIRECTION[1, 0] = 1 / np.sqrt(2.0)


def _LAYOUT_BITS(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:  # noqa: N802 - reads as the table it is
    return bits[_LAYOUT]

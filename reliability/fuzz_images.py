"""Coverage-guided fuzzing (atheris/libFuzzer) of the image intake and verification path.

Seeds: the real C2PA files in ../shared/c2pa-fixtures, a Slate-signed PNG, JPEG and WebP,
truncations, bit flips, a decompression bomb and absurd dimensions. Properties checked on
every input: ``images.inspect`` either accepts or raises ``InvalidInput``; the verifier
always returns a verdict (never raises); an accepted image never exceeds the limits.

    .venv/bin/python reliability/fuzz_images.py -runs=20000     # libFuzzer flags pass through
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

with atheris.instrument_imports():
    from governance.credentials import images
    from governance.credentials.verification import Verifier

from governance.credentials import Issuer  # noqa: E402
from governance.db import open_database  # noqa: E402
from governance.errors import InvalidInput  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.settings import Settings  # noqa: E402

FIXTURES = REPO.parent / "shared" / "c2pa-fixtures"
CASES = 0


def png_with_size(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def seeds(settings: Settings) -> list[bytes]:
    from PIL import Image
    out: list[bytes] = [p.read_bytes() for p in sorted(FIXTURES.glob("*")) if p.suffix in (".jpg", ".png")]
    claim = {"model_name": "fuzz", "model_version": "1", "weights_sha256": "1" * 64, "training_set_root": "2" * 64,
             "policy_uid": "p", "policy_version": "1", "policy_sha256": "3" * 64, "decision_id": "1",
             "request_id": "1", "job_id": "job_fuzz", "prompt_sha256": "4" * 64}
    with Issuer(settings) as issuer:
        for fmt in ("PNG", "JPEG", "WEBP"):
            buffer = io.BytesIO()
            Image.new("RGB", (48, 48), (200, 30, 90)).save(buffer, fmt)
            out.append(issuer.sign(buffer.getvalue(), claim).data)
    signed = out[-3]
    out += [signed[: len(signed) // k] for k in (2, 3, 7)]
    out += [bytes(b ^ 0x40 if i % 997 == 0 else b for i, b in enumerate(signed))]
    out += [png_with_size(100_000, 100_000), png_with_size(0, 0), png_with_size(2**31 - 1, 1)]
    bomb = io.BytesIO()
    Image.new("L", (9000, 9000)).save(bomb, "PNG")
    out.append(bomb.getvalue())
    return out


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="slate-fuzz-"))
    settings = Settings.for_folder(folder, tsa_url="none", max_image_pixels=40_000_000)
    open_database(settings.database_url)
    migrate()
    corpus = folder / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds(settings)):
        (corpus / f"seed-{i}").write_bytes(seed)
    verifier = Verifier(settings)

    def one_input(data: bytes) -> None:
        global CASES
        CASES += 1
        try:
            info = images.inspect(data, settings)
            assert info.width * info.height <= settings.max_image_pixels
            assert len(data) <= settings.max_image_bytes
        except InvalidInput:
            pass
        verdict = verifier.verify_bytes(data)  # must never raise
        assert verdict.outcome and verdict.summary
        if CASES % 1000 == 0:
            print(f"fuzz: {CASES} cases tried so far", flush=True)

    args = [a for a in sys.argv if a != "--"] + [str(corpus)]
    if not any(a.startswith("-max_len") for a in args):
        args.append("-max_len=400000")
    atheris.Setup(args, one_input)
    # libFuzzer ends the process itself (exit code 0, "Done N runs"); any crash, uncaught
    # exception or hang (-timeout) ends it non-zero with the input saved as crash-*
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()

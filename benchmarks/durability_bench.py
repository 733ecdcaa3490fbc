"""Durability benchmark: do Slate's credentials survive what platforms do to images, and what
does the watermark cost per signature?

The outputs: ``--outputs`` (default 200) 512x512 PNGs cut from scikit-image's sample photos
(random crops of 35-80% of each side, some mirrored, resized with Lanczos), seeded. They are
cut from half of the photos, so many outputs are near-duplicates of each other (overlapping
crops of one photo), as a studio's outputs of one prompt are: the hard case for a
fingerprint, the case the watermark is for. ``--negatives`` (default 100) images cut the same
way from the other half are never signed: none may be named as an output.

Each output is signed by ``Issuer.sign`` (real c2pa, real SQLite, timestamps off) with the
watermark on, into a ledger of its own; then each copy is verified by ``Verifier.verify_bytes``
as ``slate verify`` does, with the outputs' faiss index built:

- ``stripped``: the signed pixels re-encoded as PNG with no metadata (what a platform serves);
- ``jpeg75``: re-encoded as JPEG at quality 75;
- ``resize50``: resized to half (Pillow's default bicubic), as PNG;
- ``crop10``: 10% of the width and of the height cut away, split at random between the two
  sides, as PNG.

A copy counts as recovered when the verdict is ``recovered`` and names the output it was
made from; ``recovered`` naming any other output is a wrong match, and so is any negative
(plain or under any transform) that is recovered at all.

The watermark's PSNR is measured between the generator's pixels and the signed file's.

The cost: each output is also signed three ways in a second ledger, interleaved so machine
noise hits all alike: with the watermark and fingerprint (Slate's default), with the
fingerprint only (``SLATE_WATERMARK=off``), and bare (no soft bindings at all: what
signing cost before). ``ratio`` is the default's median time per signature over the bare
one's; ``added_ms`` the difference of the medians.

    .venv/bin/python benchmarks/durability_bench.py [--outputs 200] [--negatives 100]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.auth import users  # noqa: E402
from governance.credentials import Issuer, Verifier, softbinding  # noqa: E402
from governance.db import close_database, open_database  # noqa: E402
from governance.ledger.bindings import index_outputs  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.perception import watermark  # noqa: E402
from governance.settings import Settings  # noqa: E402
from tests.credentials.conftest import CLAIM  # noqa: E402
from tests.perception.images import SAMPLES  # noqa: E402

SIDE = 512
TRANSFORMS = ("stripped", "jpeg75", "resize50", "crop10")


def photos() -> list[Image.Image]:
    found = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in (".png", ".jpg"):
            image = Image.open(path)
            if min(image.size) >= 256:
                found.append(image.convert("RGB"))
    return found


def cut(image: Image.Image, rng: np.random.Generator) -> bytes:
    w, h = image.size
    share = rng.uniform(0.35, 0.8)
    cw, ch = int(w * share), int(h * share)
    x, y = int(rng.uniform(0, w - cw)), int(rng.uniform(0, h - ch))
    out = image.crop((x, y, x + cw, y + ch)).resize((SIDE, SIDE), Image.LANCZOS)
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return png(np.asarray(out))


def png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def transform(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    rgb = pixels(data)
    if kind == "stripped":
        return png(rgb)
    if kind == "jpeg75":
        out = io.BytesIO()
        Image.fromarray(rgb).save(out, "JPEG", quality=75)
        return out.getvalue()
    if kind == "resize50":
        image = Image.fromarray(rgb)
        return png(np.asarray(image.resize((image.width // 2, image.height // 2))))
    h, w = rgb.shape[:2]
    cw, ch = round(w * 0.9), round(h * 0.9)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return png(rgb[y:y + ch, x:x + cw])


def claim(index: int) -> dict[str, Any]:
    return {**CLAIM, "job_id": f"JOB-{index:05d}", "references": []}


def bare_bind(image: bytes, media_type: str, **_: Any) -> Any:
    """Signing as before this change: no watermark, no fingerprint, no soft binding."""
    return softbinding.Bound(image, None)  # type: ignore[arg-type]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure_cost(folder: Path, images: list[bytes]) -> dict[str, float]:
    settings = Settings.for_folder(folder, tsa_url="none")
    open_database(settings.database_url)
    migrate()
    # the claim's approver is a user: signing includes their own approval signature, as in the studio
    users.add_user(str(CLAIM["approver"]), ["approver"])
    times: dict[str, list[float]] = {"with": [], "fingerprint_only": [], "bare": []}
    with Issuer(settings) as full, Issuer(replace(settings, watermark=False)) as plain, Issuer(settings) as bare:
        full.sign(images[0], claim(0))  # warm-up: keys, c2pa context
        for index, image in enumerate(images):
            times["with"].append(timed(lambda: full.sign(image, claim(3 * index + 1))))
            times["fingerprint_only"].append(timed(lambda: plain.sign(image, claim(3 * index + 2))))
            with mock.patch.object(softbinding, "bind", bare_bind):
                times["bare"].append(timed(lambda: bare.sign(image, claim(3 * index + 3))))
    close_database()
    return {name: statistics.median(values) for name, values in times.items()}


def measure_recovery(folder: Path, images: list[bytes], negatives: list[bytes], rng: np.random.Generator) \
        -> dict[str, Any]:
    settings = Settings.for_folder(folder, tsa_url="none")
    open_database(settings.database_url)
    migrate()
    # the claim's approver is a user: signing includes their own approval signature, as in the studio
    users.add_user(str(CLAIM["approver"]), ["approver"])
    signed: list[tuple[str, bytes]] = []
    psnrs: list[float] = []
    with Issuer(settings) as issuer:
        for index, image in enumerate(images):
            output = issuer.sign(image, claim(index))
            signed.append((output.sha256, output.data))
            psnrs.append(watermark.psnr(pixels(image), pixels(output.data)))
    index_outputs(settings.output_index_dir, batch=1)
    verifier = Verifier(settings)
    recovered = {kind: 0 for kind in TRANSFORMS}
    methods: Counter[str] = Counter()
    wrong, verify_ms = 0, []
    for sha256, data in signed:
        for kind in TRANSFORMS:
            copy = transform(data, kind, rng)
            started = time.perf_counter()
            verdict = verifier.verify_bytes(copy)
            verify_ms.append((time.perf_counter() - started) * 1000)
            named = (verdict.facts.get("recovered") or {}).get("sha256") if verdict.outcome == "recovered" else None
            if named == sha256:
                recovered[kind] += 1
                methods[f"{kind}:{verdict.facts['recovered']['method']}"] += 1
            elif named is not None:
                wrong += 1
    negative_hits = 0
    for data in negatives:
        for copy in (data, *(transform(data, kind, rng) for kind in TRANSFORMS)):
            if verifier.verify_bytes(copy).outcome == "recovered":
                negative_hits += 1
    close_database()
    count = len(signed)
    return {"rates": {kind: round(recovered[kind] / count, 4) for kind in TRANSFORMS},
            "wrong_matches": wrong + negative_hits, "negative_hits": negative_hits, "methods": dict(methods),
            "psnr_db": round(statistics.mean(psnrs), 2), "psnr_db_min": round(min(psnrs), 2),
            "verify_ms_median": round(statistics.median(verify_ms), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", type=int, default=200)
    parser.add_argument("--negatives", type=int, default=100)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sources = photos()
    issued_from, held_out = sources[0::2], sources[1::2]
    images = [cut(issued_from[i % len(issued_from)], rng) for i in range(args.outputs)]
    negatives = [cut(held_out[i % len(held_out)], rng) for i in range(args.negatives)]
    print(f"{len(images)} outputs cut from {len(issued_from)} photos; {len(negatives)} never-issued images "
          f"from {len(held_out)} others; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="slate-durability-") as tmp:
        cost = measure_cost(Path(tmp) / "cost", images)
        print(f"sign per output (median): {cost['with']:.1f} ms with watermark+fingerprint, "
              f"{cost['fingerprint_only']:.1f} ms fingerprint only, {cost['bare']:.1f} ms bare (baseline)")
        result = measure_recovery(Path(tmp) / "recovery", images, negatives, rng)
    for kind in TRANSFORMS:
        print(f"recovery {kind:<9} {result['rates'][kind]:.4f}")
    print(f"wrong matches {result['wrong_matches']} (never-issued images recovered: {result['negative_hits']}); "
          f"methods {result['methods']}")
    print(f"watermark PSNR mean {result['psnr_db']} dB, min {result['psnr_db_min']} dB; "
          f"verify of a copy (median) {result['verify_ms_median']} ms")
    summary = {"outputs": len(images), "negatives": len(negatives),
               **{f"recovery_{kind}": result["rates"][kind] for kind in TRANSFORMS},
               "wrong_matches": result["wrong_matches"], "psnr_db": result["psnr_db"],
               "psnr_db_min": result["psnr_db_min"], "sign_ms_with": round(cost["with"], 2),
               "sign_ms_fingerprint_only": round(cost["fingerprint_only"], 2),
               "sign_ms_without": round(cost["bare"], 2),
               "added_ms": round(cost["with"] - cost["bare"], 2), "verify_copy_ms": result["verify_ms_median"],
               "ratio": round(cost["with"] / cost["bare"], 3)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Output review benchmark: what Slate adds per generated 512x512 image before signing, next
to the bare library calls doing the same work, with 100,000 assets in the similarity index.

Slate's path is ``lifecycle.output_review.image_facts``, exactly what output review adds per
image before the policy judges it: decode (with its format and size checks), fingerprints
(``perception.fingerprints``), the 5 nearest assets from the cached faiss index
(``registry.fingerprints.searchable_index``) with where each comes from and its licence
(``provenance.similarity``), the faces (``perception.faces``), the titles and the
production's look. It runs against a real SQLite database (migrated from scratch) holding
the assets, their fingerprint rows, a training set, a watchlist work and ``--requests``
recorded requests naming references (what ``provenance.similarity`` reads for origins); the
request is a real ``GenerationRequest`` row of a production that registered no look (the
look's own cost, for a production with 3 look references, is reported beside it).

The baseline is the same work with no Slate code around it: PIL decoding, ``imagehash.phash``
and the descriptor's numpy/OpenCV arithmetic (``perception.fingerprints.describe``: the
fingerprint's definition), ``search`` on the very faiss index object Slate searches, and
OpenCV's ``CascadeClassifier.detectMultiScale`` with the cascades, copy sizes and settings
``perception/faces.py`` uses (frontal; profile on the image and its mirror).

The index: the real descriptors of scikit-image's sample photos (registered through
``registry.assets.register_asset``, as the operator would), real descriptors of up to 10,000
random crops of them (10-60% of each side, some mirrored, colour-shifted), and for the rest
random mixtures of 2-4 of those with noise (``tests/perception/images.distractor_vectors``).
The bulk's ``Asset`` and ``AssetFingerprint`` rows are written with peewee ``insert_many``
in one transaction; the index is then made from the rows by ``registry.fingerprints.rebuild``
(``slate index rebuild``: ``AssetIndex.build``, persisted with its sidecar), which is the
build throughput reported.

The outputs are four sample photos resized to 512x512 PNGs (astronaut has a face; coffee,
rocket and chelsea none). Runs are interleaved (baseline, Slate, per image) so machine
noise hits both alike; warm-up rounds are discarded.

    .venv/bin/python benchmarks/output_review_bench.py [--assets 100000] [--rounds 40] [--requests 10000]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

import cv2
import imagehash
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.clock import utcnow  # noqa: E402
from governance.db import close_database, open_database, transaction  # noqa: E402
from governance.lifecycle.output_review import NEIGHBOURS, ReviewConfig, image_facts  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.perception import faces  # noqa: E402
from governance.perception.fingerprints import FINGERPRINT_VERSION, describe  # noqa: E402
from governance.policy.tables import GenerationRequest, ReferencedAsset  # noqa: E402
from governance.registry import assets, fingerprints, licences, looks, models_registry, people, training_sets  # noqa: E402
from governance.registry.tables import Asset, AssetFingerprint  # noqa: E402
from governance.settings import Settings  # noqa: E402
from tests.perception.images import SAMPLES, distractor_vectors  # noqa: E402

#: scikit-image's sample photos registered as works (real descriptors)
PHOTOS = ("astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
          "motorcycle_right.png", "retina.jpg", "moon.png", "clock_motion.png", "ihc.png", "brick.png", "grass.png",
          "gravel.png", "coins.png", "page.png", "hubble_deep_field.jpg", "text.png", "cell.png", "color.png",
          "logo.png", "horse.png", "microaneurysms.png", "phantom.png")
#: the outputs reviewed: one with a face, three without
OUTPUTS = ("astronaut.png", "coffee.png", "rocket.jpg", "chelsea.png")
LOOK = ("coffee.png", "rocket.jpg", "chelsea.png")
SIDE = 512
MAX_CROPS = 10_000
PRODUCTION, LOOK_PRODUCTION = "harbour-lights", "night-shoot"
WARMUP = 3


# --- the index -------------------------------------------------------------------------------


def photo(name: str) -> Image.Image:
    return Image.open(SAMPLES / name).convert("RGB")


def media_type(name: str) -> str:
    return "image/jpeg" if name.endswith(".jpg") else "image/png"


def register_photos() -> tuple[list[str], float]:
    """The sample photos registered as the operator would; the fingerprinting rate (images/s)."""
    start = time.perf_counter()
    readings = [fingerprints.read((SAMPLES / name).read_bytes(), media_type(name)) for name in PHOTOS]
    rate = len(PHOTOS) / (time.perf_counter() - start)
    assert all(r.status == fingerprints.INDEXED for r in readings)
    shas = []
    for name in PHOTOS:
        made, _ = assets.register_asset((SAMPLES / name).read_bytes(), media_type=media_type(name), title=name,
                                        licence="LIC-1", watchlist=name == "horse.png")
        shas.append(made["sha256"])
    return shas, rate


def crop_descriptors(count: int, seed: int = 7) -> np.ndarray:
    """Real descriptors of random crops of the photos: 10-60% of each side, half mirrored,
    colour-shifted per channel (flat crops, which registration would skip, are drawn again)."""
    rng = np.random.default_rng(seed)
    pixels = [np.asarray(photo(name)) for name in PHOTOS]
    out = np.zeros((count, fingerprints.DESCRIPTOR_DIM), dtype=np.float32)
    row = 0
    while row < count:
        source = pixels[row % len(pixels)]
        h, w = source.shape[:2]
        ch, cw = (int(s * rng.uniform(0.1, 0.6)) for s in (h, w))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = source[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        shifted = crop.astype(np.float32) * rng.uniform(0.8, 1.2, 3) + rng.uniform(-15, 15, 3)
        vector = describe(np.clip(shifted, 0, 255).astype(np.uint8))
        if abs(float(np.linalg.norm(vector)) - 1) < 1e-3:  # a flat crop has nothing to fingerprint: Slate skips it
            out[row] = vector
            row += 1
    return out


def bulk_vectors(count: int) -> np.ndarray:
    crops = crop_descriptors(min(count, MAX_CROPS))
    if count <= len(crops):
        return crops
    return np.concatenate([crops, distractor_vectors(crops, count - len(crops))])


def insert_bulk(vectors: np.ndarray, batch: int = 2000) -> None:
    """One Asset and one indexed AssetFingerprint row per vector, with insert_many in one transaction."""
    now = utcnow()
    first = (Asset.select(Asset.id).order_by(Asset.id.desc()).scalar() or 0) + 1
    with transaction():
        for start in range(0, len(vectors), batch):
            ids = range(first + start, first + min(start + batch, len(vectors)))
            Asset.insert_many([{"id": i, "sha256": hashlib.sha256(b"bulk-%d" % i).hexdigest(),
                                "media_type": "image/jpeg", "title": f"Library still {i}", "source": "bench",
                                "size_bytes": 250_000, "library": True, "created_at": now, "attributes": {}}
                               for i in ids]).execute()
            AssetFingerprint.insert_many([{"asset": i, "version": FINGERPRINT_VERSION, "phash": f"{i:016x}",
                                           "descriptor": vectors[i - first].astype("<f4").tobytes(),
                                           "status": fingerprints.INDEXED, "created_at": now}
                                          for i in ids]).execute()


def record_requests(count: int, model_id: int, shas: list[str], seed: int = 11) -> None:
    """``count`` recorded requests, each naming 0-3 references among the registered assets."""
    rng = np.random.default_rng(seed)
    now, today = utcnow(), date(2026, 6, 1)
    with transaction():
        for start in range(0, count, 2000):
            GenerationRequest.insert_many([
                {"requester": "pat-producer", "production": PRODUCTION, "use": "previs", "territory": "GB",
                 "request_date": today, "model": model_id,
                 "references": sorted(shas[j] for j in rng.choice(len(shas), rng.integers(0, 4), replace=False)),
                 "people": [], "prompt": f"shot {i}", "prompt_sha256": hashlib.sha256(b"shot %d" % i).hexdigest(),
                 "created_at": now}
                for i in range(start, min(start + 2000, count))]).execute()
        # what saving a request one by one records (bulk inserts bypass GenerationRequest.save)
        ReferencedAsset.remember(sha for (refs,) in GenerationRequest.select(GenerationRequest.references).tuples()
                                 for sha in refs or ())


def request_row(model_id: int, production: str) -> GenerationRequest:
    return GenerationRequest.create(requester="pat-producer", production=production, use="previs", territory="GB",
                                    request_date=date(2026, 6, 1), model=model_id, references=[], people=[],
                                    prompt="a harbour at dawn", prompt_sha256="0" * 64, created_at=utcnow())


# --- the two paths ---------------------------------------------------------------------------


def output_png(name: str) -> bytes:
    out = io.BytesIO()
    photo(name).resize((SIDE, SIDE), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def bare_detector() -> Callable[[np.ndarray], int]:
    """OpenCV's cascades with perception/faces.py's copies and settings; the raw hit count."""
    frontal = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_alt2.xml")  # type: ignore[attr-defined]
    profile = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_profileface.xml")  # type: ignore[attr-defined]

    def scan(cascade: cv2.CascadeClassifier, grey: np.ndarray, side: int, factor: float) -> int:
        scale = min(1.0, side / max(grey.shape))
        size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
        copy = cv2.resize(grey, size, interpolation=cv2.INTER_AREA) if scale < 1 else grey
        return len(cascade.detectMultiScale(np.ascontiguousarray(copy), scaleFactor=factor,
                                            minNeighbors=faces.MIN_NEIGHBOURS))

    def detect(rgb: np.ndarray) -> int:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return (scan(frontal, grey, faces.FRONTAL_SIDE, faces.FRONTAL_SCALE_FACTOR)
                + scan(profile, grey, faces.PROFILE_SIDE, faces.PROFILE_SCALE_FACTOR)
                + scan(profile, grey[:, ::-1], faces.PROFILE_SIDE, faces.PROFILE_SCALE_FACTOR))

    return detect


def bare_path(raw_index: Any) -> Callable[[bytes], tuple[list[int], int]]:
    detect = bare_detector()

    def run(png: bytes) -> tuple[list[int], int]:
        image = Image.open(io.BytesIO(png))
        image.load()
        rgb = image.convert("RGB")
        pixels = np.asarray(rgb)
        imagehash.phash(rgb)
        _, ids = raw_index.search(describe(pixels)[None, :], NEIGHBOURS)
        return ids[0].tolist(), detect(pixels)

    return run


# --- timing ----------------------------------------------------------------------------------


def interleaved(rounds: int, images: list[bytes], baseline: Callable[[bytes], Any],
                slate: Callable[[bytes], Any]) -> tuple[list[float], list[float]]:
    base_t: list[float] = []
    slate_t: list[float] = []
    for index in range(rounds + WARMUP):
        for image in images:
            for fn, out in ((baseline, base_t), (slate, slate_t)):
                start = time.perf_counter()
                fn(image)
                if index >= WARMUP:
                    out.append((time.perf_counter() - start) * 1000)
    return base_t, slate_t


def search_ms(raw_index: Any, images: list[bytes], rounds: int = 50) -> float:
    """Median ms of one bare faiss search (k=5) among the index's assets, on the outputs' descriptors."""
    queries = [describe(np.asarray(Image.open(io.BytesIO(image)).convert("RGB")))[None, :] for image in images]
    times = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            raw_index.search(query, NEIGHBOURS)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def same_work(images: list[bytes], request: GenerationRequest, config: ReviewConfig,
              bare: Callable[[bytes], tuple[list[int], int]]) -> list[int]:
    """Both paths find the same neighbours and faces on every output; the face counts."""
    by_sha = {a.id: a.sha256 for a in Asset.select(Asset.id, Asset.sha256)}
    counts = []
    for image in images:
        facts, _ = image_facts(image, request, config, use="previs")
        ids, hits = bare(image)
        assert [m["asset"] for m in facts["matches"]] == [by_sha[i] for i in ids], (facts["matches"], ids)
        assert facts["faces"] <= hits and (facts["faces"] > 0) == (hits > 0)
        counts.append(facts["faces"])
    assert counts[0] >= 1 and not any(counts[1:]), counts
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=100_000, help="assets in the index")
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds over the 4 outputs")
    parser.add_argument("--requests", type=int, default=10_000, help="recorded requests naming references")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slate-bench-") as folder:
        settings = Settings.for_folder(Path(folder))
        open_database(settings.database_url)
        migrate()
        fingerprints.use_folder(settings.index_dir)
        try:
            result = run(settings, args.assets, args.rounds, args.requests)
        finally:
            fingerprints.use_folder(None)
            close_database()
    print(json.dumps(result))


def run(settings: Settings, total: int, rounds: int, requests: int) -> dict[str, Any]:
    config = ReviewConfig.from_settings(settings)
    people.add_production(PRODUCTION, "Harbour Lights")
    people.add_production(LOOK_PRODUCTION, "Night Shoot")
    licences.add_licence("LIC-1", "Northlight", grants=["ai_training", "previs"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    shas, fingerprint_rate = register_photos()
    training_sets.create_training_set("stills", [(sha, None) for sha in shas[1:6]])
    model = models_registry.register_model("stills-model", "1", "a" * 64, training_set="stills")
    for name in LOOK:
        looks.add_look(LOOK_PRODUCTION, shas[PHOTOS.index(name)], by=None)

    start = time.perf_counter()
    vectors = bulk_vectors(max(0, total - len(PHOTOS)))
    made_s = time.perf_counter() - start
    start = time.perf_counter()
    insert_bulk(vectors)
    insert_s = time.perf_counter() - start
    start = time.perf_counter()
    report = fingerprints.rebuild(config.index_dir, by=None)
    build_s = time.perf_counter() - start
    assert report.ok and report.in_file == total, report
    all_shas = [a.sha256 for a in Asset.select(Asset.sha256)]
    record_requests(requests, model["id"], all_shas)
    request = request_row(model["id"], PRODUCTION)
    look_request = request_row(model["id"], LOOK_PRODUCTION)

    index = fingerprints.searchable_index(config.index_dir)
    assert index is not None and index.count == total
    bare = bare_path(index.index._index)  # the very faiss object Slate searches
    images = [output_png(name) for name in OUTPUTS]
    face_counts = same_work(images, request, config, bare)

    def slate(image: bytes) -> Any:
        return image_facts(image, request, config, use="previs")

    def slate_look(image: bytes) -> Any:
        return image_facts(image, look_request, config, use="previs")

    base_t, slate_t = interleaved(rounds, images, bare, slate)
    look_base_t, look_t = interleaved(max(3, rounds // 4), images, bare, slate_look)
    p50, p95 = statistics.median(slate_t), percentile(slate_t, 0.95)
    base_p50, base_p95 = statistics.median(base_t), percentile(base_t, 0.95)
    look_p95 = percentile(look_t, 0.95)
    search = search_ms(index.index._index, images)
    ratio = p95 / base_p95
    load = os.getloadavg()[0]
    print(f"index: {total} assets ({len(PHOTOS)} photos, {min(len(vectors), MAX_CROPS)} crops of them, "
          f"{max(0, len(vectors) - MAX_CROPS)} mixtures); {requests} recorded requests; faces {face_counts}")
    print(f"fingerprinting real photos: {fingerprint_rate:.0f} images/s; bulk rows inserted "
          f"{len(vectors) / insert_s:,.0f}/s; index build (slate index rebuild) {build_s:.1f} s = "
          f"{total / build_s:,.0f} assets/s "
          f"(descriptors made in {made_s:.1f} s)")
    print(f"{'per 512x512 output':<24}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'bare libraries':<24}{base_p50:>9.1f}{base_p95:>9.1f}")
    print(f"{'Slate image_facts':<24}{p50:>9.1f}{p95:>9.1f}   ratio {ratio:.2f} (targets: <= 1.5, p95 <= 150 ms)")
    print(f"{'  with a 3-photo look':<24}{statistics.median(look_t):>9.1f}{look_p95:>9.1f}   "
          f"(bare {percentile(look_base_t, 0.95):.1f}); {rounds} rounds x {len(images)} outputs; load {load:.2f}")
    print(f"of which one faiss search among {total} assets: median {search:.2f} ms")
    return {"benchmark": "output_review", "assets": total, "requests": requests, "rounds": rounds,
            "outputs": len(images), "side": SIDE, "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
            "baseline_p50_ms": round(base_p50, 2), "baseline_p95_ms": round(base_p95, 2), "ratio": round(ratio, 3),
            "look_p95_ms": round(look_p95, 2), "search_ms": round(search, 3), "build_s": round(build_s, 2),
            "build_assets_per_s": round(total / build_s), "fingerprint_images_per_s": round(fingerprint_rate, 1),
            "load": round(load, 2)}


if __name__ == "__main__":
    main()

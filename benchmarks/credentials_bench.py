"""Slate's sign and verify paths next to bare c2pa-python, same images, same settings, same run.

Slate's sign path is everything ``Issuer.sign`` does: claim and image checks, the c2pa
signature (callback signer, verify-after-sign, no thumbnail), SHA-256 of the output, the
ledger insert and the file write, in one transaction. The baseline is what a careful
user of c2pa-python would write with the same settings and manifest: a ``Builder`` and a
native ``Signer``. Verification: ``Verifier.verify_bytes`` (c2pa read + key pinning +
ledger cross-check) against a bare ``Reader(...).json()``. Timestamps are off in both
(``SLATE_TSA_URL=none``): the TSA round trip is network time, not Slate's.

The check that pixels fit the job (``credentials/pixels.py``, the signing API's, not part
of ``Issuer.sign``) is timed on its own, per image. So is the part of ``Issuer.sign`` the
baseline does not do: building Slate's IPTC XMP packet and splicing it into the PNG
(``credentials/xmp.py``, ``xmp_{side}_ms``), included in Slate's sign figure.

Runs are interleaved (baseline, Slate, baseline, ...) so machine noise hits both alike.

The worker receipt's own check (``receipt_check_ms``, target at most 0.3 ms a signature):
what ``lifecycle.signing.check_receipt`` does for each sign call once the job is loaded
and the image hashed: parse the receipt, find its approved key for the calling user (one
indexed query), verify the Ed25519 signature and compare the fields with the job's.
The last line printed is one JSON object.

    .venv/bin/python benchmarks/credentials_bench.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import c2pa
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from governance.auth import users
from governance.credentials import Issuer, Verifier, c2pa_config, manifest, xmp
from governance.credentials.claim import SigningClaim
from governance.credentials.pixels import check_layout, check_pixel_stream
from governance.db import close_database, open_database
from governance.migrations import migrate
from governance.settings import Settings
from governance.workers import enrolment
from governance.workers.keyfile import WorkerKeyPair
from governance.workers.receipts import Receipt, SignedReceipt

CLAIM = SigningClaim.from_dict({
    "model_name": "slate-demo-sd", "model_version": "2.1.0", "weights_sha256": "1" * 64,
    "training_set_root": "2" * 64, "policy_uid": "studio-policy", "policy_version": "7",
    "policy_sha256": "3" * 64, "decision_id": "DEC-0001", "duties": ["Credit: Ada Performer"],
    "approver": "Grace Approver", "request_id": "REQ-0001", "job_id": "JOB-0001", "prompt_sha256": "4" * 64,
    "training_mining": "notAllowed", "references": [("moodboard.png", "5" * 64)],
})


def generated_like_png(side: int) -> bytes:
    """A gradient with noise: compresses like a generated image, not like a flat fill."""
    gradient = Image.linear_gradient("L").resize((side, side))
    noise = Image.effect_noise((side, side), 24)
    image = Image.merge("RGB", (gradient, noise, gradient.rotate(90)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pixels_check_ms(image: bytes, side: int, rounds: int) -> tuple[float, float]:
    """Median ms of the signing API's check that pixels fit the job: the layout (before
    signing) and the pixel stream (beside c2pa)."""
    layout_t: list[float] = []
    stream_t: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        png = check_layout(image, "JOB-0001", side, side)
        middle = time.perf_counter()
        check_pixel_stream(image, png)
        layout_t.append(middle - start)
        stream_t.append(time.perf_counter() - middle)
    return median_ms(layout_t), median_ms(stream_t)


def xmp_ms(image: bytes, side: int, rounds: int) -> float:
    """Median ms of what signing adds for the XMP packet: build it, splice it into the PNG."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        xmp.embed(image, "image/png", side, side, xmp.packet(CLAIM.model_name, CLAIM.model_version))
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def interleaved(rounds: int, baseline: Callable[[], Any], slate: Callable[[], Any]) -> tuple[list[float], list[float]]:
    base_t: list[float] = []
    slate_t: list[float] = []
    for index in range(rounds + 5):
        for fn, out in ((baseline, base_t), (slate, slate_t)):
            start = time.perf_counter()
            fn()
            if index >= 5:  # warm-up rounds are discarded
                out.append(time.perf_counter() - start)
    return base_t, slate_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="slate-bench-") as folder:
        settings = Settings.for_folder(Path(folder), tsa_url="none")
        open_database(settings.database_url)
        migrate()
        try:
            result = run(settings, args.rounds)
        finally:
            close_database()
    print(json.dumps(result))


def run(settings: Settings, rounds: int) -> dict[str, Any]:
    # the claim's approver is a user: Slate's signing includes their own approval signature
    users.add_user(str(CLAIM.approver), ["approver"])
    issuer = Issuer(settings)
    verifier = Verifier(settings)
    issuer.keys.ensure()
    key = issuer.keys.active_key()
    stem = settings.keys_dir / "signing" / key.fingerprint[:16]
    anchors = issuer.keys.trust_anchors_pem()
    bare_signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, stem.with_suffix(".chain.pem").read_bytes(),
        stem.with_suffix(".key.pem").read_bytes(), None))
    sign_context = c2pa_config.context(c2pa_config.signing_settings(anchors))
    read_context = c2pa_config.context(c2pa_config.reading_settings(anchors))

    result: dict[str, Any] = {"benchmark": "credentials", "rounds": rounds, "c2pa_sdk": c2pa.sdk_version(),
                              "timestamp": "none"}
    print(f"{'path':<28}{'baseline ms':>12}{'slate ms':>10}{'ratio':>8}")
    for side in (512, 1024):
        image = generated_like_png(side)

        def bare_sign() -> bytes:
            definition = manifest.definition(CLAIM, label=manifest.new_label(), title="JOB-0001.png")
            out = io.BytesIO()
            c2pa.Builder(definition, context=sign_context).sign(bare_signer, "image/png", io.BytesIO(image), out)
            return out.getvalue()

        signed = issuer.sign(image, CLAIM).data

        def bare_read() -> str:
            with c2pa.Reader("image/png", io.BytesIO(signed), context=read_context) as reader:
                return reader.json()

        assert verifier.verify_bytes(signed).ok
        base_sign, slate_sign = interleaved(rounds, bare_sign, lambda: issuer.sign(image, CLAIM))
        base_read, slate_read = interleaved(rounds, bare_read, lambda: verifier.verify_bytes(signed))
        for name, base, slate in (("sign", base_sign, slate_sign), ("verify", base_read, slate_read)):
            b, s = median_ms(base), median_ms(slate)
            result[f"{name}_{side}_median_ms"] = s
            result[f"baseline_{name}_{side}_median_ms"] = b
            result[f"{name}_{side}_ratio"] = round(s / b, 3)
            print(f"{name} {side}x{side} PNG ({len(image) // 1024} KiB){'':<3}{b:>10.3f}{s:>10.3f}{s / b:>8.2f}")
        layout, stream = pixels_check_ms(image, side, rounds)
        result[f"pixels_check_{side}_ms"] = round(layout + stream, 3)
        result[f"xmp_{side}_ms"] = xmp_ms(image, side, rounds * 10)
        print(f"IPTC XMP packet built and spliced in {side}x{side}: {result[f'xmp_{side}_ms']:.3f} ms "
              "(part of Slate's sign figure)")
        print(f"pixels fit the job {side}x{side}: layout {layout:.3f} ms before signing, "
              f"pixel stream {stream:.3f} ms beside c2pa")
    result["ratio"] = max(v for k, v in result.items() if k.endswith("_ratio"))
    result["pixels_check_ms"] = max(v for k, v in result.items() if k.startswith("pixels_check_"))
    result["receipt_check_ms"] = receipt_check_ms(rounds * 20)
    print(f"receipt check (parse, key lookup, Ed25519 verify, fields){'':<3}{result['receipt_check_ms']:>8.3f} ms")
    issuer.close()
    return result


def receipt_check_ms(rounds: int) -> float:
    """The median cost of checking one worker receipt, as the signing path does."""
    key = WorkerKeyPair.generate()
    users.add_user("bench-worker", ["generator"])
    users.add_user("bench-admin", ["admin"])
    view = enrolment.enrol(users.principal_named("bench-worker", "generator"), key.public_key, "bench")
    enrolment.approve(view.id, users.principal_named("bench-admin", "admin"))
    expected = {"job_id": "JOB-0001", "image_sha256": "6" * 64, "weights_sha256": "1" * 64, "seed": 7,
                "scheduler": "default", "steps": 25, "width": 512, "height": 512}
    text = key.sign(Receipt(**expected, libraries={"torch": "2.13.0", "diffusers": "0.42.1"},
                            device={"type": "cpu", "machine": "x86_64"}, key_id=key.key_id)).text()

    def check() -> None:
        signed = SignedReceipt.from_text(text)
        signed.verify(enrolment.signing_key(signed.receipt.key_id, "bench-worker"))
        assert not signed.receipt.differences(expected)

    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        check()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


if __name__ == "__main__":
    main()

"""Reading an incoming asset's content credentials at registration, next to bare c2pa-python.

Slate's side is ``registry.intake.read_credentials``: c2pa's ``Reader`` (offline settings),
the signer, validation and training-and-mining entries picked out, and the manifest written
as c2pa's ingredient archive (what a later output names as the reference's ingredient). The
baseline, same file, same run: a bare ``c2pa.Reader(...).json()`` parsed with ``json.loads``,
the least any reading of the manifest must do. Runs alternate so noise hits both alike. The
image is an owner-signed PNG (its own PKI, a CAWG training-and-mining assertion).

    .venv/bin/python benchmarks/intake_bench.py [--rounds 200] [--size 1024]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from governance.credentials import pki
from governance.registry import intake


def owner_signed_png(size: int) -> bytes:
    now = datetime.now(timezone.utc)
    intermediate = pki.make_intermediate(pki.make_root(now), now)
    signer = pki._end_entity("Benchmark Photo Agency", intermediate, now - timedelta(minutes=5),
                             now + timedelta(days=1), [pki.DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION],
                             critical_eku=False)
    key = signer.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256,
                               pki.certificate_pem(signer.certificate, intermediate.certificate).encode(), key, None)
    image = Image.new("RGB", (size, size))
    image.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256) for y in range(size) for x in range(size)])
    raw = io.BytesIO()
    image.save(raw, "PNG")
    definition = {"title": "photo.png", "assertions": [
        {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType":
                                                        "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}},
        {"label": "cawg.training-mining", "data": {"entries": {
            f"cawg.{use}": {"use": "notAllowed"} for use in ("ai_training", "ai_generative_training",
                                                             "ai_inference", "data_mining")}}}]}
    out = io.BytesIO()
    context = c2pa.Context.from_dict({"version": 1, "builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(definition, context=context) as builder:
        builder.sign(c2pa.Signer.from_info(info), "image/png", io.BytesIO(raw.getvalue()), out)
    return out.getvalue()


def bare(data: bytes, context: c2pa.Context) -> dict[str, object]:
    with c2pa.Reader("image/png", io.BytesIO(data), context=context) as reader:
        store: dict[str, object] = json.loads(reader.json())
        return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    data = owner_signed_png(args.size)
    context = c2pa.Context.from_dict({"version": 1, "verify": {"verify_trust": False, "remote_manifest_fetch": False,
                                                               "ocsp_fetch": False}})
    assert intake.read_credentials(data, "image/png", "0" * 64, "photo").training_mining == intake.NOT_ALLOWED
    slate_ms, bare_ms = [], []
    for i in range(args.rounds):
        t0 = time.perf_counter()
        bare(data, context)
        t1 = time.perf_counter()
        intake.read_credentials(data, "image/png", f"{i:064x}", "photo")
        t2 = time.perf_counter()
        bare_ms.append((t1 - t0) * 1000)
        slate_ms.append((t2 - t1) * 1000)
    slate, baseline = statistics.median(slate_ms), statistics.median(bare_ms)
    print(f"owner-signed PNG {args.size}x{args.size}, {len(data):,} bytes, {args.rounds} rounds")
    print(f"credentials at intake (read + ingredient archive): median {slate:.2f} ms | "
          f"bare c2pa Reader.json(): {baseline:.2f} ms | ratio {slate / baseline:.2f}x")
    print(json.dumps({"benchmark": "intake", "intake_ms": round(slate, 3), "baseline_ms": round(baseline, 3),
                      "ratio": round(slate / baseline, 2), "bytes": len(data), "rounds": args.rounds}))


if __name__ == "__main__":
    main()

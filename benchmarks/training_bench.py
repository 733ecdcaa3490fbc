"""A governed LoRA training run through Slate, next to the same diffusers/peft loop called directly.

    .venv/bin/python benchmarks/training_bench.py                                   # micro model, CPU
    .venv/bin/python benchmarks/training_bench.py --device cuda --arch gpu-512 --steps 200

Slate's side is the worker's whole run (``generator.training_runs.process_training_run``)
with Slate's API answered in-process (``InProcessSlate``: the contract's four calls, the
attestation answered with Slate's real OpenSSF signature over the files): the base loaded
through the generator's loader (format checks, identity hashed before and after), every
training file read once and hashed, the Merkle root checked against the set's, diffusers'
and peft's LoRA training with (step, loss) posted every two seconds, the adapter saved with
``slate-model.json``, its identity and file digests computed, the attestation built and
signed with the worker's Ed25519 key, Slate's ``model.sig`` written.

The baseline is what a studio would write without Slate: ``StableDiffusionPipeline.from_pretrained``
on the same base folder, the same files opened with Pillow, ``training.train_lora`` with the
same configuration, ``save_lora``. Runs alternate between the two so a busy machine slows
both alike; the medians are reported. The last line printed is one JSON object
(``governed_s``, ``direct_s``, ``ratio``: governed over direct, target at most 1.1).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from generator.architecture import ARCHITECTURES, MICRO, build_pipeline
from generator.dataset import studio_dataset
from generator.identity import model_identity
from generator.training import TrainingConfig, save_lora, train_lora
from generator.training_runs import process_training_run
from governance.credentials.model_signatures import sign_model_files
from governance.registry.merkle import leaf_key, root_of

LICENCE = "studio-own-work"


class InProcessSlate:
    """Slate's side of the training-run contract, in this process: the worker's calls cost
    what building and signing their answers costs, without a network in between."""

    def __init__(self, spec: Mapping[str, Any], keys_dir: Path) -> None:
        self.spec, self.keys_dir = spec, keys_dir
        self.progress: list[tuple[int, int]] = []

    def claim_training_run(self, run_uid: str) -> Mapping[str, Any]:
        return {"run": run_uid, "lease_expires_at": "2030-01-01T00:00:00Z", "spec": self.spec}

    def training_progress(self, run_uid: str, step: int, total_steps: int, loss: float | None) -> Mapping[str, Any]:
        self.progress.append((step, total_steps))
        return {"run": run_uid}

    def fail_training_run(self, run_uid: str, reason: str) -> Mapping[str, Any]:
        raise SystemExit(f"the governed run failed: {reason}")

    def post_attestation(self, run_uid: str, attestation: Mapping[str, Any], key_id: str,
                         signature: str) -> Mapping[str, Any]:
        bundle = sign_model_files(attestation["output"]["files"], keys_dir=self.keys_dir)
        return {"model": "bench-lora:1", "weights_hash": attestation["output"]["weights_hash"],
                "model_signature": bundle.decode()}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--arch", default=MICRO.name, choices=sorted(ARCHITECTURES),
                        help="the base's architecture (gpu-512: SD-1.x-like depth, 512 px)")
    parser.add_argument("--steps", type=int, default=60, help="LoRA steps per run")
    parser.add_argument("--images", type=int, default=16, help="training images")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args()


def prepare(scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A saved base, a folder of training files with captions, and the run's specification."""
    arch = ARCHITECTURES[args.arch]
    base = scratch / "models" / "base"
    build_pipeline(arch, seed=0).save_pretrained(base, safe_serialization=True)
    data = scratch / "data" / "bench-set"
    data.mkdir(parents=True)
    members = []
    for image in studio_dataset(args.images, size=arch.image_size, seed=0):
        (data / f"frame-{image.index:03d}.png").write_bytes(image.png)
        (data / f"frame-{image.index:03d}.txt").write_text(image.caption)
        members.append({"sha256": hashlib.sha256(image.png).hexdigest(), "licence": LICENCE})
    hyper = {"steps": args.steps, "rank": args.rank, "learning_rate": 1e-3, "batch_size": args.batch_size,
             "seed": 0, "resolution": arch.image_size, "caption_dropout": 0.1}
    return {"production": "BENCH", "method": "lora", "hyperparameters": hyper, "seed": 0,
            "base": {"name": "base", "weights_hash": model_identity(base).digest, "path": str(base)},
            "training_set": {"name": "bench-set", "size": len(members), "members": members,
                             "merkle_root": root_of(leaf_key(m["sha256"], LICENCE) for m in members)},
            "model": {"name": "bench-lora", "version": "1"}}


class Caption:
    """An image and its caption, as the baseline reads them from the folder."""

    def __init__(self, path: Path, size: int) -> None:
        self._image = Image.open(path).convert("RGB").resize((size, size))
        caption = path.with_suffix(".txt")
        self.caption = caption.read_text().strip() if caption.is_file() else ""

    def image(self) -> Image.Image:
        return self._image


ADAPTER = "pytorch_lora_weights.safetensors"


def _adapter_sha256(folder: Path) -> str:
    return hashlib.sha256((folder / ADAPTER).read_bytes()).hexdigest()


def governed(scratch: Path, spec: Mapping[str, Any], args: argparse.Namespace, run: int) -> tuple[float, str]:
    models = scratch / f"governed-{run}"
    slate = InProcessSlate(spec, scratch / "keys")
    started = time.perf_counter()
    outcome = process_training_run(f"run-{run}", client=slate, models_dir=str(models),
                                   key_dir=str(scratch / "worker"), data_dir=str(scratch / "data"),
                                   device=args.device, threads=args.threads)
    seconds = time.perf_counter() - started
    if outcome["status"] != "registered" or not slate.progress:
        raise SystemExit(f"the governed run did not finish: {outcome}")
    adapter = _adapter_sha256(Path(outcome["directory"]))
    shutil.rmtree(models)
    return seconds, adapter


def direct(scratch: Path, spec: Mapping[str, Any], args: argparse.Namespace, run: int) -> tuple[float, str]:
    hyper = spec["hyperparameters"]
    config = TrainingConfig(steps=hyper["steps"], autoencoder_steps=0, batch_size=hyper["batch_size"],
                            learning_rate=hyper["learning_rate"], caption_dropout=hyper["caption_dropout"],
                            seed=spec["seed"], threads=args.threads)
    output = scratch / f"direct-{run}"
    started = time.perf_counter()
    pipeline = StableDiffusionPipeline.from_pretrained(spec["base"]["path"], local_files_only=True,
                                                       dtype=torch.float32).to(args.device)
    images = [Caption(p, hyper["resolution"]) for p in sorted((scratch / "data" / "bench-set").glob("*.png"))]
    train_lora(pipeline, images, config, rank=hyper["rank"], progress=False)
    save_lora(pipeline, output)
    seconds = time.perf_counter() - started
    adapter = _adapter_sha256(output)
    shutil.rmtree(output)
    return seconds, adapter


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        spec = prepare(scratch, args)
        # warm-up (first imports, allocator, kernels), and the check that both sides ran the
        # same loop: on one device and thread count they write byte-identical adapters
        same = governed(scratch, spec, args, -1)[1] == direct(scratch, spec, args, -1)[1]
        governed_s, direct_s = [], []
        for run in range(args.runs):
            governed_s.append(governed(scratch, spec, args, run)[0])
            direct_s.append(direct(scratch, spec, args, run)[0])
    g, d = statistics.median(governed_s), statistics.median(direct_s)
    print(f"model     {args.arch} base, LoRA rank {args.rank}, {args.steps} steps, {args.images} images, "
          f"batch {args.batch_size}, {args.device}, {args.threads} thread(s)")
    print(f"direct    {d:.3f} s per run  (diffusers/peft loop called directly; median of {args.runs})")
    print(f"governed  {g:.3f} s per run  (Slate's worker run: hashing, root check, progress, attestation, "
          f"signing)  {g / d:.3f}x")
    print(f"weights   {'byte-identical adapters on both sides' if same else 'the adapters differ'}")
    print(json.dumps({"benchmark": "training", "governed_s": round(g, 3), "direct_s": round(d, 3),
                      "ratio": round(g / d, 3), "device": args.device, "arch": args.arch, "steps": args.steps,
                      "images": args.images, "runs": args.runs, "threads": args.threads,
                      "same_weights": same}))


if __name__ == "__main__":
    main()

"""Generation speed through Slate, next to the same pipeline called directly in diffusers.

    .venv/bin/python benchmarks/generation_bench.py                  # bundled model, CPU
    .venv/bin/python benchmarks/generation_bench.py --device cuda --size 512 --fp16

Slate's path is the production one: ``load_model`` (format checks, identity) then
``generate`` (job validation, fresh scheduler, pinned threads, PNG encoding, record).
The baseline loads the same directory with ``StableDiffusionPipeline.from_pretrained``
and calls it with the same arguments. Runs alternate between the two so a busy machine
slows both alike; the median is reported. The last line printed is one JSON object.

The reproduction audit's cost is measured beside them: the generator's ``reproduce`` for
the job (the model loaded again in the recorded pixel environment, warm after the first
call) and the pixel comparison with the original image (``reproduction.compare``), against
the original generation (``reproduction_ratio``, target at most 1.2).

Model: the bundled model under $SLATE_MODELS_DIR/slate-studio if it has been built,
otherwise the same architecture built from configs (untrained weights run exactly as fast).
With ``--size 512`` a larger SD-1.x-like architecture is built from configs instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from diffusers import StableDiffusionPipeline

from generator.architecture import GPU_512, SLATE_STUDIO, build_pipeline
from generator.environment import pixel_environment
from generator.generate import GenerationJob, ModelRef, generate
from generator.loader import LoadOptions, load_model
from generator.service import reproduce
from governance.lifecycle.reproduction import compare
from governance.settings import Settings

PROMPT = "a large teal circle centre on ivory background, slate studio style"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--size", type=int, default=None, help="image side (default: the model's)")
    parser.add_argument("--steps", type=int, default=None, help="steps (default: the model's)")
    parser.add_argument("--fp16", action="store_true", help="float16 weights (CUDA)")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 weights")
    parser.add_argument("--runs", type=int, default=6, help="timed images per side")
    parser.add_argument("--warmup", type=int, default=2, help="untimed images per side first")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet (both sides)")
    parser.add_argument("--model-dir", type=Path, default=None, help="any diffusers SD directory")
    return parser.parse_args()


def model_directory(args: argparse.Namespace, scratch: Path) -> tuple[Path, str, int, int]:
    """The directory to benchmark, its label, and its default size and steps."""
    arch = GPU_512 if (args.size or 0) > SLATE_STUDIO.image_size * 2 else SLATE_STUDIO
    if args.model_dir:
        return args.model_dir, str(args.model_dir), args.size or 512, args.steps or 25
    bundled = Settings.from_env().models_dir / "slate-studio"
    if arch is SLATE_STUDIO and (bundled / "model_index.json").is_file():
        return bundled, "slate-studio (bundled, trained)", arch.image_size, arch.default_steps
    build_pipeline(arch).save_pretrained(scratch / arch.name)
    return scratch / arch.name, f"{arch.name} (built from configs)", arch.image_size, arch.default_steps


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    dtype = "float16" if args.fp16 else "bfloat16" if args.bf16 else "float32"
    with tempfile.TemporaryDirectory() as scratch:
        directory, label, size, steps = model_directory(args, Path(scratch))
        size, steps = args.size or size, args.steps or steps
        options = LoadOptions(device=args.device, dtype=dtype, threads=args.threads,
                              compile=args.compile)
        loaded = load_model(directory, options)
        baseline = StableDiffusionPipeline.from_pretrained(
            str(directory), local_files_only=True, dtype=loaded.dtype).to(args.device)
        baseline.set_progress_bar_config(disable=True)
        if args.compile:
            baseline.unet = torch.compile(baseline.unet, mode="max-autotune-no-cudagraphs")
        ref = ModelRef("bench", "1", loaded.weights_hash)

        made: dict[int, bytes] = {}

        def slate(seed: int) -> None:
            made[seed] = generate(loaded, GenerationJob(job_id=f"bench-{seed}", model=ref, prompt=PROMPT,
                                                        seed=seed, steps=steps, guidance=7.5,
                                                        width=size, height=size)).png

        environment = pixel_environment(loaded.device, loaded.dtype, loaded.threads, 1, options.to_dict(),
                                        loaded.libraries)
        verdicts: list[str] = []

        def reproduction(seed: int) -> None:
            spec = {"job_id": f"bench-{seed}", "prompt": PROMPT,
                    "params": {"seed": seed, "steps": steps, "guidance": 7.5, "width": size, "height": size,
                               "scheduler": None},
                    "model": {"name": "bench", "version": "1", "weights_hash": loaded.weights_hash,
                              "path": str(directory)}}
            verdicts.append(compare(made[seed], reproduce(spec, environment)).verdict)

        def direct(seed: int) -> None:
            baseline(PROMPT, num_inference_steps=steps, guidance_scale=7.5, height=size,
                     width=size, generator=torch.Generator("cpu").manual_seed(seed))

        for seed in range(args.warmup):
            slate(seed)
            direct(seed)
            reproduction(seed)
        slate_times, direct_times, reproduction_times = [], [], []
        for seed in range(args.runs):
            slate_times.append(timed(slate, seed, args.device))
            direct_times.append(timed(direct, seed, args.device))
            reproduction_times.append(timed(reproduction, seed, args.device))

    slate_s, direct_s = statistics.median(slate_times), statistics.median(direct_times)
    reproduce_s = statistics.median(reproduction_times)
    print(f"model     {label}, {size}x{size}, {steps} steps, {args.device} {dtype}, "
          f"{args.threads} threads, {args.runs} runs (median)")
    print(f"slate     {slate_s:.3f} s/image  {1 / slate_s:.2f} images/s")
    print(f"diffusers {direct_s:.3f} s/image  {1 / direct_s:.2f} images/s")
    print(f"reproduce {reproduce_s:.3f} s/image  {reproduce_s / slate_s:.2f}x the original generation "
          f"(target <= 1.2x); verdicts: {', '.join(sorted(set(verdicts)))}")
    print(json.dumps({
        "benchmark": "generation", "model": label, "device": args.device, "dtype": dtype,
        "size": size, "steps": steps, "threads": args.threads, "runs": args.runs,
        "slate_s_per_image": round(slate_s, 4), "slate_images_per_s": round(1 / slate_s, 3),
        "baseline_s_per_image": round(direct_s, 4), "baseline_images_per_s": round(1 / direct_s, 3),
        "ratio": round(slate_s / direct_s, 3),
        "reproduction_s_per_image": round(reproduce_s, 4), "reproduction_ratio": round(reproduce_s / slate_s, 3),
        "reproduction_verdicts": sorted(set(verdicts)),
    }))


def timed(function, seed: int, device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    function(seed)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

"""What, besides the job and the weights, decides the pixels: recorded with every image.

On a CPU, the same job on the same model in the same environment gives byte-identical
pixels. "Same environment" means the values ``pixel_environment`` records: the torch
thread count (it changes the order of float sums), the batch the image was generated in,
the device and dtype, and the versions of the libraries that do the arithmetic.
"""

from __future__ import annotations

import platform
from contextlib import contextmanager
from importlib import metadata
from typing import Any, Iterator

import torch

LIBRARIES = ("torch", "diffusers", "transformers", "safetensors", "peft", "numpy", "pillow")


@contextmanager
def pinned_threads(count: int | None) -> Iterator[None]:
    """Run a block with torch's intra-op thread count fixed (``None``: leave it)."""
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def device_description(device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        return {"type": "cuda", "name": torch.cuda.get_device_name(device),
                "capability": ".".join(map(str, torch.cuda.get_device_capability(device))),
                "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    return {"type": device.type, "machine": platform.machine(),
            "processor": platform.processor() or "unknown"}


def pixel_environment(device: torch.device, dtype: torch.dtype, threads: int,
                      batch_size: int, options: dict[str, Any],
                      libraries: dict[str, str] | None = None) -> dict[str, Any]:
    """The environment that affects pixels, as one JSON-ready value."""
    return {
        "device": device_description(device),
        "dtype": str(dtype).removeprefix("torch."),
        "torch_threads": threads,
        "batch_size": batch_size,
        "python": platform.python_version(),
        "libraries": libraries if libraries is not None else library_versions(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "options": options,
    }

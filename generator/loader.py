"""Loading a model from a local diffusers directory, offline, with its identity.

Any diffusers pipeline directory works: Slate's bundled model, a studio's Stable
Diffusion fine-tune, optionally with LoRA adapters. Nothing is fetched from a hub
(``local_files_only``), pickled weights are refused unless asked for, and the directory is
checked before diffusers sees it, so a missing or damaged file is reported by name rather
than as a library's stack trace. The identity is computed from the same files at load
time (and again once loaded, to catch a file replaced while diffusers read it); the
worker compares it with the registered model before every job.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import diffusers
import torch
from diffusers import DiffusionPipeline

from governance.credentials.model_signatures import verify_model_signature
from governance.errors import InvalidInput, ModelIdentityError

from .environment import library_versions, pinned_threads
from .errors import ModelLoadError
from .identity import ModelIdentity, combined_identity, model_identity

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ATTENTION = ("sdpa", "eager")
#: Components that carry weights; the others (tokenizer, scheduler...) carry configs.
WEIGHTED_LIBRARIES = {"diffusers", "transformers"}
NON_WEIGHTED_CLASSES = ("Tokenizer", "Scheduler", "ImageProcessor", "FeatureExtractor",
                        "Processor")
CONFIG_FILES = ("config.json", "scheduler_config.json", "tokenizer_config.json",
                "preprocessor_config.json", "tokenizer.json", "vocab.json")


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter directory (as written by ``save_lora_weights``) and its strength."""

    path: Path
    scale: float = 1.0


@dataclass(frozen=True)
class LoadOptions:
    """How to run a model; every field here can change speed, and some change pixels."""

    device: str = "auto"          # "auto" | "cpu" | "cuda" | "cuda:1" | "mps"
    dtype: str = "auto"           # "auto" | "float32" | "float16" | "bfloat16"
    attention: str = "sdpa"       # "sdpa" (torch scaled_dot_product_attention) | "eager"
    compile: bool = False         # torch.compile the UNet (slow first call, faster after)
    cpu_offload: bool = False     # keep idle components in CPU memory (CUDA only)
    threads: int | None = None    # torch intra-op threads on CPU; None: torch's default
    batch_size: int = 1           # jobs generated together
    allow_pickle: bool = False    # accept .bin/.ckpt weights (pickles can run code)
    lora: tuple[LoraAdapter, ...] = ()
    #: Slate's model-signing public key (PEM file): when set, the model folder must carry
    #: Slate's ``model.sig`` over its files, checked before anything is read
    signature_key: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "dtype": self.dtype, "attention": self.attention,
                "compile": self.compile, "cpu_offload": self.cpu_offload,
                "threads": self.threads, "batch_size": self.batch_size,
                "lora": [{"path": str(a.path), "scale": a.scale} for a in self.lora]}


@dataclass
class LoadedModel:
    """A pipeline ready to generate, with what identifies it and how it runs."""

    pipeline: DiffusionPipeline
    identity: ModelIdentity
    directory: Path
    device: torch.device
    dtype: torch.dtype
    threads: int
    options: LoadOptions
    libraries: dict[str, str] = field(default_factory=dict)
    #: The scheduler the model was saved with; jobs get a fresh copy (schedulers keep state).
    default_scheduler: Any = None

    def __post_init__(self) -> None:
        if self.default_scheduler is None:
            self.default_scheduler = getattr(self.pipeline, "scheduler", None)

    @property
    def weights_hash(self) -> str:
        return self.identity.digest

    @property
    def pixel_multiple(self) -> int:
        """Image sides must be a multiple of this (the autoencoder's downscale)."""
        return int(getattr(self.pipeline, "vae_scale_factor", 8))


#: A trained LoRA model's folder holds its adapter and this file naming its base
#: (``{"format": "slate-lora/1", "base": {"name", "weights_hash"}, "scale"}``); being JSON,
#: it is part of the adapter's identity, so the base it names is part of the model's.
LORA_MODEL_FILE = "slate-model.json"
LORA_MODEL_FORMAT = "slate-lora/1"


@dataclass(frozen=True)
class LoraModel:
    """What a LoRA model's ``slate-model.json`` says: its base, and the adapter's strength."""

    base_name: str
    base_weights_hash: str
    scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"format": LORA_MODEL_FORMAT, "scale": self.scale,
                "base": {"name": self.base_name, "weights_hash": self.base_weights_hash}}


def read_lora_model(directory: Path) -> LoraModel | None:
    """The base a LoRA model folder names, or None for a full diffusers model folder."""
    path = Path(directory) / LORA_MODEL_FILE
    if not path.is_file():
        return None
    value = _read_json(path)
    try:
        base = value["base"]
        if value.get("format") != LORA_MODEL_FORMAT:
            raise ValueError(value.get("format"))
        return LoraModel(base_name=str(base["name"]), base_weights_hash=str(base["weights_hash"]),
                         scale=float(value.get("scale", 1.0)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelLoadError(f"{LORA_MODEL_FILE} in {directory} is not a {LORA_MODEL_FORMAT} description",
                             hint="it names the base model: {\"format\", \"base\": {\"name\", "
                                  "\"weights_hash\"}, \"scale\"}") from None


def lora_base_directory(directory: Path, lora: LoraModel) -> Path:
    """The base a LoRA model folder names: the folder of that name beside it, whose identity
    must be the one named (a base replaced beside the adapter is refused, not used)."""
    base = Path(directory).resolve().parent / lora.base_name
    if not base.is_dir():
        raise ModelLoadError(f"LoRA model {Path(directory).name} needs its base model {lora.base_name}, "
                             f"which is not in {base.parent}",
                             hint=f"put the base model's folder beside it, named {lora.base_name}")
    found = model_identity(base).digest
    if found != lora.base_weights_hash:
        raise ModelIdentityError(f"the base model in {base} ({found[:12]}…) is not the base "
                                 f"{lora.base_name} ({lora.base_weights_hash[:12]}…) that LoRA model "
                                 f"{Path(directory).name} was trained on")
    return base


def load_model(directory: Path | str, options: LoadOptions = LoadOptions()) -> LoadedModel:
    """Check, hash and load the model in ``directory``; raise ``ModelLoadError`` if unusable.

    A LoRA model folder (``slate-model.json``) loads as its base with its adapter applied;
    its identity is ``combined_identity`` of the base and the adapter folder. With
    ``options.signature_key``, the folder's ``model.sig`` is verified first."""
    directory = Path(directory)
    if options.signature_key is not None:
        verify_model_signature(directory, options.signature_key)
    lora = read_lora_model(directory)
    if lora is not None:
        base = lora_base_directory(directory, lora)
        adapters = (LoraAdapter(directory, lora.scale), *options.lora)
        loaded = load_model(base, replace(options, lora=adapters, signature_key=None))
        loaded.directory = directory
        return loaded
    index = check_model_directory(directory, allow_pickle=options.allow_pickle)
    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    _check_options(options, device)
    identity = _identity(directory, options)
    threads = options.threads or torch.get_num_threads()
    with pinned_threads(threads):
        pipeline = _from_pretrained(directory, index, dtype, options)
        _apply_lora(pipeline, options.lora)
        _place(pipeline, device, options)
    # diffusers reads the files again after they were hashed: a file replaced in between
    # would generate under the registered identity. Hashing once more after loading
    # catches a replacement that stays (about a second per GB of weights, once per load);
    # one put back before this second hash is only ruled out by a model folder the
    # worker cannot write (docs/threat-model.md).
    if _identity(directory, options).digest != identity.digest:
        raise ModelLoadError(f"the model files in {directory} changed while they were being loaded, so what "
                             "was loaded is not what was hashed; nothing was loaded",
                             hint="make model folders read-only to the worker, then load again")
    pipeline.set_progress_bar_config(disable=True)
    log.info("loaded %s (%s) on %s as %s, identity %s", directory, index["_class_name"],
             device, dtype, identity.digest)
    return LoadedModel(pipeline=pipeline, identity=identity, directory=directory,
                       device=device, dtype=dtype, threads=threads, options=options,
                       libraries=library_versions())


def _identity(directory: Path, options: LoadOptions) -> ModelIdentity:
    return combined_identity(model_identity(directory), [(model_identity(a.path), a.scale) for a in options.lora])


def check_model_directory(directory: Path, allow_pickle: bool = False) -> dict[str, Any]:
    """Raise ``ModelLoadError`` naming what is missing; return ``model_index.json``."""
    if not directory.is_dir():
        raise ModelLoadError(f"model directory {directory} does not exist",
                             hint="set SLATE_MODELS_DIR or pass the folder that holds model_index.json")
    index_path = directory / "model_index.json"
    if not index_path.is_file():
        raise ModelLoadError(
            f"{directory} is not a diffusers model directory: model_index.json is missing",
            hint="a single-file checkpoint (.safetensors/.ckpt) must first be converted to a "
                 "diffusers folder, e.g. with pipeline.save_pretrained()")
    index = _read_json(index_path)
    class_name = index.get("_class_name") if isinstance(index, dict) else None
    if (not isinstance(index, dict) or not isinstance(class_name, str)
            or not isinstance(getattr(diffusers, class_name, None), type)):
        raise ModelLoadError(f"model_index.json in {directory} names no known diffusers "
                             f"pipeline class ({class_name!r})")
    for name, spec in _components(index):
        _check_component(directory, name, spec, allow_pickle)
    return index


def _components(index: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [(name, spec) for name, spec in index.items()
            if not name.startswith("_") and isinstance(spec, list) and len(spec) == 2
            and spec[0] is not None and spec[1] is not None]


def _check_component(directory: Path, name: str, spec: list[Any], allow_pickle: bool) -> None:
    folder = directory / name
    if not folder.is_dir():
        raise ModelLoadError(f"model directory {directory} lacks the '{name}' folder that "
                             "model_index.json lists", hint="the copy may be incomplete")
    configs = [folder / f for f in CONFIG_FILES if (folder / f).is_file()]
    if not configs:
        raise ModelLoadError(f"'{name}' in {directory} has no configuration file")
    for config in configs:
        if config.suffix == ".json":
            _read_json(config)
    library, class_name = spec
    if library not in WEIGHTED_LIBRARIES or class_name.endswith(NON_WEIGHTED_CLASSES):
        return
    if not any(folder.glob("*.safetensors")):
        pickled = [p for p in folder.iterdir() if p.suffix in (".bin", ".ckpt", ".pt", ".pth")]
        if not pickled:
            raise ModelLoadError(f"'{name}' in {directory} has no weight files",
                                 hint="expected *.safetensors; the copy may be incomplete")
        if not allow_pickle:
            raise ModelLoadError(
                f"'{name}' in {directory} has only pickled weights ({pickled[0].name})",
                hint="convert them to safetensors, or load with allow_pickle if you trust "
                     "the source: pickles can run code when loaded")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path.parent.name}/{path.name} cannot be read as JSON ({exc})",
                             hint="the model directory may be damaged") from None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidInput(f"unknown device '{name}'", hint="use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("device 'cuda' was asked for but no CUDA GPU is available",
                           hint="use --device cpu (or auto) on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidInput("device 'mps' was asked for but is not available")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise InvalidInput(f"unknown dtype '{name}'", hint=f"use one of {', '.join(DTYPES)}")
    if name == "float16" and device.type == "cpu":
        raise InvalidInput("float16 is not supported on CPU", hint="use float32 or bfloat16")
    return DTYPES[name]


def _check_options(options: LoadOptions, device: torch.device) -> None:
    if options.attention not in ATTENTION:
        raise InvalidInput(f"unknown attention '{options.attention}'", hint="use sdpa or eager")
    if options.cpu_offload and device.type != "cuda":
        raise InvalidInput("CPU offload only makes sense with a CUDA device")
    if options.batch_size < 1:
        raise InvalidInput("batch size must be at least 1")
    if options.threads is not None and options.threads < 1:
        raise InvalidInput("thread count must be at least 1")


def _from_pretrained(directory: Path, index: dict[str, Any], dtype: torch.dtype,
                     options: LoadOptions) -> DiffusionPipeline:
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": dtype,
                              "use_safetensors": not options.allow_pickle}
    try:
        pipeline = DiffusionPipeline.from_pretrained(str(directory), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        log.exception("diffusers could not load %s", directory)
        raise ModelLoadError(
            f"{directory} could not be loaded as a {index['_class_name']}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
            hint="check that every component's weights match its config; the worker log "
                 "has the full error") from None
    withhold_prompt_text(pipeline)
    return pipeline


def _apply_lora(pipeline: DiffusionPipeline, adapters: Sequence[LoraAdapter]) -> None:
    if not adapters:
        return
    if not hasattr(pipeline, "load_lora_weights"):
        raise ModelLoadError(f"{type(pipeline).__name__} does not accept LoRA adapters")
    names = []
    for number, adapter in enumerate(adapters):
        name = f"adapter{number}"
        try:
            pipeline.load_lora_weights(str(adapter.path), adapter_name=name, local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"LoRA adapter {adapter.path} could not be applied: "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None
        names.append(name)
    pipeline.set_adapters(names, adapter_weights=[a.scale for a in adapters])


def _place(pipeline: DiffusionPipeline, device: torch.device, options: LoadOptions) -> None:
    processor = _attention_processor(options.attention)
    for component in pipeline.components.values():
        if not isinstance(component, torch.nn.Module):
            continue
        set_processor = getattr(component, "set_attn_processor", None)  # a module's own method, if it has one
        if set_processor is not None:
            set_processor(processor)
    if options.cpu_offload:
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.to(device)
    if options.compile:
        denoiser = getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)
        if denoiser is not None:
            compiled = torch.compile(denoiser, mode="max-autotune-no-cudagraphs")
            setattr(pipeline, "unet" if hasattr(pipeline, "unet") else "transformer", compiled)


def _attention_processor(name: str) -> Any:
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0
    return AttnProcessor2_0() if name == "sdpa" else AttnProcessor()


class _NoPromptText(logging.Filter):
    """Drops diffusers' warning that quotes the part of a prompt the text encoder cut off: a
    prompt is confidential and never reaches a log line, not even in part."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("The following part of your input was truncated")


_NO_PROMPT_TEXT = _NoPromptText()


def withhold_prompt_text(pipeline: DiffusionPipeline) -> None:
    """Install the filter on the logger of every module the pipeline's class (and those it
    inherits ``encode_prompt`` from) logs with; a logger's filter sees that logger's records."""
    for cls in type(pipeline).__mro__:
        logging.getLogger(cls.__module__).addFilter(_NO_PROMPT_TEXT)

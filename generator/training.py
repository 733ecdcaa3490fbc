"""Fine-tuning a pipeline on captioned images, reproducibly, on a CPU.

Two phases, both seeded from one number so a fixed number of steps gives byte-identical
weights run to run (same machine, same thread count, same library versions):

1. the autoencoder learns to reconstruct the images (on random crops: it is fully
   convolutional, and crops make each step four times cheaper), then its latent scale is
   set so latents have unit variance, as Stable Diffusion's VAE does;
2. the UNet learns to predict the noise added to those latents, conditioned on the
   captions through the (frozen) text encoder; one caption in ten is dropped so
   classifier-free guidance has an unconditional branch to push against.

Whether it learned is measured, not guessed: the noise-prediction loss on a fixed set
of (image, timestep, noise) triples, before and after the UNet phase.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline
from PIL import Image
from tqdm.auto import tqdm

from .architecture import training_scheduler
from .environment import pinned_threads

#: Called after each UNet step with (step, total steps, loss): how a governed run reports progress.
StepCallback = Callable[[int, int, float], None]


class CaptionedImage(Protocol):
    """What training reads of an image: its pixels (RGB, all of one size) and its caption.
    ``dataset.StudioImage`` is one; so is ``training_data.LoadedImage``, read from a folder."""

    @property
    def caption(self) -> str: ...

    def image(self) -> Image.Image: ...


@dataclass(frozen=True)
class TrainingConfig:
    steps: int = 600
    autoencoder_steps: int = 300
    batch_size: int = 8
    learning_rate: float = 1e-3
    autoencoder_learning_rate: float = 1e-3
    crop: int = 64
    caption_dropout: float = 0.1
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did and how well: values, never prints."""

    config: TrainingConfig
    images: int
    losses: tuple[float, ...]
    autoencoder_losses: tuple[float, ...]
    eval_loss_before: float
    eval_loss_after: float
    latent_scale: float
    seconds: float
    parameters_trained: int
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def improvement(self) -> float:
        """How many times smaller the fixed evaluation loss became."""
        return self.eval_loss_before / max(self.eval_loss_after, 1e-12)

    def summary(self) -> dict[str, object]:
        return {
            "steps": self.config.steps,
            "autoencoder_steps": self.config.autoencoder_steps,
            "images": self.images,
            "eval_loss_before": round(self.eval_loss_before, 6),
            "eval_loss_after": round(self.eval_loss_after, 6),
            "improvement": round(self.improvement, 2),
            "seconds": round(self.seconds, 1),
            "threads": self.config.threads,
            "seed": self.config.seed,
        }


def images_to_tensor(images: Sequence[CaptionedImage]) -> torch.Tensor:
    """RGB images as one float tensor in [-1, 1], channels first."""
    arrays = [np.asarray(image.image(), dtype=np.float32) for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0


def train(pipeline: StableDiffusionPipeline, images: Sequence[CaptionedImage],
          config: TrainingConfig = TrainingConfig(), progress: bool = True,
          on_step: StepCallback | None = None) -> TrainingReport:
    """Fine-tune ``pipeline`` in place on ``images``; return what happened."""
    return _run(pipeline, images, config, progress, lora_rank=None, on_step=on_step)


def train_lora(pipeline: StableDiffusionPipeline, images: Sequence[CaptionedImage],
               config: TrainingConfig = TrainingConfig(autoencoder_steps=0), rank: int = 4,
               progress: bool = True, on_step: StepCallback | None = None) -> TrainingReport:
    """Train a peft LoRA adapter on the UNet's attention, leaving the base weights as they are."""
    if config.autoencoder_steps:
        raise ValueError("a LoRA run trains only the adapter: set autoencoder_steps=0")
    return _run(pipeline, images, config, progress, lora_rank=rank, on_step=on_step)


def _run(pipeline: StableDiffusionPipeline, images: Sequence[CaptionedImage],
         config: TrainingConfig, progress: bool, lora_rank: int | None,
         on_step: StepCallback | None = None) -> TrainingReport:
    if not images:
        raise ValueError("cannot train on an empty set of images")
    with pinned_threads(config.threads):
        torch.manual_seed(config.seed)
        # random draws come from one CPU generator whatever the device, so a seed means
        # the same noise on a GPU as on a CPU; tensors move to the model's device after
        generator = torch.Generator().manual_seed(config.seed)
        pixels = images_to_tensor(images).to(_device_of(pipeline), _dtype_of(pipeline))
        started = time.perf_counter()
        bar = tqdm(total=config.autoencoder_steps + config.steps, disable=not progress,
                   desc="training", unit="step")
        with bar:
            ae_losses = _train_autoencoder(pipeline, pixels, config, generator, bar)
            latents, scale = _encode_latents(pipeline, pixels, rescale=lora_rank is None)
            conditions, unconditional = _encode_captions(pipeline, [i.caption for i in images])
            evaluate = _fixed_evaluation(latents, conditions, config.seed)
            before = evaluate(pipeline)
            parameters = _trainable_unet_parameters(pipeline, lora_rank)
            losses = _train_unet(pipeline, parameters, latents, conditions, unconditional,
                                 config, generator, bar, on_step)
            after = evaluate(pipeline)
        trained = sum(p.numel() for p in parameters)
        if config.autoencoder_steps:
            trained += sum(p.numel() for p in pipeline.vae.parameters())
        return TrainingReport(
            config=config, images=len(images), losses=tuple(losses),
            autoencoder_losses=tuple(ae_losses), eval_loss_before=before, eval_loss_after=after,
            latent_scale=scale, seconds=time.perf_counter() - started,
            parameters_trained=trained, extra={"lora_rank": lora_rank} if lora_rank else {},
        )


def _device_of(pipeline: StableDiffusionPipeline) -> torch.device:
    parameter: torch.nn.Parameter = next(pipeline.unet.parameters())
    return parameter.device


def _dtype_of(pipeline: StableDiffusionPipeline) -> torch.dtype:
    parameter: torch.nn.Parameter = next(pipeline.unet.parameters())
    return parameter.dtype


def _trainable_unet_parameters(pipeline: StableDiffusionPipeline,
                               lora_rank: int | None) -> list[torch.nn.Parameter]:
    unet = pipeline.unet
    if lora_rank is None:
        return list(unet.parameters())
    from peft import LoraConfig
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=lora_rank, lora_alpha=lora_rank, init_lora_weights="gaussian",
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    return [p for p in unet.parameters() if p.requires_grad]


def _batches(count: int, batch_size: int, steps: int,
             generator: torch.Generator) -> Iterator[torch.Tensor]:
    for _ in range(steps):
        yield torch.randint(0, count, (min(batch_size, count),), generator=generator)


def _train_autoencoder(pipeline: StableDiffusionPipeline, pixels: torch.Tensor,
                       config: TrainingConfig, generator: torch.Generator,
                       bar: tqdm) -> list[float]:
    vae = pipeline.vae
    vae.train()
    optimiser = torch.optim.AdamW(vae.parameters(), lr=config.autoencoder_learning_rate)
    crop = min(config.crop, pixels.shape[-1])
    losses = []
    for index in _batches(len(pixels), config.batch_size, config.autoencoder_steps, generator):
        top, left = torch.randint(0, pixels.shape[-1] - crop + 1, (2,), generator=generator).tolist()
        batch = pixels[index.to(pixels.device), :, top:top + crop, left:left + crop]
        posterior = vae.encode(batch).latent_dist
        reconstruction = vae.decode(posterior.sample(generator=generator)).sample
        loss = F.mse_loss(reconstruction, batch) + 1e-6 * posterior.kl().mean()
        losses.append(_step(optimiser, loss, bar, "autoencoder"))
    vae.eval()
    return losses


def _step(optimiser: torch.optim.Optimizer, loss: torch.Tensor, bar: Any, phase: str) -> float:
    """One optimiser step on ``loss``; the loss value, also shown on the progress bar."""
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    value = loss.item()
    bar.set_postfix(phase=phase, loss=f"{value:.4f}")
    bar.update(1)
    return value


@torch.no_grad()
def _encode_latents(pipeline: StableDiffusionPipeline, pixels: torch.Tensor,
                    rescale: bool = True) -> tuple[torch.Tensor, float]:
    """Latent means, scaled to unit variance; the scale is saved in the VAE's config."""
    raw = pipeline.vae.encode(pixels).latent_dist.mean
    if rescale:
        pipeline.vae.register_to_config(scaling_factor=round(1.0 / float(raw.std()), 5))
    scale = float(pipeline.vae.config.scaling_factor)
    return raw * scale, scale


@torch.no_grad()
def _encode_captions(pipeline: StableDiffusionPipeline,
                     captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    tokenizer, encoder = pipeline.tokenizer, pipeline.text_encoder
    encoder.eval()

    def encode(texts: list[str]) -> torch.Tensor:
        ids = tokenizer(texts, padding="max_length", max_length=tokenizer.model_max_length,
                        truncation=True, return_tensors="pt").input_ids.to(encoder.device)
        encoded: torch.Tensor = encoder(ids)[0]
        return encoded

    return encode(captions), encode([""])


def _fixed_evaluation(latents: torch.Tensor, conditions: torch.Tensor,
                      seed: int) -> Callable[[StableDiffusionPipeline], float]:
    """A loss function over a fixed noise draw, so before and after are comparable."""
    scheduler = training_scheduler()
    generator = torch.Generator().manual_seed(seed + 1)
    noise = torch.randn(latents.shape, generator=generator).to(latents.device, latents.dtype)
    steps = scheduler.config.num_train_timesteps
    timesteps = torch.linspace(0, steps - 1, len(latents)).round().long().to(latents.device)
    noisy = scheduler.add_noise(latents, noise, timesteps)

    @torch.no_grad()
    def evaluate(pipeline: StableDiffusionPipeline) -> float:
        pipeline.unet.eval()
        predicted = pipeline.unet(noisy, timesteps, encoder_hidden_states=conditions).sample
        return float(F.mse_loss(predicted, noise))

    return evaluate


def _train_unet(pipeline: StableDiffusionPipeline, parameters: list[torch.nn.Parameter],
                latents: torch.Tensor, conditions: torch.Tensor, unconditional: torch.Tensor,
                config: TrainingConfig, generator: torch.Generator, bar: tqdm,
                on_step: StepCallback | None = None) -> list[float]:
    unet = pipeline.unet
    unet.train()
    scheduler = training_scheduler()
    optimiser = torch.optim.AdamW(parameters, lr=config.learning_rate)
    device = latents.device
    losses = []
    for index in _batches(len(latents), config.batch_size, config.steps, generator):
        clean = latents[index.to(device)]
        noise = torch.randn(clean.shape, generator=generator).to(device, clean.dtype)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(index),),
                                  generator=generator).to(device)
        dropped = (torch.rand(len(index), generator=generator) < config.caption_dropout).to(device)
        context = torch.where(dropped[:, None, None], unconditional, conditions[index.to(device)])
        predicted = unet(scheduler.add_noise(clean, noise, timesteps), timesteps,
                         encoder_hidden_states=context).sample
        loss = F.mse_loss(predicted.float(), noise.float())
        losses.append(_step(optimiser, loss, bar, "unet"))
        if on_step is not None:
            on_step(len(losses), config.steps, losses[-1])
    unet.eval()
    return losses


def save_lora(pipeline: StableDiffusionPipeline, directory: Path) -> Path:
    """Write the UNet's LoRA adapter where ``load_lora_weights`` (and the loader) reads it."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(pipeline.unet))
    directory.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(directory, unet_lora_layers=layers,
                                              safe_serialization=True)
    return directory


def save_model(pipeline: StableDiffusionPipeline, directory: Path) -> Path:
    """Write the pipeline as a standard diffusers directory of safetensors files."""
    directory.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(directory, safe_serialization=True)
    return directory

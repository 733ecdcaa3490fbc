"""The shapes of Slate's own models, and building a pipeline from them.

The bespoke demo model is a Stable-Diffusion-shaped latent diffusion pipeline (UNet with
cross-attention, KL autoencoder, CLIP text encoder) at a tiny width, built from configs in
code: no weights are downloaded, ever. ``SLATE_STUDIO`` is the bundled model; ``MICRO`` is
the smallest that still has every part, for tests; ``GPU_512`` is a larger one for
benchmarking a real accelerator. Weights start random (seeded); training gives them
meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from .tokenizer import build_tokenizer

#: Scheduler settings shared by training and sampling: Stable Diffusion's noise schedule.
NOISE_SCHEDULE: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "set_alpha_to_one": False,
}


@dataclass(frozen=True)
class Architecture:
    """Everything needed to build one size of model from nothing."""

    name: str
    image_size: int
    default_steps: int
    unet_channels: tuple[int, ...]
    unet_layers: int
    attention_heads: int
    vae_channels: tuple[int, ...]
    vae_latent_channels: int
    text_width: int
    text_layers: int
    text_max_length: int
    words: tuple[str, ...] = field(default=())

    @property
    def vae_scale(self) -> int:
        scale: int = 2 ** (len(self.vae_channels) - 1)
        return scale

    def unet_config(self) -> dict[str, Any]:
        levels = len(self.unet_channels)
        # Cross-attention everywhere but the coarsest level, as Stable Diffusion does.
        down = ["CrossAttnDownBlock2D"] * (levels - 1) + ["DownBlock2D"]
        up = ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * (levels - 1)
        return {
            "sample_size": self.image_size // self.vae_scale,
            "in_channels": self.vae_latent_channels,
            "out_channels": self.vae_latent_channels,
            "down_block_types": down,
            "up_block_types": up,
            "block_out_channels": list(self.unet_channels),
            "layers_per_block": self.unet_layers,
            "cross_attention_dim": self.text_width,
            "attention_head_dim": self.attention_heads,
            "norm_num_groups": min(8, self.unet_channels[0]),
        }

    def vae_config(self) -> dict[str, Any]:
        levels = len(self.vae_channels)
        return {
            "in_channels": 3,
            "out_channels": 3,
            "down_block_types": ["DownEncoderBlock2D"] * levels,
            "up_block_types": ["UpDecoderBlock2D"] * levels,
            "block_out_channels": list(self.vae_channels),
            "layers_per_block": 1,
            "latent_channels": self.vae_latent_channels,
            "norm_num_groups": min(8, self.vae_channels[0]),
            "sample_size": self.image_size,
        }

    def text_config(self, vocab_size: int, bos: int, eos: int) -> CLIPTextConfig:
        return CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=self.text_width,
            intermediate_size=self.text_width * 4,
            num_hidden_layers=self.text_layers,
            num_attention_heads=max(1, self.text_width // 32),
            max_position_embeddings=self.text_max_length,
            bos_token_id=bos,
            eos_token_id=eos,
            pad_token_id=eos,
        )


#: Words the studio's captions use; each becomes one token.
STUDIO_WORDS: tuple[str, ...] = (
    "slate", "studio", "style", "frame", "on", "a", "and", "background",
    "circle", "square", "triangle", "stripes", "diamond", "ring",
    "ivory", "charcoal", "amber", "teal", "coral", "indigo", "sage", "crimson",
    "small", "large", "left", "right", "centre", "top", "bottom",
)

SLATE_STUDIO = Architecture(
    name="slate-studio", image_size=128, default_steps=25,
    unet_channels=(32, 64, 64), unet_layers=1, attention_heads=8,
    vae_channels=(16, 32, 32, 32), vae_latent_channels=4,
    text_width=64, text_layers=2, text_max_length=32, words=STUDIO_WORDS,
)

MICRO = Architecture(
    name="micro", image_size=32, default_steps=4,
    unet_channels=(8, 16), unet_layers=1, attention_heads=4,
    vae_channels=(8, 8), vae_latent_channels=4,
    text_width=16, text_layers=1, text_max_length=16, words=STUDIO_WORDS,
)

#: For benchmarking an accelerator: SD-1.x-like depth at a fraction of the width.
GPU_512 = Architecture(
    name="gpu-512", image_size=512, default_steps=25,
    unet_channels=(128, 256, 512, 512), unet_layers=2, attention_heads=8,
    vae_channels=(64, 128, 256, 256), vae_latent_channels=4,
    text_width=512, text_layers=6, text_max_length=77, words=STUDIO_WORDS,
)

ARCHITECTURES = {a.name: a for a in (SLATE_STUDIO, MICRO, GPU_512)}


def sampling_scheduler() -> DDIMScheduler:
    """The scheduler a saved model samples with by default."""
    return DDIMScheduler(**NOISE_SCHEDULE)


def training_scheduler() -> DDPMScheduler:
    """The forward (noising) process training uses."""
    config = {k: v for k, v in NOISE_SCHEDULE.items() if k != "set_alpha_to_one"}
    return DDPMScheduler(**config)


def build_pipeline(arch: Architecture, seed: int = 0) -> StableDiffusionPipeline:
    """A freshly initialised pipeline of shape ``arch``; same seed, same weights."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(arch.words, max_length=arch.text_max_length)
    text_encoder = CLIPTextModel(arch.text_config(len(tokenizer), tokenizer.bos_token_id,
                                                  tokenizer.eos_token_id))
    vae = AutoencoderKL(**arch.vae_config())
    unet = UNet2DConditionModel(**arch.unet_config())
    return StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=sampling_scheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )


def parameter_count(pipeline: StableDiffusionPipeline) -> int:
    return sum(p.numel() for m in (pipeline.unet, pipeline.vae, pipeline.text_encoder)
               for p in m.parameters())

"""A DeepFloyd-IF-like stage-1 model for the anagram sampler: pixel UNet, scheduler, T5 encoder, tokenizer.

``load_stage1`` takes a hub id (``DeepFloyd/IF-I-M-v1.0``, the default) or a local directory in the diffusers
``IFPipeline`` layout (``model_index.json``; ``unet/``, ``scheduler/``, ``text_encoder/``, ``tokenizer/``), or the
offline ``tiny`` preset. The safety checker, watermarker and feature extractor are not loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vidstyle.errors import VidstyleInputError

DEFAULT_MODEL = "DeepFloyd/IF-I-M-v1.0"
PRESETS = ("tiny",)
MAX_TOKENS = 77  # IF's text length


@dataclass
class IFStage1:
    """The parts of an IF stage-1 pipeline the sampler needs; ``random_weights`` marks the tiny preset."""

    unet: Any
    scheduler: Any
    text_encoder: Any
    tokenizer: Any
    random_weights: bool = False

    @property
    def channels(self) -> int:
        """Image channels ``C`` (3 for IF)."""
        return int(self.unet.config.in_channels)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this (the UNet's total downsampling)."""
        return 2 ** (len(self.unet.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        """``N`` prompts -> ``[N, 77, D]`` T5 embeddings in the UNet's dtype and device (IF's recipe, without
        its caption cleaning: lower-cased, stripped, padded to 77 tokens, attention-masked)."""
        tokens = self.tokenizer([p.lower().strip() for p in prompts], padding="max_length", max_length=MAX_TOKENS,
                                truncation=True, add_special_tokens=True, return_tensors="pt")
        device = self.text_encoder.device
        hidden = self.text_encoder(tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device))[0]
        return hidden.to(device=self.unet.device, dtype=self.unet.dtype)


def _looks_like_hub_id(model: str) -> bool:
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "/", "~"))


def check_model_source(model: str) -> str:
    """``model`` if it names an existing IF-layout directory or looks like a hub id; else a user error."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "model_index.json").is_file():
            raise VidstyleInputError(f"{model} is not a diffusers pipeline directory (no model_index.json)")
        return str(path.resolve())
    if not _looks_like_hub_id(model):
        raise VidstyleInputError(f"model directory not found: {model}")
    return model


def _from_pretrained(model: str, dtype: torch.dtype):
    """``IFPipeline.from_pretrained`` without its safety parts; tries the fp16 weight variant first for half
    precision (IF's hub repos ship one) and the plain weights otherwise, then the other."""
    from diffusers import IFPipeline

    half = dtype in (torch.float16, torch.bfloat16)
    errors = []
    for variant in (("fp16", None) if half else (None, "fp16")):
        try:
            return IFPipeline.from_pretrained(model, dtype=dtype, variant=variant, safety_checker=None,
                                              feature_extractor=None, watermarker=None,
                                              requires_safety_checker=False)
        except (OSError, ValueError) as err:
            errors.append(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__)
    raise VidstyleInputError(f"could not load model {model}: {errors[0]}")


def load_stage1(
    model: str | os.PathLike | None = None,
    preset: str | None = None,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> IFStage1:
    """Load a stage-1 model from ``model`` (hub id or IF-layout directory) or ``preset`` (``"tiny"``: random
    weights drawn from ``seed``); neither means :data:`DEFAULT_MODEL`. Modules are in eval mode on ``device``."""
    if model is not None and preset is not None:
        raise VidstyleInputError("give either --model or --preset, not both")
    if preset is not None:
        if preset not in PRESETS:
            raise VidstyleInputError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
        from vidstyle.data.anagrams.tiny import build_tiny_stage1

        stage1 = build_tiny_stage1(seed=seed)
        for module in (stage1.unet, stage1.text_encoder):
            module.to(device) if dtype == torch.float32 else module.to(device=device, dtype=dtype)
        return stage1
    pipe = _from_pretrained(check_model_source(str(model or DEFAULT_MODEL)), dtype)
    if pipe.text_encoder is None or pipe.tokenizer is None:
        raise VidstyleInputError(f"model {model} has no text_encoder/tokenizer (a stage-1 model needs both)")
    pipe.unet.to(device).eval()
    pipe.text_encoder.to(device).eval()
    return IFStage1(unet=pipe.unet, scheduler=pipe.scheduler, text_encoder=pipe.text_encoder,
                    tokenizer=pipe.tokenizer)

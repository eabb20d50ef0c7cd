"""Trainer configs: YAML validated by pydantic; defaults are the papers' values."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidstyle.errors import VidstyleInputError


class TrainConfig(BaseModel):
    """What every trainer shares."""

    model_config = ConfigDict(extra="forbid")

    output_dir: Path
    max_steps: int = Field(2000, ge=1, description="optimizer steps")
    learning_rate: float = Field(1e-4, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    batch_size: int = Field(1, ge=1, le=1, description="per process; variable-length videos train one at a time")
    gradient_accumulation: int = Field(2, ge=1)
    mixed_precision: Literal["no", "bf16"] = "no"
    gradient_checkpointing: bool = False
    checkpoint_every: int = Field(500, ge=1)
    seed: int = Field(0, ge=0)
    tensorboard: bool = False


class DreamStyleTrainConfig(TrainConfig):
    """DreamStyle: token-specific LoRA; CT stage then SFT started from the CT adapter (``init_adapter``)."""

    cache: Path = Field(description="a cache directory written by `vidstyle cache`")
    preset: str | None = "wan2.1-i2v-14b-480p"
    model: str | None = None
    max_steps: int = Field(6000, ge=1, description="optimizer steps (paper: CT 6,000, SFT 3,000)")
    learning_rate: float = Field(4e-5, gt=0, le=1)
    stage: Literal["ct", "sft"] = "ct"
    rank: int = Field(64, ge=1, le=1024)
    condition_ratio: dict[Literal["text", "style_image", "first_frame"], float] = Field(
        default_factory=lambda: {"text": 1.0, "style_image": 2.0, "first_frame": 1.0})
    init_adapter: Path | None = None
    flow_shift: float = Field(3.0, gt=0)

    @field_validator("condition_ratio")
    @classmethod
    def _positive_ratio(cls, ratio: dict[str, float]) -> dict[str, float]:
        if any(v < 0 for v in ratio.values()) or sum(ratio.values()) <= 0:
            raise ValueError("condition_ratio needs non-negative weights with a positive sum")
        return ratio


class MotionTrainConfig(TrainConfig):
    """StyleMaster's motion LoRA: trained at alpha = +1 on still videos, exported with ``inference_alpha``."""

    cache: Path = Field(description="a motion cache: `vidstyle cache --kind motion`")
    preset: str | None = "wan2.1-t2v-1.3b"
    model: str | None = None
    rank: int = Field(32, ge=1, le=1024)
    inference_alpha: float = -0.3
    flow_shift: float = Field(3.0, gt=0)


class ControlNetTrainConfig(TrainConfig):
    """StyleMaster's gray-tile ControlNet on a frozen Wan T2V transformer."""

    cache: Path = Field(description="a controlnet cache: `vidstyle cache --kind controlnet`")
    preset: str | None = "wan2.1-t2v-1.3b"
    model: str | None = None
    block_stride: int = Field(2, ge=1, description="copy every block_stride-th base block")
    flow_shift: float = Field(3.0, gt=0)


class StyleTrainConfig(TrainConfig):
    """StyleMaster's style module: extractor (Q-Former, local head) + style cross-attention."""

    cache: Path = Field(description="a style cache: `vidstyle cache --kind style`")
    preset: str | None = "wan2.1-t2v-1.3b"
    model: str | None = None
    stage: Literal["image", "video"] = "image"
    clip_model: str = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
    extractor_options: dict = Field(default_factory=dict, description="other StyleExtractorConfig fields")
    init_from: Path | None = Field(None, description="an earlier stage's export (the video stage starts here)")
    init_projection: Path | None = Field(None, description="a projection trainer's style_extractor export")
    train_projection: bool = False
    text_dropout: float = Field(0.1, ge=0, le=1)
    style_dropout: float = Field(0.0, ge=0, le=1, description="no-style steps train nothing here: see the trainer")
    flow_shift: float = Field(3.0, gt=0)


class ProjectionTrainConfig(TrainConfig):
    """StyleMaster's global projection: triplet loss on same-style / different-content images."""

    dataset: Path = Field(description="a dataset folder (manifest.jsonl) with at least two style ids")
    clip_model: str = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
    out_dim: int = Field(1536, ge=1, description="the DiT width the style tokens are for (1.3B: 1536, 14B: 5120)")
    num_global_tokens: int = Field(4, ge=1)
    projection_hidden: int = Field(1024, ge=1)
    triplets_per_step: int = Field(8, ge=1)
    margin: float = Field(0.2, gt=0)
    init_extractor: Path | None = None
    extractor_options: dict = Field(default_factory=dict, description="other StyleExtractorConfig fields")


def load_config(path: str | Path, cls: type[TrainConfig]) -> TrainConfig:
    """Read and validate a YAML config; every problem is one line naming the field."""
    path = Path(path)
    if not path.is_file():
        raise VidstyleInputError(f"config not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise VidstyleInputError(f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise VidstyleInputError(f"{path} must hold a mapping of settings")
    try:
        return cls(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise VidstyleInputError(f"{path}: {field}: {first['msg']}") from None

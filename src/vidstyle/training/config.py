"""Trainer configs: YAML validated by pydantic; defaults are the papers' values."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidstyle.adapters.token_adapter import DEFAULT_TARGETS, TokenLoRAConfig
from vidstyle.errors import VidstyleInputError


class TrainConfig(BaseModel):
    """What every trainer shares."""

    model_config = ConfigDict(extra="forbid")

    output_dir: Path
    max_steps: int = Field(2000, ge=1, description="optimizer steps")
    learning_rate: float = Field(1e-4, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    cooldown_steps: int = Field(0, ge=0, description="the learning rate falls linearly to 0 over the last steps")
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
    token_specific: bool = Field(True, description="false: one LoRA shared by all tokens (the paper's ablation)")
    targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS),
                               description="the wrapped linears of each block (default: the paper's self-attention "
                                           "and FFN; attn2.to_q / attn2.to_out.0 also reach the cross-attention)")

    @field_validator("targets")
    @classmethod
    def _video_sequence_targets(cls, targets: list[str]) -> list[str]:
        TokenLoRAConfig(targets=tuple(targets))  # the adapter's own check, as a config error
        return targets

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
    """StyleMaster's tile ControlNet on a frozen Wan T2V transformer."""

    cache: Path = Field(description="a controlnet cache: `vidstyle cache --kind controlnet`")
    preset: str | None = "wan2.1-t2v-1.3b"
    model: str | None = None
    block_stride: int = Field(2, ge=1, description="copy every block_stride-th base block")
    tile: Literal["gray", "rgb"] = Field("gray", description="the control video; the cache must hold the same kind")
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


class VAETrainConfig(TrainConfig):
    """The toyworld Wan VAE from scratch: L1 + MSE reconstruction and a small KL term, on raw clips and frames."""

    dataset: Path = Field(description="a dataset folder (manifest.jsonl); its raw clips are the training data")
    stylized: bool = Field(False, description="also train on the dataset's stylized clips and their frames")
    eval_dataset: Path | None = Field(None, description="reconstruction PSNR/SSIM are reported on its raw clips")
    eval_samples: int = Field(32, ge=1, description="eval clips measured")
    height: int = Field(64, ge=8, le=1024, multiple_of=8)
    width: int = Field(64, ge=8, le=1024, multiple_of=8)
    max_frames: int = Field(9, ge=1, description="frames kept per clip, then the shortest 4k+1 count of the set")
    base_dim: int = Field(16, ge=1, le=512)
    dim_mult: list[int] = Field(default_factory=lambda: [1, 2, 2, 2], min_length=4, max_length=4)
    num_res_blocks: int = Field(1, ge=1, le=4)
    is_residual: bool = Field(True, description="Wan 2.2's residual down/up blocks (parameter-free shortcuts)")
    init_vae: Path | None = Field(None, description="start from an exported VAE folder (its architecture wins)")
    max_steps: int = Field(2000, ge=1, description="optimizer steps")
    learning_rate: float = Field(1e-3, gt=0, le=1)
    warmup_steps: int = Field(50, ge=0)
    batch_size: int = Field(2, ge=1, le=256, description="clips (or batch_size x frames single frames) per micro-step")
    gradient_accumulation: int = Field(1, ge=1)
    checkpoint_every: int = Field(250, ge=1)
    image_ratio: float = Field(0.5, ge=0, le=1, description="share of micro-steps on single frames")
    crop: int | None = Field(32, ge=8, multiple_of=8, description="train on random crop x crop windows (None: whole)")
    l1_weight: float = Field(1.0, ge=0)
    mse_weight: float = Field(1.0, ge=0)
    kl_weight: float = Field(1e-4, ge=0, description="on the KL divergence averaged over latent elements")

    @field_validator("dim_mult")
    @classmethod
    def _positive_mult(cls, mult: list[int]) -> list[int]:
        if any(m < 1 for m in mult):
            raise ValueError("dim_mult needs 4 positive multipliers")
        return mult

    @field_validator("crop")
    @classmethod
    def _crop_fits(cls, crop: int | None, info) -> int | None:
        size = min(info.data.get("height", crop or 0), info.data.get("width", crop or 0))
        if crop is not None and crop > size:
            raise ValueError(f"crop {crop} is larger than the {size}-pixel frame side")
        return crop


class BaseTrainConfig(TrainConfig):
    """A toyworld Wan transformer (I2V or T2V) from scratch: flow matching on a frozen VAE's latents of raw clips."""

    dataset: Path = Field(description="a dataset folder (manifest.jsonl); raw clips and their t_ns captions")
    stylized: bool = Field(False, description="also train on the stylized clips with their t_sty captions, so the "
                                              "base has seen styled video and knows style words, as Wan has")
    vae: Path = Field(description="the frozen VAE: a `vidstyle train vae` export (OUTPUT/vae) or a pipeline folder")
    kind: Literal["i2v", "t2v"] = "i2v"
    height: int = Field(64, ge=16, le=1024, multiple_of=16)
    width: int = Field(64, ge=16, le=1024, multiple_of=16)
    max_frames: int = Field(9, ge=1, description="frames kept per clip, then the shortest 4k+1 count of the set")
    num_attention_heads: int = Field(4, ge=1, le=64)
    attention_head_dim: int = Field(32, ge=2, le=256, multiple_of=2)
    ffn_dim: int = Field(512, ge=1)
    num_layers: int = Field(4, ge=1, le=64)
    encoders_seed: int = Field(0, ge=0, description="seed of the frozen tiny text/CLIP encoders")
    init_transformer: Path | None = Field(None, description="start from an exported pipeline or transformer folder")
    max_steps: int = Field(3000, ge=1, description="optimizer steps")
    learning_rate: float = Field(3e-4, gt=0, le=1)
    warmup_steps: int = Field(100, ge=0)
    batch_size: int = Field(8, ge=1, le=1024, description="clips per micro-step")
    gradient_accumulation: int = Field(1, ge=1)
    checkpoint_every: int = Field(500, ge=1)
    text_dropout: float = Field(0.1, ge=0, le=1, description="share of clips trained on the empty prompt (CFG)")
    flow_shift: float = Field(3.0, gt=0)

"""Build a Wan-based pipeline from a preset name, a hub id or a local diffusers directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import torch
from diffusers import DiffusionPipeline

from vidstyle.backbones.presets import DEFAULT_PRESET, Preset, defaults_for, get_preset
from vidstyle.backbones.shipped import load_shipped_toyworld
from vidstyle.backbones.tiny import build_tiny_components
from vidstyle.errors import VidstyleInputError

PipelineT = TypeVar("PipelineT", bound=DiffusionPipeline)

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}
# Wan's VAE and CLIP tower are kept in float32 whatever the transformer's dtype, as in the official code.
_FP32_COMPONENTS = ("vae", "image_encoder")


def parse_dtype(name: str) -> torch.dtype:
    """``"bf16"`` / ``"bfloat16"`` ... -> torch dtype; anything else is a user error."""
    try:
        return DTYPES[name.lower()]
    except KeyError:
        raise VidstyleInputError(f"unknown dtype {name!r}; choose one of: float32, bfloat16, float16") from None


def parse_device(name: str) -> torch.device:
    """Validate a device string and that it exists on this machine."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise VidstyleInputError(f"invalid device {name!r}; use e.g. cpu, cuda, cuda:1, mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VidstyleInputError(f"device {name!r} requested but CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise VidstyleInputError(f"device {name!r} requested but MPS is not available on this machine")
    return device


def _looks_like_hub_id(model: str) -> bool:
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "/", "~"))


def load_pipeline(
    pipeline_cls: type[PipelineT],
    preset: str | None = None,
    model: str | os.PathLike | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    cpu_offload: bool = False,
    vae_tiling: bool = False,
    seed: int = 0,
) -> tuple[PipelineT, Preset]:
    """Instantiate ``pipeline_cls`` on Wan components.

    ``model`` (a hub id or a local directory in diffusers layout, e.g. one written by
    ``WanImageToVideoPipeline.save_pretrained``) takes precedence over ``preset``; with neither, the
    default preset is used. The preset of a ``model`` supplies only the defaults (resolution, segment
    length): see :func:`defaults_for`.
    ``seed`` only matters for the in-process ``tiny`` presets; the ``toyworld`` ones are built from the
    trained weights shipped in the package (``backbones/shipped.py``).
    Returns the pipeline (moved to ``device`` or CPU-offloaded) and the preset in force.
    """
    if preset is not None and model is not None:
        raise VidstyleInputError("give either a preset or a model, not both")
    device = torch.device(device)
    if model is None:
        chosen = get_preset(preset or DEFAULT_PRESET)
        if chosen.hub_id is None:
            components = (load_shipped_toyworld(chosen.kind) if chosen.shipped else
                          build_tiny_components(chosen.kind, seed=seed, flow_shift=chosen.flow_shift))
            pipe = pipeline_cls(**components)
            _cast(pipe, dtype)
        else:
            pipe = _from_pretrained(pipeline_cls, chosen.hub_id, dtype)
    else:
        pipe = _from_pretrained(pipeline_cls, model, dtype)
        chosen = defaults_for(None, str(model))
        if pipe.transformer.config.in_channels != 36 and chosen.kind == "i2v":
            chosen = get_preset("wan2.1-t2v-1.3b")
    if vae_tiling:
        pipe.vae.enable_tiling()
    if cpu_offload:
        if device.type == "cpu":
            raise VidstyleInputError("model CPU offload needs an accelerator device (e.g. --device cuda)")
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe, chosen


def _from_pretrained(pipeline_cls: type[PipelineT], model: str | os.PathLike, dtype: torch.dtype) -> PipelineT:
    path = Path(model).expanduser()
    if not path.exists() and not _looks_like_hub_id(str(model)):
        raise VidstyleInputError(f"model directory not found: {model}")
    if path.exists() and not (path / "model_index.json").is_file():
        raise VidstyleInputError(f"{model} is not a diffusers pipeline directory (no model_index.json)")
    torch_dtype = {"default": dtype, **{name: torch.float32 for name in _FP32_COMPONENTS}}
    try:
        return pipeline_cls.from_pretrained(str(path) if path.exists() else str(model), dtype=torch_dtype)
    except (OSError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise VidstyleInputError(f"could not load model {model}: {first_line}") from None


def _cast(pipe: DiffusionPipeline, dtype: torch.dtype) -> None:
    """Cast in-process components (``from_pretrained`` already applied the per-component dtypes)."""
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module) and name not in _FP32_COMPONENTS and module.dtype != dtype:
            module.to(dtype)

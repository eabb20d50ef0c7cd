"""The two methods as the command line sees them: which backbone kind, which pipeline, which weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from vidstyle.adapters.token_adapter import read_adapter_files
from vidstyle.backbones import load_pipeline
from vidstyle.backbones.presets import Preset, defaults_for
from vidstyle.backbones.shipped import shipped_adapter, shipped_stylemaster
from vidstyle.errors import VidstyleInputError
from vidstyle.pipelines.dreamstyle import DreamStylePipeline
from vidstyle.pipelines.stylemaster import StyleMasterPipeline


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # backbone kind: "i2v" or "t2v"
    default_preset: str
    pipeline: type
    guidance: float  # default classifier-free guidance
    style_guidance: float | None  # default style guidance (DreamStyle: off, the paper's two-pass sampling)


METHODS = {
    "dreamstyle": Method("dreamstyle", "i2v", "wan2.1-i2v-14b-480p", DreamStylePipeline, 5.0, None),
    "stylemaster": Method("stylemaster", "t2v", "wan2.1-t2v-1.3b", StyleMasterPipeline, 8.0, 4.0),
}
TINY_FOR_KIND = {"i2v": "tiny", "t2v": "tiny-t2v"}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise VidstyleInputError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}") from None


def method_preset(method: Method, preset: str | None, model: str | None) -> Preset:
    """The preset in force, refusing one of the wrong kind before anything loads."""
    if preset and model:
        raise VidstyleInputError("--preset and --model are mutually exclusive")
    chosen = defaults_for(preset, model, default=method.default_preset)
    if chosen.kind != method.kind:
        raise VidstyleInputError(f"{method.name} needs a {'image' if method.kind == 'i2v' else 'text'}-to-video "
                                 f"backbone; {chosen.name} is not one (try --preset {TINY_FOR_KIND[method.kind]} "
                                 f"or --preset {method.default_preset})")
    return chosen


def with_shipped_defaults(method: Method, preset: Preset, adapter: Path | None,
                          weights: Path | None) -> tuple[Path | None, Path | None]:
    """``(adapter, weights)`` in force: the given ones; on a shipped ``toyworld`` preset, the method's shipped
    trained weights when none are given (a one-line error naming the command that makes them if missing)."""
    if preset.shipped and adapter is None and weights is None:
        if method.name == "dreamstyle":
            return shipped_adapter(), None
        return None, shipped_stylemaster()
    return adapter, weights


def check_weights(method: Method, preset: Preset, adapter: Path | None, weights: Path | None) -> None:
    """Validate weight files (given or shipped) before the (slow) model load."""
    if method.name == "dreamstyle" and weights is not None:
        raise VidstyleInputError("--weights is for --method stylemaster; DreamStyle takes --adapter")
    if method.name == "stylemaster" and adapter is not None:
        raise VidstyleInputError("--adapter is a DreamStyle token LoRA; StyleMaster takes --weights")
    adapter, weights = with_shipped_defaults(method, preset, adapter, weights)
    if adapter is not None:
        read_adapter_files(adapter)
    elif weights is not None and not (Path(weights) / "style_extractor").is_dir():
        raise VidstyleInputError(f"{weights} is not a StyleMaster weights directory (no style_extractor/)")
    elif method.name == "stylemaster" and weights is None and preset.hub_id is not None:
        raise VidstyleInputError("--method stylemaster needs --weights (a directory written by save_stylemaster)")


def load_method(method: Method, preset: Preset, model: str | None, adapter: Path | None, weights: Path | None,
                dtype: torch.dtype, device: torch.device, cpu_offload: bool, vae_tiling: bool,
                console: Console):
    """The method's pipeline on the backbone, with its weights attached."""
    pipe, _ = load_pipeline(method.pipeline, preset=None if model else preset.name, model=model, dtype=dtype,
                            device=device, cpu_offload=cpu_offload, vae_tiling=vae_tiling)
    channels = pipe.transformer.config.in_channels
    if (channels == 36) != (method.kind == "i2v"):
        kind = "image-to-video (36 input channels)" if method.kind == "i2v" else "text-to-video (16 input channels)"
        raise VidstyleInputError(f"{method.name} needs a Wan {kind} model")
    pipe.set_progress_bar_config(disable=True)
    adapter, weights = with_shipped_defaults(method, preset, adapter, weights)
    if method.name == "dreamstyle":
        if adapter is not None:
            pipe.load_token_lora(adapter)
    elif weights is not None:
        pipe.load_stylemaster(weights)
    else:  # check_weights allowed this for the offline random tiny presets only
        console.print("[yellow]no --weights: StyleMaster parts are fresh and untrained (random tiny CLIP)[/]")
        pipe.init_stylemaster("tiny", qformer_heads=2, projection_hidden=32)
    return pipe

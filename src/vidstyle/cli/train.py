"""`vidstyle cache` and `vidstyle train`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vidstyle.backbones import parse_device, parse_dtype
from vidstyle.cli.methods import METHODS, method_preset
from vidstyle.errors import VidstyleInputError

TRAINERS = ("dreamstyle", "style", "motion", "controlnet", "projection", "vae", "base")
CACHE_KINDS = ("dreamstyle", "style", "motion", "controlnet")


def run_cache(dataset: Path, out: Path, preset: str | None, model: str | None, height: int, width: int,
              max_frames: int | None, on_error: str, shard: str, device: str, dtype: str, quiet: bool,
              kind: str = "dreamstyle", frames: int = 81,
              clip_model: str = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K", tile: str = "gray") -> Path:
    """Encode ``dataset`` into the cache ``out`` with the backbone's VAE and text/CLIP encoders.

    ``kind`` dreamstyle: Wan I2V backbone; style (stylized targets + a reference for ``clip_model``), motion
    (still clips of ``frames`` frames) and controlnet (videos and their ``tile`` tiles, gray or rgb): Wan T2V.
    """
    from vidstyle.backbones import load_pipeline
    from vidstyle.pipelines.segments import valid_frame_count
    from vidstyle.sizing import round_to_multiple
    from vidstyle.training.build_cache import (
        build_controlnet_cache,
        build_dreamstyle_cache,
        build_motion_cache,
        build_style_cache,
    )

    console = Console(stderr=True, quiet=quiet)
    try:
        index, count = (int(x) for x in shard.split("/"))
    except ValueError:
        raise VidstyleInputError(f"--shard must look like i/n (e.g. 0/4), got {shard!r}") from None
    if on_error not in ("skip", "stop"):
        raise VidstyleInputError(f"--on-error must be skip or stop, got {on_error!r}")
    if kind not in CACHE_KINDS:
        raise VidstyleInputError(f"unknown cache kind {kind!r}; choose one of: {', '.join(CACHE_KINDS)}")
    if tile not in ("gray", "rgb"):
        raise VidstyleInputError(f"--tile must be gray or rgb, got {tile!r}")
    if tile != "gray" and kind != "controlnet":
        raise VidstyleInputError(f"--tile applies to --kind controlnet only, not {kind}")
    if kind == "motion" and not valid_frame_count(frames):
        raise VidstyleInputError(f"--frames must be 4k+1, got {frames}")
    method = METHODS["dreamstyle" if kind == "dreamstyle" else "stylemaster"]
    chosen = method_preset(method, preset, model)
    pipe, _ = load_pipeline(method.pipeline, preset=None if model else chosen.name, model=model,
                            dtype=parse_dtype(dtype), device=parse_device(device))
    pipe.set_progress_bar_config(disable=True)
    counts: dict[str, int] = {}

    def report(sample_id: str, status: str) -> None:
        counts[status.split(":")[0]] = counts.get(status.split(":")[0], 0) + 1
        if status.startswith("rejected"):
            console.print(f"[yellow]{sample_id}: {status}[/]")

    size = round_to_multiple(height), round_to_multiple(width)
    if kind == "dreamstyle":
        cached = build_dreamstyle_cache(pipe, dataset, out, *size, max_frames, on_error, (index, count), report)
    elif kind == "style":
        cached = build_style_cache(pipe, clip_model, dataset, out, *size, max_frames, on_error, (index, count), report)
    elif kind == "motion":
        cached = build_motion_cache(pipe, dataset, out, *size, frames, on_error, (index, count), report)
    else:
        cached = build_controlnet_cache(pipe, dataset, out, *size, max_frames, on_error, (index, count), report,
                                        tile)
    console.print(f"cache {out}: {len(cached)} samples ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    return out


def run_train(what: str, config_path: Path, resume: bool) -> Path:
    """Train ``what`` from a YAML config; returns the exported weights directory."""
    if what not in TRAINERS:
        raise VidstyleInputError(f"unknown trainer {what!r}; available: {', '.join(TRAINERS)}")
    from vidstyle.training.config import (
        BaseTrainConfig,
        ControlNetTrainConfig,
        DreamStyleTrainConfig,
        MotionTrainConfig,
        ProjectionTrainConfig,
        StyleTrainConfig,
        VAETrainConfig,
        load_config,
    )

    if what == "dreamstyle":
        from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer

        return DreamStyleTrainer(load_config(config_path, DreamStyleTrainConfig)).train(resume=resume)
    if what == "style":
        from vidstyle.training.style_trainer import StyleTrainer

        return StyleTrainer(load_config(config_path, StyleTrainConfig)).train(resume=resume)
    if what == "motion":
        from vidstyle.training.motion_trainer import MotionTrainer

        return MotionTrainer(load_config(config_path, MotionTrainConfig)).train(resume=resume)
    if what == "vae":  # toy-world base models: the VAE, then the I2V / T2V transformer on it
        from vidstyle.training.vae_trainer import VAETrainer

        return VAETrainer(load_config(config_path, VAETrainConfig)).train(resume=resume)
    if what == "base":
        from vidstyle.training.base_trainer import BaseTrainer

        return BaseTrainer(load_config(config_path, BaseTrainConfig)).train(resume=resume)
    if what == "controlnet":
        from vidstyle.training.controlnet_trainer import ControlNetTrainer

        return ControlNetTrainer(load_config(config_path, ControlNetTrainConfig)).train(resume=resume)
    from vidstyle.training.projection_trainer import ProjectionTrainer

    return ProjectionTrainer(load_config(config_path, ProjectionTrainConfig)).train(resume=resume)

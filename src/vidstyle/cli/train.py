"""`vidstyle cache` and `vidstyle train`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vidstyle.backbones import parse_device, parse_dtype
from vidstyle.cli.methods import METHODS, load_method, method_preset
from vidstyle.errors import VidstyleInputError

TRAINERS = ("dreamstyle", "projection")


def run_cache(dataset: Path, out: Path, preset: str | None, model: str | None, height: int, width: int,
              max_frames: int | None, on_error: str, shard: str, device: str, dtype: str, quiet: bool) -> Path:
    """Encode ``dataset`` into the cache ``out`` with the DreamStyle backbone's VAE and encoders."""
    from vidstyle.sizing import round_to_multiple
    from vidstyle.training.build_cache import build_dreamstyle_cache

    console = Console(stderr=True, quiet=quiet)
    try:
        index, count = (int(x) for x in shard.split("/"))
    except ValueError:
        raise VidstyleInputError(f"--shard must look like i/n (e.g. 0/4), got {shard!r}") from None
    if on_error not in ("skip", "stop"):
        raise VidstyleInputError(f"--on-error must be skip or stop, got {on_error!r}")
    method = METHODS["dreamstyle"]
    chosen = method_preset(method, preset, model)
    pipe = load_method(method, chosen, model, None, None, parse_dtype(dtype), parse_device(device), False, False,
                       console)
    counts: dict[str, int] = {}

    def report(sample_id: str, status: str) -> None:
        counts[status.split(":")[0]] = counts.get(status.split(":")[0], 0) + 1
        if status.startswith("rejected"):
            console.print(f"[yellow]{sample_id}: {status}[/]")

    cached = build_dreamstyle_cache(pipe, dataset, out, round_to_multiple(height), round_to_multiple(width),
                                    max_frames, on_error, (index, count), report)
    console.print(f"cache {out}: {len(cached)} samples ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    return out


def run_train(what: str, config_path: Path, resume: bool) -> Path:
    """Train ``what`` from a YAML config; returns the exported weights directory."""
    if what not in TRAINERS:
        raise VidstyleInputError(f"unknown trainer {what!r}; available: {', '.join(TRAINERS)}")
    from vidstyle.training.config import DreamStyleTrainConfig, ProjectionTrainConfig, load_config

    if what == "dreamstyle":
        from vidstyle.training.dreamstyle_trainer import DreamStyleTrainer

        return DreamStyleTrainer(load_config(config_path, DreamStyleTrainConfig)).train(resume=resume)
    from vidstyle.training.projection_trainer import ProjectionTrainer

    return ProjectionTrainer(load_config(config_path, ProjectionTrainConfig)).train(resume=resume)

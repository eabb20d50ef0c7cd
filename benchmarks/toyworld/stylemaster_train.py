"""Training stages of the toy-world StyleMaster benchmark, each through the product path.

Every stage writes its YAML config into ``OUT`` and runs ``vidstyle cache`` / ``vidstyle train`` through
:func:`vidstyle.cli.train.run_cache` and :func:`~vidstyle.cli.train.run_train`. A stage whose export (or cache
index) is already in ``OUT``, made from the same config, is reused, so an interrupted run continues where it
stopped; :class:`StageTimes` keeps the seconds each stage took across such runs.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import yaml

from vidstyle.cli.train import run_cache, run_train
from vidstyle.pipelines.stylemaster import PARTS
from vidstyle.style.clip import TINY_CLIP

SIZE, FRAMES = 64, 9
# the extractor's global projection as trained by the projection stage and reused by the style stage
PROJECTION = {"num_global_tokens": 4, "projection_hidden": 256}


def log(message: str) -> None:
    print(f"[stylemaster] {message}", file=sys.stderr, flush=True)


class StageTimes:
    """Seconds per finished stage, kept in ``path`` (JSON) so a resumed run reports the original times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, float] = json.loads(path.read_text()) if path.is_file() else {}

    def record(self, name: str, seconds: float) -> None:
        self.values[name] = round(seconds, 1)
        self.path.write_text(json.dumps(self.values, indent=1) + "\n")


def model_dir(base: Path) -> Path:
    """The toy T2V base pipeline of a toy-world base folder."""
    return base / "t2v" / "pipeline"


def exported(path: Path, parts: tuple[str, ...] = ()) -> bool:
    """Whether the part folder ``path`` (or each of its sub-``parts``) holds its ``NAME.safetensors``."""
    folders = [path / part for part in parts] if parts else [path]
    return all((folder / f"{folder.name}.safetensors").is_file() for folder in folders)


def build_cache(base: Path, out: Path, kind: str, times: StageTimes, tile: str = "gray") -> Path:
    """``vidstyle cache --kind KIND [--tile TILE]`` of the train split into ``out``; reused when indexed."""
    if (out / "index.json").is_file():
        log(f"cache {out.name}: reused")
        return out
    log(f"cache {out.name}: encoding the train split")
    start = time.perf_counter()
    run_cache(base / "world" / "train", out, None, str(model_dir(base)), SIZE, SIZE, FRAMES, "skip", "0/1",
              "cpu", "float32", True, kind, FRAMES, TINY_CLIP, tile)
    times.record(out.name, time.perf_counter() - start)
    return out


def train(what: str, out: Path, name: str, config: dict, export: Path, times: StageTimes,
          parts: tuple[str, ...] = ()) -> Path:
    """``vidstyle train WHAT`` with ``config`` (written to ``out/NAME.yaml``, output ``out/NAME``) unless ``export``
    (a path under ``out/NAME``) is there already, made from the same config; returns ``export``."""
    path = out / f"{name}.yaml"
    full = {"output_dir": str(out / name), "gradient_accumulation": 1, "checkpoint_every": config["max_steps"],
            "warmup_steps": 0, "seed": 0, **config}
    if exported(export, parts) and path.is_file() and yaml.safe_load(path.read_text()) == full:
        log(f"train {name}: reused {export}")
        return export
    log(f"train {name}: vidstyle train {what}, {config['max_steps']} steps")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(full))
    start = time.perf_counter()
    got = run_train(what, path, resume=False)
    if Path(got) != export:
        raise RuntimeError(f"{what} exported to {got}, expected {export}")
    times.record(name, time.perf_counter() - start)
    return export


def model_width(base: Path) -> int:
    """The DiT width of the base (heads x head dim; 128 for the toy T2V): the style tokens' width."""
    config = json.loads((model_dir(base) / "transformer" / "config.json").read_text())
    return int(config["num_attention_heads"] * config["attention_head_dim"])


def train_projection(base: Path, out: Path, times: StageTimes, steps: int, learning_rate: float) -> Path:
    """The global projection (triplet loss on the train split) for the base's width; returns its
    ``style_extractor`` export."""
    config = {"dataset": str(base / "world" / "train"), "clip_model": TINY_CLIP, "out_dim": model_width(base),
              "max_steps": steps, "learning_rate": learning_rate, "triplets_per_step": 8, **PROJECTION}
    return train("projection", out, "projection", config, out / "projection" / "style_extractor", times)


def train_style(base: Path, out: Path, times: StageTimes, name: str, cache: Path, steps: int, learning_rate: float,
                projection: Path | None, local_patches: str = "least_similar") -> Path:
    """The style module (extractor Q-Former/local head + style attention), video stage; the global projection is
    ``projection``'s, frozen (or left at its seeded initialisation when None). Returns the ``stylemaster`` export."""
    config = {"cache": str(cache), "model": str(model_dir(base)), "preset": None, "stage": "video",
              "clip_model": TINY_CLIP, "max_steps": steps, "learning_rate": learning_rate, "train_projection": False,
              "extractor_options": {**PROJECTION, "local_patches": local_patches}}
    if projection is not None:
        config["init_projection"] = str(projection)
    return train("style", out, name, config, out / name / "stylemaster", times,
                 (PARTS["extractor"], PARTS["attention"]))


def train_motion(base: Path, out: Path, times: StageTimes, cache: Path, steps: int, learning_rate: float,
                 rank: int) -> Path:
    """The motion LoRA on still clips (alpha +1 in training, exported with -0.3); returns its export."""
    config = {"cache": str(cache), "model": str(model_dir(base)), "preset": None, "max_steps": steps,
              "learning_rate": learning_rate, "rank": rank}
    return train("motion", out, "motion", config, out / "motion" / PARTS["motion"], times)


def train_controlnet(base: Path, out: Path, times: StageTimes, cache: Path, tile: str, steps: int,
                     learning_rate: float) -> Path:
    """The tile ControlNet of kind ``tile`` on a cache of the same kind; returns its export."""
    name = f"controlnet_{tile}"
    config = {"cache": str(cache), "model": str(model_dir(base)), "preset": None, "max_steps": steps,
              "learning_rate": learning_rate, "tile": tile}
    return train("controlnet", out, name, config, out / name / PARTS["controlnet"], times)


def assemble(folder: Path, style: Path, motion: Path | None, controlnet: Path | None) -> Path:
    """A weights folder in :meth:`StyleMasterPipeline.load_stylemaster`'s layout, from a style export
    (``style_extractor/`` + ``style_attention/``) and optional motion / ControlNet exports (copies, so the
    folder stands alone). Built in a sibling folder, then swapped in."""
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for part in (PARTS["extractor"], PARTS["attention"]):
        shutil.copytree(style / part, staging / part)
    for source in (motion, controlnet):
        if source is not None:
            shutil.copytree(source, staging / source.name)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
